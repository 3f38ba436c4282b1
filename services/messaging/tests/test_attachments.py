"""Attachments through the API: checked by content (pictures re-encoded, PDFs kept), opaque client ciphertext,
stored encrypted, served to participants only, uploaded by verified users only."""
import io
import os
import uuid

import pytest
import sqlalchemy as sa
from PIL import Image, PngImagePlugin
from servicekit.context import context_of
from servicekit.errors import Invalid

from messaging import attachments
from messaging.models import Attachment

API = "/api/messaging"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- this module's own helpers ------------------------------------------------------------------------

@pytest.fixture
def cipher(app):
    return context_of(app).resources["cipher"]


def png(width=64, height=48, **info) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG", **info)
    return out.getvalue()


def upload(client, person, conversation_id, data: bytes, *, encrypted_by_client=False, name="file.bin"):
    return client.post(f"{API}/attachments", headers=person.headers, content_type="multipart/form-data", data={
        "conversation_id": str(conversation_id), "encrypted_by_client": "true" if encrypted_by_client else "false",
        "file": (io.BytesIO(data), name)})


def stored_bytes(session, attachment_id) -> bytes:
    session.expire_all()
    return session.scalar(sa.select(Attachment.data).where(Attachment.id == uuid.UUID(attachment_id)))


# --- tests ----------------------------------------------------------------------------------------------

def test_a_picture_is_reencoded_without_metadata_stored_encrypted_and_served_to_participants(
        client, session, cipher, alice, bob, direct):
    original = png(pnginfo=_text_chunk("GPS", "46.5197 N, 6.6323 E"))

    response = upload(client, alice, direct, original, name="holiday.png")

    assert response.status_code == 201, response.json
    attachment = response.json
    assert (attachment["content_type"], attachment["encrypted_by_client"]) == ("image/webp", False)
    at_rest = stored_bytes(session, attachment["id"])
    served = client.get(f"{API}/attachments/{attachment['id']}", headers=bob.headers)
    assert served.status_code == 200
    assert served.mimetype == "image/webp"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == "private, no-store"
    assert served.headers["Content-Disposition"].startswith("inline")
    assert Image.open(io.BytesIO(served.data)).size == (64, 48)
    assert b"GPS" not in served.data and b"46.5197" not in served.data
    assert served.data not in at_rest and original not in at_rest  # encrypted at rest
    assert cipher.decrypt(at_rest) == served.data
    assert attachment["size"] == len(served.data)


def _text_chunk(key: str, value: str) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    return info


def test_a_pdf_is_kept_as_uploaded_and_served_as_a_download(client, session, alice, bob, direct):
    attachment = upload(client, alice, direct, PDF, name="menu.pdf").json

    served = client.get(f"{API}/attachments/{attachment['id']}", headers=bob.headers)

    assert served.data == PDF and served.mimetype == "application/pdf"
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"Catalog" not in stored_bytes(session, attachment["id"])


@pytest.mark.parametrize("data", [b"<html><script>alert(1)</script></html>", b"plain text",
                                  b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"RIFF\x00\x00\x00\x00WAVEfmt "])
def test_a_file_that_is_neither_a_picture_nor_a_pdf_is_refused(client, alice, direct, data):
    response = upload(client, alice, direct, data)

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["file"]


def test_an_empty_or_too_large_file_is_refused(client, session, cipher, alice, direct):
    assert upload(client, alice, direct, b"").status_code == 422

    with pytest.raises(Invalid) as refused:
        attachments.upload_attachment(session, cipher, alice.user_id, verified=True, conversation_id=uuid.UUID(direct),
                                      upload=io.BytesIO(os.urandom(1001)), encrypted_by_client=True, max_bytes=1000)
    assert "larger than 1000 bytes" in refused.value.errors["file"][0]


def test_an_unverified_user_cannot_upload(client, bob, direct):
    response = upload(client, bob, direct, png())

    assert response.status_code == 403
    assert "verified" in response.json["detail"]


def test_a_non_participant_can_neither_upload_nor_download(client, alice, direct, new_person):
    outsider = new_person(verified=True)
    attachment_id = upload(client, alice, direct, PDF).json["id"]

    assert upload(client, outsider, direct, PDF).status_code == 404
    assert upload(client, outsider, uuid.uuid4(), PDF).status_code == 404
    assert client.get(f"{API}/attachments/{attachment_id}", headers=outsider.headers).status_code == 404
    assert client.get(f"{API}/attachments/{uuid.uuid4()}", headers=alice.headers).status_code == 404


def test_client_ciphertext_is_kept_opaque_and_served_as_a_download(client, session, alice, bob, direct):
    ciphertext = os.urandom(300)  # what a client's AES-GCM produces looks like this to the server

    attachment = upload(client, alice, direct, ciphertext, encrypted_by_client=True).json
    served = client.get(f"{API}/attachments/{attachment['id']}", headers=bob.headers)

    assert attachment["content_type"] == "application/octet-stream"
    assert served.data == ciphertext and served.mimetype == "application/octet-stream"
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert ciphertext not in stored_bytes(session, attachment["id"])


def test_a_message_names_only_its_senders_attachments_to_the_same_conversation(client, session, alice, bob, direct,
                                                                               new_person, verify):
    verify(session, bob)
    mine = upload(client, alice, direct, PDF).json["id"]
    bobs = upload(client, bob, direct, PDF).json["id"]
    elsewhere_id = client.post(f"{API}/conversations", headers=alice.headers,
                               json={"type": "direct", "user_id": str(new_person().user_id)}).json["id"]
    elsewhere = upload(client, alice, elsewhere_id, PDF).json["id"]
    url = f"{API}/conversations/{direct}/messages"

    sent = client.post(url, headers=alice.headers, json={"kind": "standard", "body": "menu", "attachment_ids": [mine]})
    refused = [client.post(url, headers=alice.headers,
                           json={"kind": "standard", "body": "x", "attachment_ids": [other]})
               for other in (bobs, elsewhere, str(uuid.uuid4()))]

    assert sent.status_code == 201 and sent.json["attachment_ids"] == [mine]
    assert [(r.status_code, list(r.json["errors"])) for r in refused] == [(422, ["attachment_ids"])] * 3


def test_removing_a_message_by_moderation_removes_its_attachments(client, session, alice, bob, direct, deliver, now):
    attachment_id = upload(client, alice, direct, PDF).json["id"]
    message = client.post(f"{API}/conversations/{direct}/messages", headers=alice.headers,
                          json={"kind": "standard", "body": "see attached", "attachment_ids": [attachment_id]}).json

    deliver(session, "social.moderation.action_taken", {
        "action": "remove_content", "target_type": "message", "target_id": message["id"], "reason": None,
        "notes": "illegal content", "actor_id": str(uuid.uuid4()), "duration": None, "report_id": None,
        "taken_at": now()})

    assert client.get(f"{API}/attachments/{attachment_id}", headers=bob.headers).status_code == 404
    assert stored_bytes(session, attachment_id) is None
