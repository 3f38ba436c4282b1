"""Attachments: files for a conversation, uploaded by verified participants, served only to participants.

Two kinds. A file the server may read (a standard conversation's picture or document)
is checked by its content: an image (JPEG, PNG or WebP, judged by decoding it) is
re-encoded as WebP without its metadata (servicekit.images: nothing the uploader
crafted survives, and no GPS position leaves with a photo); a PDF must be one (its
`%PDF-` header) and is kept as uploaded, served only as a download. A file encrypted
by the client for an end-to-end message (`encrypted_by_client`) is opaque bytes the
server cannot check: only its size is limited, and it is served as
`application/octet-stream`. Either way the stored bytes are Fernet-encrypted under
DATA_KEYS, like standard messages.

An attachment is uploaded first and then named by a message (its `attachment_ids`);
removing that message by moderation removes its attachments.
"""
from __future__ import annotations

import dataclasses
import hashlib
import uuid
from typing import BinaryIO

from servicekit.encryption import DataCipher
from servicekit.errors import Forbidden, Invalid, NotFound
from servicekit.images import reencode_image
from sqlalchemy.orm import Session

from messaging import read_models
from messaging.conversations import participant_conversation
from messaging.models import Attachment

PDF = "application/pdf"
OPAQUE = "application/octet-stream"
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")  # JPEG, PNG, WebP (RIFF....WEBP)
IMAGE_MAX_SIDE = 4096          # a picture is fitted into this box (never enlarged)
IMAGE_MAX_PIXELS = 40_000_000  # width x height; more is refused before decoding (decompression bombs)
NOT_ACCEPTED = "The file must be a JPEG, PNG or WebP image or a PDF document (judged by its content)."
NO_SUCH_ATTACHMENT = "no such attachment"


@dataclasses.dataclass(frozen=True)
class AttachmentFile:
    """An attachment's bytes as served."""

    data: bytes
    content_type: str
    filename: str


def upload_attachment(session: Session, cipher: DataCipher, uploader_id: uuid.UUID, *, verified: bool,
                      conversation_id: uuid.UUID, upload: BinaryIO, encrypted_by_client: bool,
                      max_bytes: int) -> Attachment:
    """Store a file for a conversation the uploader takes part in; verified users only (`verified` is the
    token's claim; the read model may know of a verification the token predates)."""
    participant_conversation(session, uploader_id, conversation_id)
    if not (verified or read_models.is_verified(session, uploader_id)):
        raise Forbidden("only verified users can send attachments")
    if read_models.is_banned(session, uploader_id):
        raise Forbidden("your account is banned")
    data = upload.read(max_bytes + 1)  # one byte more than allowed tells "too large" without reading it all
    if not data:
        raise _invalid("The file is empty.")
    if len(data) > max_bytes:
        raise _invalid(f"The file is larger than {max_bytes} bytes.")
    data, content_type = (data, OPAQUE) if encrypted_by_client else _checked(data, max_bytes)
    attachment = Attachment(id=uuid.uuid4(), conversation_id=conversation_id, uploader_id=uploader_id,
                            encrypted_by_client=encrypted_by_client, content_type=content_type, size=len(data),
                            sha256=hashlib.sha256(data).hexdigest(), data=cipher.encrypt(data))
    session.add(attachment)
    session.commit()
    return attachment


def _checked(data: bytes, max_bytes: int) -> tuple[bytes, str]:
    """What is kept of a readable file, and its content type; `Invalid` if it is no image or PDF."""
    if data.startswith(b"%PDF-"):
        return data, PDF
    if data.startswith(IMAGE_MAGIC):
        [rendition] = reencode_image(data, sizes=[IMAGE_MAX_SIDE], square=False, max_bytes=max_bytes,
                                     max_pixels=IMAGE_MAX_PIXELS, field="file")
        return rendition.data, rendition.content_type
    raise _invalid(NOT_ACCEPTED)


def read_attachment(session: Session, cipher: DataCipher, viewer_id: uuid.UUID,
                    attachment_id: uuid.UUID) -> AttachmentFile:
    """The attachment's bytes, to a current participant of its conversation; `NotFound` to anyone else."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(NO_SUCH_ATTACHMENT)
    try:
        participant_conversation(session, viewer_id, attachment.conversation_id)
    except NotFound:
        raise NotFound(NO_SUCH_ATTACHMENT) from None
    extension = {PDF: "pdf", OPAQUE: "bin"}.get(attachment.content_type, "webp")
    return AttachmentFile(cipher.decrypt(attachment.data), attachment.content_type,
                          f"attachment-{attachment.id}.{extension}")


def _invalid(message: str) -> Invalid:
    return Invalid(message, errors={"file": [message]})
