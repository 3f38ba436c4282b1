import io
import os
import stat
import uuid
from pathlib import Path

import jwt
import pytest

from servicekit.context import context_of

from auth.documents import FileDocumentStore
from auth.models import VerificationRequest

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"my passport, png" * 8
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"my passport, jpeg" * 8
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"my passport, pdf" * 8


def submit(client, user, document=PNG, filename="passport.png", reason="I sell things"):
    return client.post("/api/auth/verification", headers=user.headers, content_type="multipart/form-data",
                       data={"reason": reason, "document": (io.BytesIO(document), filename)})


def stored_request(app, request_id) -> VerificationRequest:
    with context_of(app).db.session() as session:
        return session.get(VerificationRequest, uuid.UUID(request_id))


@pytest.mark.parametrize("document, content_type", [(PNG, "image/png"), (JPEG, "image/jpeg"),
                                                     (PDF, "application/pdf")])
def test_a_png_jpeg_or_pdf_document_opens_a_pending_request(client, new_user, document, content_type):
    user = new_user()
    response = submit(client, user, document, filename="scan.bin")
    assert response.status_code == 201, response.json
    assert response.json["status"] == "pending"
    assert response.json["document_type"] == content_type
    assert response.json["document_size"] == len(document)
    assert response.json["user_id"] == user.id


def test_a_text_file_named_jpg_is_refused(client, new_user):
    response = submit(client, new_user(), b"just some text, not a picture", filename="passport.jpg")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "document" in response.json["errors"]


def test_a_document_over_the_size_limit_is_refused_and_one_at_the_limit_accepted(client, new_user, app):
    user = new_user()
    limit = context_of(app).settings.document_max_bytes
    too_large = submit(client, user, PNG + b"\x00" * (limit + 1 - len(PNG)))
    assert too_large.status_code == 422
    assert "document" in too_large.json["errors"]
    assert submit(client, user, PNG + b"\x00" * (limit - len(PNG))).status_code == 201


def test_a_request_needs_a_document_and_a_reason(client, new_user):
    user = new_user()
    no_file = client.post("/api/auth/verification", headers=user.headers, content_type="multipart/form-data",
                          data={"reason": "please"})
    assert no_file.status_code == 422
    assert "document" in no_file.json["errors"]
    assert submit(client, user, reason="").status_code == 422


def test_a_user_has_one_open_request_at_a_time(client, new_user):
    user = new_user()
    assert submit(client, user).status_code == 201
    second = submit(client, user, PDF)
    assert second.status_code == 409
    assert second.mimetype == "application/problem+json"


def test_the_document_is_stored_encrypted(client, new_user, app):
    response = submit(client, new_user(), PDF)
    row = stored_request(app, response.json["id"])
    path = Path(context_of(app).settings.documents_dir) / row.document_key[:2] / row.document_key
    raw = path.read_bytes()
    assert b"my passport" not in raw and not raw.startswith(b"%PDF")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert row.document_sha256 == response.json["document_sha256"]


def test_the_owner_sees_the_request_and_downloads_the_document(client, new_user):
    user = new_user()
    request_id = submit(client, user, JPEG).json["id"]
    assert client.get(f"/api/auth/verification/{request_id}", headers=user.headers).json["id"] == request_id
    download = client.get(f"/api/auth/verification/{request_id}/document", headers=user.headers)
    assert download.status_code == 200
    assert download.data == JPEG
    assert download.mimetype == "image/jpeg"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_the_owner_lists_own_requests_newest_first(client, new_user, new_staff):
    user, staff = new_user(), new_staff()
    first = submit(client, user).json["id"]
    client.post(f"/api/auth/admin/verifications/{first}/reject", headers=staff.headers, json={"notes": "blurry"})
    second = submit(client, user, PDF).json["id"]
    page = client.get("/api/auth/verification?limit=1", headers=user.headers).json
    assert [item["id"] for item in page["items"]] == [second]
    rest = client.get(f"/api/auth/verification?limit=1&cursor={page['next_cursor']}", headers=user.headers).json
    assert [item["id"] for item in rest["items"]] == [first]
    assert rest["items"][0]["notes"] == "blurry"
    assert rest["next_cursor"] is None
    assert client.get("/api/auth/verification?cursor=not-a-cursor", headers=user.headers).status_code == 422


def test_another_user_gets_404_for_the_request_and_its_document(client, new_user):
    owner, stranger = new_user(), new_user()
    request_id = submit(client, owner).json["id"]
    for path in (f"/api/auth/verification/{request_id}", f"/api/auth/verification/{request_id}/document",
                 f"/api/auth/verification/{uuid.uuid4()}"):
        response = client.get(path, headers=stranger.headers)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


def test_staff_see_the_request_and_download_the_document(client, new_user, new_staff):
    user, staff = new_user(), new_staff()
    request_id = submit(client, user, PDF).json["id"]
    for path in (f"/api/auth/verification/{request_id}", f"/api/auth/admin/verifications/{request_id}"):
        assert client.get(path, headers=staff.headers).json["user_id"] == user.id
    for path in (f"/api/auth/verification/{request_id}/document",
                 f"/api/auth/admin/verifications/{request_id}/document"):
        download = client.get(path, headers=staff.headers)
        assert download.status_code == 200
        assert (download.data, download.mimetype) == (PDF, "application/pdf")


