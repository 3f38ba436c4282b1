"""Item images: the seller uploads, removes and orders them; they are re-encoded and served to anyone."""
import io
import struct
import uuid
import zlib

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image

from marketplace.models import MAX_IMAGES_PER_ITEM, ImageRendition, ItemImage

API = "/api/marketplace"
SIZES = (256, 1024)


def encoded(image: Image.Image, format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format, **options)
    return out.getvalue()


def jpeg_with_gps(size=(1600, 900)) -> bytes:
    """A landscape photo that says where and with what it was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.ImageDescription] = "at home"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (51.0, 30.0, 12.5),
                                  ExifTags.GPS.GPSLongitudeRef: "W", ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.0)}
    data = encoded(Image.new("RGB", size, (200, 40, 40)), "JPEG", exif=exif)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload does carry GPS
    return data


def png(size=(300, 200), colour=(30, 120, 220)) -> bytes:
    return encoded(Image.new("RGB", size, colour), "PNG")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb's shape)."""
    data = bytearray(encoded(Image.new("RGB", (1, 1)), "PNG"))
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:33] = header + struct.pack(">I", zlib.crc32(header))
    return bytes(data)


def upload(client, person, item_id, data: bytes, filename="photo.jpg", field="image"):
    return client.post(f"{API}/items/{item_id}/images", headers=person.headers, content_type="multipart/form-data",
                       data={field: (io.BytesIO(data), filename)})


def images_of(client, item_id) -> list[dict]:
    return client.get(f"{API}/items/{item_id}").json["images"]


