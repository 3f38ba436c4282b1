"""Messages: sending (standard or end-to-end), reading, read state, and removal by moderation.

A `standard` message arrives as plaintext (over TLS) and is stored Fernet-encrypted under
the newest DATA_KEYS key; only participants get it decrypted. Its `content_sha256`, which
the ledger records, is SHA-256(content_salt ‖ UTF-8 text) with 16 random bytes of salt per
message: the public log must not let anyone confirm a guessed short text, and participants
get the salt to check the ledger's record. It may carry the client's signature
(docs/e2e-envelope.md §11), checked against the sender's active signing key.

An `e2e` message is the client's signed envelope (docs/e2e-envelope.md): checked against
the participants as they are now (every current participant's active encryption key,
no one else's; the sender's active signing key) and stored as compact JSON; the server
never sees its plaintext. Its id is the envelope's, chosen and signed by the client,
and it is the primary key: the same envelope sent again, into this conversation or
another, is refused.

Refused: a non-participant (404: the conversation is not revealed), a banned sender (403),
a direct conversation where either blocks the other (403), a replayed id (409).
Every stored message publishes `messaging.message.created` in its transaction and tells
every participant's streams (a `message` notice). Sending reads the conversation: the
sender's read state moves to their message (a reply is never followed by "unread" news).

A message removed by moderation keeps its row (ids, hash, signature: what the ledger
records) but loses its content and attachments, and is absent from every answer.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.encryption import DataCipher
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from messaging import keys, read_models
from messaging.conversations import NO_SUCH_CONVERSATION, participant_conversation, participant_ids
from messaging.envelope import check_envelope, check_message_signature
from messaging.models import Attachment, Conversation, Message, Participant
from messaging.notices import notify_users

log = logging.getLogger(__name__)

SALT_BYTES = 16
MAX_ATTACHMENTS = 10
NO_SUCH_MESSAGE = "no such message"
ALREADY_SENT = "a message with this id exists (an envelope is accepted once)"


# --- sending -----------------------------------------------------------------------------

def send_message(session: Session, cipher: DataCipher, sender_id: uuid.UUID, conversation_id: uuid.UUID, *,
                 kind: str, envelope: dict[str, Any] | None = None, **standard: Any) -> dict[str, Any]:
    """Send a `standard` message (body, optional message_id, sender_key, signature) or an `e2e` one (envelope);
    either may name attachment_ids."""
    if kind == "e2e":
        return send_e2e(session, sender_id, conversation_id, envelope=envelope,
                        attachment_ids=standard.get("attachment_ids", ()))
    return send_standard(session, cipher, sender_id, conversation_id, **standard)


def send_standard(session: Session, cipher: DataCipher, sender_id: uuid.UUID, conversation_id: uuid.UUID, *,
                  body: str, message_id: uuid.UUID | None = None, sender_key: str | None = None,
                  signature: str | None = None, attachment_ids: list[uuid.UUID] = ()) -> dict[str, Any]:
    """Store a plaintext message encrypted at rest, optionally signed by the client; the message as sent."""
    conversation, everyone = _conversation_to_send_into(session, sender_id, conversation_id)
    message_id = message_id or uuid.uuid4()
    _refuse_replay(session, message_id)
    attachments = _own_attachments(session, sender_id, conversation_id, attachment_ids, e2e=False)
    if signature is not None:
        sender_key = _check_standard_signature(session, sender_id, conversation_id, message_id=message_id,
                                               sender_key=sender_key, signature=signature, body=body)
    text = body.encode()
    salt = os.urandom(SALT_BYTES)
    message = Message(id=message_id, conversation_id=conversation_id, sender_id=sender_id, kind="standard",
                      content=cipher.encrypt(text), content_salt=salt,
                      content_sha256=hashlib.sha256(salt + text).hexdigest(), sender_key=sender_key,
                      signature=signature, attachment_ids=attachments)
    return _store(session, conversation, everyone, message, body=body)


def send_e2e(session: Session, sender_id: uuid.UUID, conversation_id: uuid.UUID, *, envelope: dict[str, Any],
             attachment_ids: list[uuid.UUID] = ()) -> dict[str, Any]:
    """Store a signed envelope after checking it against the current participants' keys; the message as sent."""
    conversation, everyone = _conversation_to_send_into(session, sender_id, conversation_id)
    checked = check_envelope(envelope, conversation_id=conversation_id,
                             sender=keys.active_signing_key(session, sender_id),
                             participants=keys.active_encryption_keys(session, everyone))
    _refuse_replay(session, checked.message_id)
    attachments = _own_attachments(session, sender_id, conversation_id, attachment_ids, e2e=True)
    message = Message(id=checked.message_id, conversation_id=conversation_id, sender_id=sender_id, kind="e2e",
                      content=json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode(),
                      content_sha256=checked.content_sha256, sender_key=checked.sender_key,
                      attachment_ids=attachments)
    return _store(session, conversation, everyone, message, envelope=envelope)