def test_staff_list_pending_requests_oldest_first(client, new_user, new_staff):
    first_user, second_user, staff = new_user(), new_user(), new_staff()
    first = submit(client, first_user).json["id"]
    second = submit(client, second_user).json["id"]
    queue = "/api/auth/admin/verifications?status=pending&limit=2"
    seen, url = [], queue
    while url:
        page = client.get(url, headers=staff.headers).json
        seen += [item["id"] for item in page["items"]]
        url = page["next_cursor"] and f"{queue}&cursor={page['next_cursor']}"
    assert seen.index(first) < seen.index(second)
    assert all(stored_status == "pending" for stored_status in
               (item["status"] for item in client.get("/api/auth/admin/verifications",
                                                      headers=staff.headers).json["items"]))


def test_staff_approve_a_request_and_the_user_becomes_verified(client, new_user, new_staff, app, handlers,
                                                                 running_worker, event_probe):
    running_worker(app, handlers)
    user, staff = new_user(), new_staff()
    request_id = submit(client, user).json["id"]
    response = client.post(f"/api/auth/admin/verifications/{request_id}/approve", headers=staff.headers,
                           json={"notes": "matches the selfie"})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "approved"
    assert response.json["decided_by"] == staff.id
    assert response.json["decided_at"]
    event = event_probe.wait_for("auth.user.verified", where=lambda e: e.payload["request_id"] == request_id)
    assert event.payload["user_id"] == user.id
    assert event.payload["decided_at"]
    assert len(event_probe.received("auth.user.verified", where=lambda e: e.payload["user_id"] == user.id)) == 1
    login = client.post("/api/auth/login", json={"username": user.username, "password": user.password})
    assert jwt.decode(login.json["access_token"], options={"verify_signature": False})["verified"] is True


def test_staff_reject_a_request_with_notes(client, new_user, new_staff, app, handlers, running_worker,
                                           event_probe):
    running_worker(app, handlers)
    user, staff = new_user(), new_staff()
    request_id = submit(client, user).json["id"]
    response = client.post(f"/api/auth/admin/verifications/{request_id}/reject", headers=staff.headers,
                           json={"notes": "the document is expired"})
    assert response.status_code == 200
    assert (response.json["status"], response.json["notes"]) == ("rejected", "the document is expired")
    assert response.json["decided_by"] == staff.id
    event = event_probe.wait_for("auth.user.verification_rejected",
                                 where=lambda e: e.payload["request_id"] == request_id)
    assert (event.payload["user_id"], event.payload["notes"]) == (user.id, "the document is expired")
    assert client.get(f"/api/auth/verification/{request_id}", headers=user.headers).json["status"] == "rejected"
    assert submit(client, user, PDF).status_code == 201  # a rejected request is closed: a new one may open


def test_a_rejection_needs_notes(client, new_user, new_staff):
    user, staff = new_user(), new_staff()
    request_id = submit(client, user).json["id"]
    response = client.post(f"/api/auth/admin/verifications/{request_id}/reject", headers=staff.headers, json={})
    assert response.status_code == 422
    assert "notes" in response.json["errors"]


def test_a_decided_request_cannot_be_decided_again(client, new_user, new_staff):
    user, staff = new_user(), new_staff()
    request_id = submit(client, user).json["id"]
    assert client.post(f"/api/auth/admin/verifications/{request_id}/approve", headers=staff.headers,
                       json={}).status_code == 200
    for decision, body in (("approve", {}), ("reject", {"notes": "changed my mind"})):
        response = client.post(f"/api/auth/admin/verifications/{request_id}/{decision}", headers=staff.headers,
                               json=body)
        assert response.status_code == 409
        assert response.mimetype == "application/problem+json"


def test_a_verified_user_cannot_open_another_request(client, new_user, new_staff):
    user, staff = new_user(), new_staff()
    request_id = submit(client, user).json["id"]
    client.post(f"/api/auth/admin/verifications/{request_id}/approve", headers=staff.headers, json={})
    assert submit(client, user).status_code == 409


ADMIN_ENDPOINTS = [
    ("get", "/api/auth/admin/verifications"),
    ("get", "/api/auth/admin/verifications/{id}"),
    ("get", "/api/auth/admin/verifications/{id}/document"),
    ("post", "/api/auth/admin/verifications/{id}/approve"),
    ("post", "/api/auth/admin/verifications/{id}/reject"),
]


def test_non_staff_get_403_on_every_admin_verification_endpoint(client, new_user):
    user = new_user()
    request_id = submit(client, user).json["id"]
    for method, path in ADMIN_ENDPOINTS:
        response = getattr(client, method)(path.format(id=request_id), headers=user.headers, json={"notes": "x"})
        assert response.status_code == 403, path
        assert response.mimetype == "application/problem+json"


def test_verification_needs_a_signed_in_user(client):
    assert client.get("/api/auth/verification").status_code == 401
    assert client.post("/api/auth/verification", data={"reason": "x"}).status_code == 401


def test_the_file_store_keeps_bytes_under_random_keys_and_forgets_them(tmp_path):
    store = FileDocumentStore(tmp_path / "documents")
    first, second = store.put(b"one"), store.put(b"two")
    assert first != second
    assert (store.get(first), store.get(second)) == (b"one", b"two")
    store.delete(first)
    with pytest.raises(KeyError):
        store.get(first)
    store.delete(first)  # forgetting twice is fine


def test_the_file_store_never_builds_a_path_from_a_key_it_did_not_make(tmp_path):
    (tmp_path / "secret").write_bytes(b"outside the store")
    store = FileDocumentStore(tmp_path / "documents")
    for key in ("../secret", "/etc/passwd", "ab/../../secret", ""):
        with pytest.raises(KeyError):
            store.get(key)
