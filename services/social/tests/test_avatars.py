import io
import struct
import uuid
import zlib

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image

from social.models import AvatarImage
from social.read_models import set_banned

SIZES = (64, 256, 512)


def encoded(image: Image.Image, format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format, **options)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A landscape photo that says where and with what it was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.ImageDescription] = "at home"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (51.0, 30.0, 12.5),
                                  ExifTags.GPS.GPSLongitudeRef: "W", ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.0)}
    data = encoded(Image.new("RGB", (900, 600), (200, 40, 40)), "JPEG", exif=exif)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload does carry GPS
    return data


def png_with_alpha() -> bytes:
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    image.paste((30, 120, 220, 255), (75, 75, 225, 225))  # an opaque square on a transparent ground
    return encoded(image, "PNG")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb's shape)."""
    data = bytearray(encoded(Image.new("RGB", (1, 1)), "PNG"))
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:33] = header + struct.pack(">I", zlib.crc32(header))
    return bytes(data)


def upload(client, user, data: bytes, filename="me.jpg"):
    return client.put("/api/social/profiles/me/avatar", headers=user.headers, content_type="multipart/form-data",
                      data={"avatar": (io.BytesIO(data), filename)})


def my_profile(client, user):
    return client.get("/api/social/profiles/me", headers=user.headers).json