def _conversation_to_send_into(session: Session, sender_id: uuid.UUID,
                               conversation_id: uuid.UUID) -> tuple[Conversation, list[uuid.UUID]]:
    """The conversation, locked (its membership cannot change until the message is stored), and its
    participants, if the sender may send into it."""
    conversation = participant_conversation(session, sender_id, conversation_id, lock=True)
    everyone = participant_ids(session, conversation_id)
    if sender_id not in everyone:  # removed while this request waited for the lock
        raise NotFound(NO_SUCH_CONVERSATION)
    if read_models.is_banned(session, sender_id):
        raise Forbidden("your account is banned")
    if conversation.type == "direct":
        other = next((user_id for user_id in everyone if user_id != sender_id), sender_id)
        if read_models.blocked_between(session, sender_id, other):
            raise Forbidden("no messages between users when either blocks the other")
    return conversation, everyone


def _refuse_replay(session: Session, message_id: uuid.UUID) -> None:
    if session.get(Message, message_id) is not None:
        raise Conflict(ALREADY_SENT)


def _own_attachments(session: Session, sender_id: uuid.UUID, conversation_id: uuid.UUID,
                     attachment_ids: list[uuid.UUID], *, e2e: bool) -> list[str] | None:
    """The ids as stored, if each is the sender's upload to this conversation (client ciphertext for e2e)."""
    wanted = list(dict.fromkeys(attachment_ids))
    if not wanted:
        return None
    if len(wanted) > MAX_ATTACHMENTS:
        raise Invalid("too many attachments", errors={"attachment_ids": [f"At most {MAX_ATTACHMENTS}."]})
    found = {row.id: row for row in session.execute(
        sa.select(Attachment.id, Attachment.encrypted_by_client).where(
            Attachment.id.in_(wanted), Attachment.conversation_id == conversation_id,
            Attachment.uploader_id == sender_id))}
    missing = [str(attachment_id) for attachment_id in wanted if attachment_id not in found]
    if missing:
        raise Invalid("no such attachment", errors={"attachment_ids": [
            f"Not attachments you uploaded to this conversation: {', '.join(missing)}."]})
    if e2e and not all(found[attachment_id].encrypted_by_client for attachment_id in wanted):
        raise Invalid("an end-to-end message carries only client-encrypted attachments", errors={"attachment_ids": [
            "An end-to-end message carries only attachments uploaded with encrypted_by_client."]})
    return [str(attachment_id) for attachment_id in wanted]


def _check_standard_signature(session: Session, sender_id: uuid.UUID, conversation_id: uuid.UUID, *,
                              message_id: uuid.UUID, sender_key: str | None, signature: str, body: str) -> str:
    """The fingerprint of the sender's active signing key, which must have made `signature`."""
    checked = check_message_signature(body=body, conversation_id=conversation_id, message_id=message_id,
                                      sender_key=sender_key, signature=signature,
                                      sender=keys.active_signing_key(session, sender_id))
    return checked.sender_key


def _store(session: Session, conversation: Conversation, everyone: list[uuid.UUID], message: Message, *,
           body: str | None = None, envelope: dict | None = None) -> dict[str, Any]:
    session.add(message)
    try:
        session.flush()  # seq and created_at come from the database
    except IntegrityError:
        session.rollback()  # the same id committed by a concurrent request since _refuse_replay looked
        raise Conflict(ALREADY_SENT) from None
    conversation.last_message_at = message.created_at
    session.execute(sa.update(Participant).where(
        Participant.conversation_id == conversation.id, Participant.user_id == message.sender_id,
    ).values(last_read_seq=message.seq))
    publish(session, "messaging.message.created", {
        "message_id": message.id, "conversation_id": conversation.id, "conversation_type": conversation.type,
        "sender_id": message.sender_id,
        "recipient_ids": [user_id for user_id in everyone if user_id != message.sender_id],
        "kind": message.kind, "content_sha256": message.content_sha256, "signature_fingerprint": message.sender_key,
        "created_at": message.created_at})
    notify_users(session, everyone, "message", {"conversation_id": conversation.id, "message_id": message.id,
                                                "sender_id": message.sender_id, "seq": message.seq})
    view = _view(message, body=body, envelope=envelope)
    session.commit()
    return view


# --- reading -----------------------------------------------------------------------------