def served(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    image = Image.open(io.BytesIO(response.data))
    image.load()
    return response, image


def test_an_uploaded_photo_becomes_webp_renditions_keeping_its_shape_without_gps_or_camera(client, seller,
                                                                                           listed_item):
    item = listed_item(seller)
    response = upload(client, seller, item["id"], jpeg_with_gps())
    assert response.status_code == 201, response.json
    assert response.json["position"] == 0
    urls = response.json["urls"]
    assert set(urls) == {str(size) for size in SIZES}
    assert images_of(client, item["id"]) == [response.json]
    for size in SIZES:
        answer, image = served(client, urls[str(size)])  # no token: item images are public
        assert (image.format, image.size) == ("WEBP", (size, round(size * 900 / 1600)))
        assert not image.getexif()
        assert not {"exif", "xmp", "icc_profile"} & image.info.keys()
        assert b"SpyCam" not in answer.data and b"at home" not in answer.data
        assert image.getpixel((size // 2, 10))[0] > 150  # still the red picture


def test_a_small_image_is_never_enlarged(client, seller, listed_item):
    item = listed_item(seller)
    urls = upload(client, seller, item["id"], png((300, 200)), "small.png").json["urls"]
    assert served(client, urls["256"])[1].size == (256, 171)
    assert served(client, urls["1024"])[1].size == (300, 200)


def test_an_image_is_served_as_an_immutable_public_webp_that_nothing_sniffs_or_runs(client, seller, listed_item):
    item = listed_item(seller)
    urls = upload(client, seller, item["id"], png(), "p.png").json["urls"]
    answer = client.get(urls["256"])
    assert answer.mimetype == "image/webp"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers["Content-Disposition"] == "inline"
    assert answer.headers["Content-Security-Policy"] == "default-src 'none'"
    revalidated = client.get(urls["256"], headers={"If-None-Match": answer.headers["ETag"]})
    assert (revalidated.status_code, revalidated.data) == (304, b"")
    assert client.get(urls["1024"], headers={"If-None-Match": answer.headers["ETag"]}).status_code == 200


def test_images_come_in_upload_order_and_the_first_is_shown_in_lists(client, seller, listed_item):
    item = listed_item(seller)
    first = upload(client, seller, item["id"], png(colour=(255, 0, 0)), "1.png").json
    second = upload(client, seller, item["id"], png(colour=(0, 255, 0)), "2.png").json
    assert [i["id"] for i in images_of(client, item["id"])] == [first["id"], second["id"]]
    assert second["position"] == 1
    mine = client.get(f"{API}/items/mine", headers=seller.headers).json["items"]
    assert mine[0]["image"] == first["urls"]


def test_the_seller_reorders_the_images(client, seller, listed_item):
    item = listed_item(seller)
    ids = [upload(client, seller, item["id"], png(), f"{n}.png").json["id"] for n in range(3)]
    new_order = [ids[2], ids[0], ids[1]]
    response = client.put(f"{API}/items/{item['id']}/images/order", headers=seller.headers,
                          json={"image_ids": new_order})
    assert response.status_code == 200, response.json
    assert [(i["id"], i["position"]) for i in response.json["images"]] == list(zip(new_order, range(3)))
    assert [i["id"] for i in images_of(client, item["id"])] == new_order


@pytest.mark.parametrize("order", [
    pytest.param(lambda ids: ids[:1], id="one left out"),
    pytest.param(lambda ids: ids + [ids[0]], id="one twice"),
    pytest.param(lambda ids: ids[:1] + [str(uuid.uuid4())], id="a stranger"),
    pytest.param(lambda ids: [], id="none"),
])
def test_a_reorder_must_name_each_image_once(client, seller, listed_item, order):
    item = listed_item(seller)
    ids = [upload(client, seller, item["id"], png(), f"{n}.png").json["id"] for n in range(2)]
    response = client.put(f"{API}/items/{item['id']}/images/order", headers=seller.headers,
                          json={"image_ids": order(ids)})
    assert response.status_code == 422
    assert "image_ids" in response.json["errors"]
    assert [i["id"] for i in images_of(client, item["id"])] == ids


def test_the_seller_removes_an_image_whose_urls_stop_working_and_the_others_close_up(client, seller, listed_item,
                                                                                     session):
    item = listed_item(seller)
    images = [upload(client, seller, item["id"], png(), f"{n}.png").json for n in range(3)]
    response = client.delete(f"{API}/items/{item['id']}/images/{images[0]['id']}", headers=seller.headers)
    assert response.status_code == 204
    assert [(i["id"], i["position"]) for i in images_of(client, item["id"])] == \
        [(images[1]["id"], 0), (images[2]["id"], 1)]
    assert all(client.get(url).status_code == 404 for url in images[0]["urls"].values())
    assert session.scalar(sa.select(sa.func.count()).where(ImageRendition.image_id == uuid.UUID(images[0]["id"]))) == 0
    again = client.delete(f"{API}/items/{item['id']}/images/{images[0]['id']}", headers=seller.headers)
    assert again.status_code == 404


def test_an_item_has_at_most_ten_images(client, seller, listed_item, session):
    item = listed_item(seller)
    small = png((8, 8))
    for n in range(MAX_IMAGES_PER_ITEM):
        assert upload(client, seller, item["id"], small, f"{n}.png").status_code == 201
    response = upload(client, seller, item["id"], small, "one-more.png")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert session.scalar(sa.select(sa.func.count()).where(ItemImage.item_id == uuid.UUID(item["id"]))) == \
        MAX_IMAGES_PER_ITEM


def test_only_the_seller_changes_an_items_images(client, seller, new_user, listed_item):
    item = listed_item(seller)
    image = upload(client, seller, item["id"], png(), "p.png").json
    other = new_user(verified=True)
    assert upload(client, other, item["id"], png(), "p.png").status_code == 403
    assert client.delete(f"{API}/items/{item['id']}/images/{image['id']}", headers=other.headers).status_code == 403
    assert client.put(f"{API}/items/{item['id']}/images/order", headers=other.headers,
                      json={"image_ids": [image["id"]]}).status_code == 403
    assert client.post(f"{API}/items/{item['id']}/images", content_type="multipart/form-data",
                       data={"image": (io.BytesIO(png()), "p.png")}).status_code == 401
    assert [i["id"] for i in images_of(client, item["id"])] == [image["id"]]


def test_images_do_not_change_while_a_pending_order_holds_the_item(client, seller, listed_item, pending_order,
                                                                  close_order, new_user):
    item = listed_item(seller, quantity=3)
    image = upload(client, seller, item["id"], png(), "p.png").json
    order_id = pending_order(item, new_user().user_id)
    assert upload(client, seller, item["id"], png(), "p.png").status_code == 409
    assert client.delete(f"{API}/items/{item['id']}/images/{image['id']}", headers=seller.headers).status_code == 409
    close_order(order_id, "expired")
    assert upload(client, seller, item["id"], png(), "p.png").status_code == 201


def test_a_removed_items_or_banned_sellers_images_are_not_served(client, seller, new_user, listed_item, ban, unban):
    item = listed_item(seller)
    urls = upload(client, seller, item["id"], png(), "p.png").json["urls"]
    ban(seller)
    assert client.get(urls["256"]).status_code == 404
    unban(seller)
    assert client.get(urls["256"]).status_code == 200
    client.delete(f"{API}/items/{item['id']}", headers=seller.headers)
    assert client.get(urls["256"]).status_code == 404
    assert upload(client, seller, item["id"], png(), "p.png").status_code == 404


def test_an_unknown_image_size_or_another_items_path_is_404(client, seller, listed_item):
    item, other_item = listed_item(seller), listed_item(seller)
    image_id = upload(client, seller, item["id"], png(), "p.png").json["id"]
    for path in (f"/items/{item['id']}/images/{uuid.uuid4()}/256", f"/items/{item['id']}/images/{image_id}/512",
                 f"/items/{other_item['id']}/images/{image_id}/256", f"/items/{item['id']}/images/{image_id}/orig"):
        response = client.get(API + path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("data", [
    pytest.param(b"just some text, not a picture", id="text"),
    pytest.param(b"<html><script>alert(1)</script></html>", id="html"),
    pytest.param(encoded(Image.new("RGB", (64, 64)), "GIF"), id="gif"),
    pytest.param(encoded(Image.new("RGB", (400, 400), (1, 2, 3)), "JPEG")[:600], id="truncated jpeg"),
    pytest.param(encoded(Image.new("RGB", (400, 400), (1, 2, 3)), "PNG")[:-40], id="truncated png"),
    pytest.param(png_claiming(30_000, 30_000), id="bomb past pillow's limit"),
    pytest.param(png_claiming(7_000, 7_000), id="bomb past the service's limit"),
    pytest.param(b"", id="empty"),
])
def test_an_upload_that_is_not_a_safe_jpeg_png_or_webp_is_refused_naming_the_field(client, seller, listed_item,
                                                                                   data):
    item = listed_item(seller)
    response = upload(client, seller, item["id"], data, "photo.png")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "image" in response.json["errors"]
    assert images_of(client, item["id"]) == []


def test_an_upload_over_the_image_limit_is_refused_naming_the_field(client, seller, listed_item, settings):
    item = listed_item(seller)
    jpeg = jpeg_with_gps()
    response = upload(client, seller, item["id"], jpeg + b"\x00" * (settings.image_max_bytes + 1 - len(jpeg)))
    assert response.status_code == 422
    assert "image" in response.json["errors"]


def test_a_body_over_what_the_service_accepts_is_413(client, seller, listed_item, settings):
    item = listed_item(seller)
    response = upload(client, seller, item["id"], b"\xff\xd8\xff" + b"\x00" * settings.max_body_bytes)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_an_upload_without_the_image_field_is_refused(client, seller, listed_item):
    item = listed_item(seller)
    response = upload(client, seller, item["id"], png(), "p.png", field="picture")
    assert response.status_code == 422
    assert "image" in response.json["errors"]