def test_an_uploaded_jpeg_becomes_square_webp_renditions_without_its_gps_or_camera(client, new_member):
    me = new_member()
    response = upload(client, me, jpeg_with_gps())
    assert response.status_code == 200, response.json
    urls = response.json["avatar"]
    assert set(urls) == {str(size) for size in SIZES}
    assert my_profile(client, me)["avatar"] == urls
    for size in SIZES:
        served = client.get(urls[str(size)])  # no token: avatars are public
        assert served.status_code == 200
        image = Image.open(io.BytesIO(served.data))
        image.load()
        assert (image.format, image.size) == ("WEBP", (size, size))
        assert not image.getexif()
        assert not {"exif", "xmp", "icc_profile"} & image.info.keys()
        assert b"SpyCam" not in served.data and b"at home" not in served.data
        assert image.getpixel((size // 2, size // 2))[0] > 150  # still the red picture


def test_a_png_keeps_its_transparency(client, new_member):
    urls = upload(client, new_member(), png_with_alpha(), "me.png").json["avatar"]
    image = Image.open(io.BytesIO(client.get(urls["256"]).data))
    assert image.mode == "RGBA"
    assert image.getpixel((2, 2))[3] == 0
    assert image.getpixel((128, 128))[3] == 255


def test_an_avatar_is_served_as_an_immutable_public_webp_that_nothing_sniffs_or_runs(client, new_member):
    urls = upload(client, new_member(), jpeg_with_gps()).json["avatar"]
    served = client.get(urls["64"])
    assert served.mimetype == "image/webp"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["Content-Disposition"] == "inline"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'"
    assert served.headers["ETag"]
    revalidated = client.get(urls["64"], headers={"If-None-Match": served.headers["ETag"]})
    assert revalidated.status_code == 304
    assert revalidated.data == b""
    assert client.get(urls["256"], headers={"If-None-Match": served.headers["ETag"]}).status_code == 200


def test_a_new_upload_replaces_the_previous_avatar_whose_urls_stop_working(client, new_member, session):
    me = new_member()
    first = upload(client, me, jpeg_with_gps()).json["avatar"]
    second = upload(client, me, png_with_alpha(), "me.png").json["avatar"]
    assert first != second
    for size in SIZES:
        gone = client.get(first[str(size)])
        assert gone.status_code == 404
        assert gone.mimetype == "application/problem+json"
        assert client.get(second[str(size)]).status_code == 200
    stored = session.scalars(sa.select(AvatarImage.avatar_id).where(AvatarImage.user_id == me.user_id)).all()
    assert len(stored) == len(SIZES) and {str(avatar_id) for avatar_id in stored} == {second["64"].split("/")[-2]}


def test_i_remove_my_avatar(client, new_member):
    me = new_member()
    urls = upload(client, me, jpeg_with_gps()).json["avatar"]
    assert client.delete("/api/social/profiles/me/avatar", headers=me.headers).status_code == 204
    assert my_profile(client, me)["avatar"] is None
    assert all(client.get(url).status_code == 404 for url in urls.values())
    assert client.delete("/api/social/profiles/me/avatar", headers=me.headers).status_code == 204


@pytest.mark.parametrize("data", [
    pytest.param(b"just some text, not a picture", id="text"),
    pytest.param(encoded(Image.new("RGB", (64, 64)), "GIF"), id="gif"),
    pytest.param(encoded(Image.new("RGB", (400, 400), (1, 2, 3)), "JPEG")[:600], id="truncated jpeg"),
    pytest.param(encoded(Image.new("RGB", (400, 400), (1, 2, 3)), "PNG")[:-40], id="truncated png"),
    pytest.param(png_claiming(30_000, 30_000), id="bomb past pillow's limit"),
    pytest.param(png_claiming(7_000, 7_000), id="bomb past the service's limit"),
    pytest.param(b"", id="empty"),
])
def test_an_upload_that_is_not_a_safe_jpeg_png_or_webp_is_refused_naming_the_field(client, new_member, data):
    me = new_member()
    response = upload(client, me, data, "me.png")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "avatar" in response.json["errors"]
    assert my_profile(client, me)["avatar"] is None


def test_an_upload_over_the_avatar_limit_is_refused_naming_the_field(client, new_member, settings):
    me = new_member()
    jpeg = jpeg_with_gps()
    response = upload(client, me, jpeg + b"\x00" * (settings.avatar_max_bytes + 1 - len(jpeg)))
    assert response.status_code == 422
    assert "avatar" in response.json["errors"]


def test_a_body_over_what_the_service_accepts_is_413(client, new_member, settings):
    response = upload(client, new_member(), b"\xff\xd8\xff" + b"\x00" * settings.max_body_bytes)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_an_upload_without_the_avatar_field_is_refused(client, new_member):
    me = new_member()
    response = client.put("/api/social/profiles/me/avatar", headers=me.headers, content_type="multipart/form-data",
                          data={"picture": (io.BytesIO(png_with_alpha()), "me.png")})
    assert response.status_code == 422
    assert "avatar" in response.json["errors"]


def test_uploading_or_removing_needs_a_signed_in_user_with_a_profile(client, new_member):
    assert client.put("/api/social/profiles/me/avatar", content_type="multipart/form-data",
                      data={"avatar": (io.BytesIO(png_with_alpha()), "me.png")}).status_code == 401
    assert client.delete("/api/social/profiles/me/avatar").status_code == 401
    newcomer = new_member(profile=False)
    assert upload(client, newcomer, png_with_alpha(), "me.png").status_code == 404
    assert client.delete("/api/social/profiles/me/avatar", headers=newcomer.headers).status_code == 404


def test_an_unknown_avatar_or_size_is_404(client, new_member):
    urls = upload(client, new_member(), png_with_alpha(), "me.png").json["avatar"]
    avatar_id = urls["64"].split("/")[-2]
    for path in (f"/api/social/avatars/{uuid.uuid4()}/64", f"/api/social/avatars/{avatar_id}/128",
                 f"/api/social/avatars/{avatar_id}/original", "/api/social/avatars/not-an-id/64"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


def test_a_banned_users_avatar_is_no_longer_served(client, new_member, database):
    me = new_member()
    urls = upload(client, me, png_with_alpha(), "me.png").json["avatar"]
    with database.transaction() as session:
        set_banned(session, me.user_id, banned=True)
    assert client.get(urls["64"]).status_code == 404
    with database.transaction() as session:
        set_banned(session, me.user_id, banned=False)
    assert client.get(urls["64"]).status_code == 200
