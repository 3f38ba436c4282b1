"""Identity verification: a user uploads an ID document with a reason; staff approve or reject it.

Documents are checked by content (not by name or declared type), size-limited,
and stored encrypted; only the owner and staff can see a request or its document.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any, BinaryIO

import sqlalchemy as sa
from servicekit.errors import Conflict, Invalid, NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth.documents import DocumentStore
from servicekit.encryption import DataCipher
from auth.models import User, VerificationRequest

# Magic bytes of the accepted document types, and the content type each is served with.
DOCUMENT_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"%PDF-", "application/pdf", "pdf"),
)
EXTENSIONS = {content_type: extension for _magic, content_type, extension in DOCUMENT_SIGNATURES}

SUBMISSION_ORDER = (VerificationRequest.created_at, VerificationRequest.id)  # the page keys: ties by id


def detect_document_type(data: bytes) -> str | None:
    """The content type of `data` judged by its first bytes, or None if it is not an accepted type."""
    return next((content_type for magic, content_type, _ext in DOCUMENT_SIGNATURES if data.startswith(magic)), None)


def check_document(data: bytes, *, max_bytes: int) -> str:
    """The document's content type; `Invalid` (422) if it is empty, too large or not JPEG/PNG/PDF."""
    if not data:
        raise Invalid("the document is empty", errors={"document": ["The document is empty."]})
    if len(data) > max_bytes:
        message = f"The document is larger than {max_bytes} bytes."
        raise Invalid(message, errors={"document": [message]})
    content_type = detect_document_type(data)
    if content_type is None:
        message = "The document must be a JPEG, PNG or PDF file (judged by its content)."
        raise Invalid(message, errors={"document": [message]})
    return content_type


def submit_request(session: Session, user_id: uuid.UUID, *, upload: BinaryIO, reason: str,
                   store: DocumentStore, cipher: DataCipher, max_bytes: int) -> VerificationRequest:
    """Open a verification request: one open (pending) request per user; the document is stored encrypted."""
    document = upload.read(max_bytes + 1)  # one byte more than allowed tells "too large" without reading it all
    content_type = check_document(document, max_bytes=max_bytes)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    if user.verified:
        raise Conflict("the account is already verified")
    if _open_request_of(session, user_id) is not None:
        raise Conflict("a verification request of this account is already pending")
    key = store.put(cipher.encrypt(document))
    request = VerificationRequest(
        user_id=user_id, reason=reason, status="pending", document_key=key, document_type=content_type,
        document_size=len(document), document_sha256=hashlib.sha256(document).hexdigest())
    session.add(request)
    try:
        session.commit()
    except IntegrityError:  # a concurrent submission won the one-open-request index
        session.rollback()
        store.delete(key)
        raise Conflict("a verification request of this account is already pending") from None
    except BaseException:
        store.delete(key)
        raise
    return request


def _open_request_of(session: Session, user_id: uuid.UUID) -> VerificationRequest | None:
    return session.scalars(sa.select(VerificationRequest).where(
        VerificationRequest.user_id == user_id, VerificationRequest.status == "pending")).first()


def list_own_requests(session: Session, user_id: uuid.UUID, *, limit: int, cursor: list | None) -> dict[str, Any]:
    """The user's requests, newest first, a page at a time."""
    return keyset_page(session, sa.select(VerificationRequest).where(VerificationRequest.user_id == user_id),
                       keys=SUBMISSION_ORDER, descending=True, limit=limit, cursor=cursor)


def list_requests(session: Session, *, status: str, limit: int, cursor: list | None) -> dict[str, Any]:
    """Requests with `status` for staff, oldest first (the queue order), a page at a time."""
    return keyset_page(session, sa.select(VerificationRequest).where(VerificationRequest.status == status),
                       keys=SUBMISSION_ORDER, descending=False, limit=limit, cursor=cursor)


def visible_request(session: Session, request_id: uuid.UUID, *, viewer_id: uuid.UUID,
                    viewer_is_staff: bool) -> VerificationRequest:
    """The request if the viewer owns it or is staff; `NotFound` otherwise (its existence is not revealed)."""
    request = session.get(VerificationRequest, request_id)
    if request is None or (request.user_id != viewer_id and not viewer_is_staff):
        raise NotFound("no such verification request")
    return request


def read_document(session: Session, request_id: uuid.UUID, *, viewer_id: uuid.UUID, viewer_is_staff: bool,
                  store: DocumentStore, cipher: DataCipher) -> tuple[bytes, str, str]:
    """The decrypted document of a visible request: (bytes, content type, file name)."""
    request = visible_request(session, request_id, viewer_id=viewer_id, viewer_is_staff=viewer_is_staff)
    document = cipher.decrypt(store.get(request.document_key))
    return document, request.document_type, f"verification-{request.id}.{EXTENSIONS[request.document_type]}"


def approve_request(session: Session, request_id: uuid.UUID, *, staff_id: uuid.UUID,
                    notes: str | None) -> VerificationRequest:
    """Approve a pending request: the user becomes verified; `auth.user.verified` is published."""
    request = _decide(session, request_id, staff_id=staff_id, status="approved", notes=notes)
    session.get(User, request.user_id, with_for_update=True).verified = True
    publish(session, "auth.user.verified",
            {"user_id": request.user_id, "request_id": request.id, "decided_at": request.decided_at})
    session.commit()
    return request


def reject_request(session: Session, request_id: uuid.UUID, *, staff_id: uuid.UUID,
                   notes: str | None) -> VerificationRequest:
    """Reject a pending request with notes; `auth.user.verification_rejected` is published."""
    request = _decide(session, request_id, staff_id=staff_id, status="rejected", notes=notes)
    publish(session, "auth.user.verification_rejected",
            {"user_id": request.user_id, "request_id": request.id, "decided_at": request.decided_at,
             "notes": request.notes})
    session.commit()
    return request


def _decide(session: Session, request_id: uuid.UUID, *, staff_id: uuid.UUID, status: str,
            notes: str | None) -> VerificationRequest:
    request = session.get(VerificationRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound("no such verification request")
    if request.status != "pending":
        raise Conflict(f"the request was already {request.status}")
    request.status = status
    request.decided_by = staff_id
    request.decided_at = dt.datetime.now(dt.UTC)
    request.notes = notes
    return request