def list_messages(session: Session, cipher: DataCipher, user_id: uuid.UUID, conversation_id: uuid.UUID, *,
                  limit: int, cursor: list | None) -> dict[str, Any]:
    """A conversation's messages, the newest first (removed ones left out)."""
    participant_conversation(session, user_id, conversation_id)
    page = keyset_page(session, sa.select(Message).where(Message.conversation_id == conversation_id,
                                                         Message.removed_at.is_(None)),
                       keys=(Message.seq,), descending=True, limit=limit, cursor=cursor)
    return {**page, "items": [message_view(cipher, message) for message in page["items"]]}


def get_message(session: Session, cipher: DataCipher, user_id: uuid.UUID, message_id: uuid.UUID) -> dict[str, Any]:
    """One message, to a current participant of its conversation; `NotFound` to anyone else or once removed."""
    message = session.get(Message, message_id)
    if message is None or message.removed_at is not None:
        raise NotFound(NO_SUCH_MESSAGE)
    try:
        participant_conversation(session, user_id, message.conversation_id)
    except NotFound:
        raise NotFound(NO_SUCH_MESSAGE) from None
    return message_view(cipher, message)


def message_view(cipher: DataCipher, message: Message) -> dict[str, Any]:
    """A stored message as a participant gets it: the text decrypted, or the envelope as sent."""
    if message.kind == "standard":
        return _view(message, body=cipher.decrypt(message.content).decode())
    return _view(message, envelope=json.loads(message.content))


def _view(message: Message, *, body: str | None = None, envelope: dict | None = None) -> dict[str, Any]:
    salt = message.content_salt
    return {"id": message.id, "seq": message.seq, "conversation_id": message.conversation_id,
            "sender_id": message.sender_id, "kind": message.kind, "body": body,
            "content_salt": None if salt is None else base64.b64encode(salt).decode(),
            "content_sha256": message.content_sha256, "envelope": envelope, "sender_key": message.sender_key,
            "signature": message.signature, "attachment_ids": message.attachment_ids or [],
            "created_at": message.created_at}


# --- read state ----------------------------------------------------------------------------

def mark_read(session: Session, user_id: uuid.UUID, conversation_id: uuid.UUID, seq: int) -> dict[str, Any]:
    """I read the conversation up to `seq` (never backwards, never beyond its latest message); the other
    participants and my other streams are told."""
    me = session.scalars(sa.select(Participant).join(Conversation, Conversation.id == Participant.conversation_id)
                         .where(Participant.conversation_id == conversation_id, Participant.user_id == user_id,
                                Conversation.deleted_at.is_(None))
                         .with_for_update(of=Participant)).first()
    if me is None:
        raise NotFound(NO_SUCH_CONVERSATION)
    latest = session.scalar(sa.select(sa.func.max(Message.seq)).where(Message.conversation_id == conversation_id)) or 0
    target = min(seq, latest)
    if target > me.last_read_seq:
        me.last_read_seq = target
        notify_users(session, participant_ids(session, conversation_id), "read",
                     {"conversation_id": conversation_id, "user_id": user_id, "seq": target})
    state = {"conversation_id": conversation_id, "last_read_seq": me.last_read_seq,
             "unread_count": unread_count(session, user_id, conversation_id, me.last_read_seq)}
    session.commit()
    return state


def unread_count(session: Session, user_id: uuid.UUID, conversation_id: uuid.UUID, last_read_seq: int) -> int:
    """Messages after `last_read_seq` that others sent and that are not removed."""
    return session.scalar(sa.select(sa.func.count()).select_from(Message).where(
        Message.conversation_id == conversation_id, Message.seq > last_read_seq, Message.sender_id != user_id,
        Message.removed_at.is_(None)))


# --- removal by moderation -------------------------------------------------------------------

def remove_message(session: Session, message_id: uuid.UUID) -> None:
    """Remove a message for everyone: content and attachments deleted, `messaging.message.removed` published,
    participants' streams told. Idempotent; does not commit (it runs in the consumer's transaction)."""
    message = session.get(Message, message_id, with_for_update=True)
    if message is None:
        log.warning("moderation: no such message in messaging", extra={"message_id": str(message_id)})
        return
    if message.removed_at is not None:
        return
    message.removed_at = dt.datetime.now(dt.UTC)
    message.content = None
    message.content_salt = None
    if message.attachment_ids:
        session.execute(sa.delete(Attachment).where(Attachment.id.in_(map(uuid.UUID, message.attachment_ids))))
    publish(session, "messaging.message.removed", {
        "message_id": message.id, "conversation_id": message.conversation_id, "sender_id": message.sender_id,
        "reason": "moderation", "removed_at": message.removed_at})
    notify_users(session, participant_ids(session, message.conversation_id), "removed",
                 {"conversation_id": message.conversation_id, "message_id": message.id})
