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
import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from servicekit.encryption import DataCipher
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from messaging.conversations import NO_SUCH_CONVERSATION, participant_conversation, participant_ids
from messaging.envelope import KeyRecord, check_envelope, check_message_signature
from messaging.models import Attachment, Block, Conversation, Message, Participant, PublicKey, User
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
    target = _conversation_to_send_into(session, sender_id, conversation_id, signing_key=signature is not None)
    message_id = message_id or uuid.uuid4()
    with _replay_refused_first(session, message_id):
        attachments = _own_attachments(session, sender_id, conversation_id, attachment_ids, e2e=False)
        if signature is not None:
            sender_key = check_message_signature(body=body, conversation_id=conversation_id, message_id=message_id,
                                                 sender_key=sender_key, signature=signature,
                                                 sender=target.signing_key).sender_key
    text = body.encode()
    salt = os.urandom(SALT_BYTES)
    message = Message(id=message_id, conversation_id=conversation_id, sender_id=sender_id, kind="standard",
                      content=cipher.encrypt(text), content_salt=salt,
                      content_sha256=hashlib.sha256(salt + text).hexdigest(), sender_key=sender_key,
                      signature=signature, attachment_ids=attachments)
    return _store(session, target, message, body=body)


def send_e2e(session: Session, sender_id: uuid.UUID, conversation_id: uuid.UUID, *, envelope: dict[str, Any],
             attachment_ids: list[uuid.UUID] = ()) -> dict[str, Any]:
    """Store a signed envelope after checking it against the current participants' keys; the message as sent."""
    target = _conversation_to_send_into(session, sender_id, conversation_id, signing_key=True, encryption_keys=True)
    checked = check_envelope(envelope, conversation_id=conversation_id, sender=target.signing_key,
                             participants=target.encryption_keys)
    with _replay_refused_first(session, checked.message_id):
        attachments = _own_attachments(session, sender_id, conversation_id, attachment_ids, e2e=True)
    message = Message(id=checked.message_id, conversation_id=conversation_id, sender_id=sender_id, kind="e2e",
                      content=json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode(),
                      content_sha256=checked.content_sha256, sender_key=checked.sender_key,
                      attachment_ids=attachments)
    return _store(session, target, message, envelope=envelope)


@dataclasses.dataclass(frozen=True)
class _Target:
    """A conversation the sender may send into, read under its lock."""

    id: uuid.UUID
    type: str
    everyone: list[uuid.UUID]                             # every participant, in id order
    signing_key: KeyRecord | None                         # the sender's active one, if asked for
    encryption_keys: dict[uuid.UUID, KeyRecord | None]    # every participant's active one, if asked for


def _conversation_to_send_into(session: Session, sender_id: uuid.UUID, conversation_id: uuid.UUID, *,
                               signing_key: bool = False, encryption_keys: bool = False) -> _Target:
    """The conversation, locked (its membership cannot change until the message is stored), with its participants
    and the keys asked for, if the sender may send into it: one statement (two for a group)."""
    query = _locked_participants(signing_key=signing_key, encryption_keys=encryption_keys)
    arguments = {"conversation_id": conversation_id, "sender_id": sender_id}
    rows = session.execute(query, arguments).all()
    if rows and rows[0].type == "group":
        # The statement read the participants as they were when it began, which is before it waited for the lock if
        # it had to; a group's membership changes under that lock, so read them again now that it is held. (A
        # direct conversation's two participants never change.)
        rows = session.execute(query, arguments).all()
    me = next((row for row in rows if row.user_id == sender_id), None)
    if me is None:
        raise NotFound(NO_SUCH_CONVERSATION)
    if me.banned:
        raise Forbidden("your account is banned")
    if any(row.blocked for row in rows):
        raise Forbidden("no messages between users when either blocks the other")
    return _Target(id=conversation_id, type=me.type, everyone=[row.user_id for row in rows],
                   signing_key=_key(me, "signing") if signing_key else None,
                   encryption_keys={row.user_id: _key(row, "encryption") for row in rows} if encryption_keys else {})


# The send path's statements are built once (building one costs more CPU than PostgreSQL spends running it) and run
# with their parameters.

@functools.cache
def _locked_participants(*, signing_key: bool, encryption_keys: bool) -> sa.Select:
    """One row per participant of `:conversation_id`, locking it, if `:sender_id` takes part in it: the
    conversation's type, the participant's id, whether they are banned, whether a block stands between them and
    the sender (in a direct conversation), and if asked for the sender's active signing key and every
    participant's active encryption key."""
    sender_id = sa.bindparam("sender_id", type_=sa.Uuid)
    member, me = aliased(Participant), aliased(Participant)
    blocked = sa.exists().where(sa.or_(  # read_models.blocked_between, as a column
        sa.and_(Block.blocker_id == sender_id, Block.blocked_id == member.user_id),
        sa.and_(Block.blocker_id == member.user_id, Block.blocked_id == sender_id)))
    query = (sa.select(Conversation.type, member.user_id, sa.func.coalesce(User.banned, False).label("banned"),
                       sa.case((Conversation.type == "direct", blocked), else_=False).label("blocked"))
             .join(member, member.conversation_id == Conversation.id)
             .outerjoin(User, User.user_id == member.user_id))
    if signing_key:
        query = _with_active_key(query, member, "signing", member.user_id == sender_id)  # the sender's
    if encryption_keys:
        query = _with_active_key(query, member, "encryption")  # everyone's
    return (query.where(Conversation.id == sa.bindparam("conversation_id"), Conversation.deleted_at.is_(None),
                        sa.exists().where(me.conversation_id == Conversation.id, me.user_id == sender_id))
            .order_by(member.user_id).with_for_update(of=Conversation, key_share=True))


def _with_active_key(query: sa.Select, member: type[Participant], purpose: str, *only: sa.ColumnElement[bool]
                     ) -> sa.Select:
    """`query` with the member's active key of `purpose` (`<purpose>_fingerprint`, `_algorithm`, `_pem`; null if
    none), for the members `only` names."""
    key = aliased(PublicKey)
    return (query.add_columns(key.fingerprint.label(f"{purpose}_fingerprint"),
                              key.algorithm.label(f"{purpose}_algorithm"), key.pem.label(f"{purpose}_pem"))
            .outerjoin(key, sa.and_(key.user_id == member.user_id, key.purpose == purpose, key.active, *only)))


def _key(row: sa.Row, purpose: str) -> KeyRecord | None:
    fingerprint = getattr(row, f"{purpose}_fingerprint")
    if fingerprint is None:
        return None
    return KeyRecord(fingerprint=fingerprint, algorithm=getattr(row, f"{purpose}_algorithm"),
                     pem=getattr(row, f"{purpose}_pem"))


@contextlib.contextmanager
def _replay_refused_first(session: Session, message_id: uuid.UUID) -> Iterator[None]:
    """Checks that come after the replay check: a replayed id they refuse is still answered 409. The insert itself
    refuses a replay; only a refusal here has to ask."""
    try:
        yield
    except Invalid:
        if session.scalar(sa.select(sa.exists().where(Message.id == message_id))):
            raise Conflict(ALREADY_SENT) from None
        raise


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


_STORED_COLUMNS = ("id", "conversation_id", "sender_id", "kind", "content", "content_salt", "content_sha256",
                   "sender_key", "signature", "attachment_ids")


def _store(session: Session, target: _Target, message: Message, *, body: str | None = None,
           envelope: dict | None = None) -> dict[str, Any]:
    """Insert the message (`message` is never added to the session) and move the conversation's last activity
    and the sender's read state to it (one statement), announce it and tell every participant's streams; commit."""
    stored = session.execute(_insert_message(), {f"new_{column}": getattr(message, column)
                                                 for column in _STORED_COLUMNS}).first()
    if stored is None:  # the id is taken: a replay (a concurrent one waited for the first to commit or roll back)
        session.rollback()
        raise Conflict(ALREADY_SENT)
    message.seq, message.created_at = stored.seq, stored.created_at
    publish(session, "messaging.message.created", {
        "message_id": message.id, "conversation_id": target.id, "conversation_type": target.type,
        "sender_id": message.sender_id,
        "recipient_ids": [user_id for user_id in target.everyone if user_id != message.sender_id],
        "kind": message.kind, "content_sha256": message.content_sha256, "signature_fingerprint": message.sender_key,
        "created_at": message.created_at})
    notify_users(session, target.everyone, "message", {"conversation_id": target.id, "message_id": message.id,
                                                       "sender_id": message.sender_id, "seq": message.seq})
    view = _view(message, body=body, envelope=envelope)
    session.commit()
    return view


@functools.cache
def _insert_message() -> sa.Select:
    """Insert a message (`:new_<column>`) unless its id is taken, and with it set the conversation's last activity
    and the sender's read state; its seq and created_at, or no row."""
    stored = (insert(Message).values({column: sa.bindparam(f"new_{column}") for column in _STORED_COLUMNS})
              .on_conflict_do_nothing(index_elements=[Message.id])
              .returning(Message.seq, Message.created_at, Message.conversation_id, Message.sender_id).cte("stored"))
    last_activity = (sa.update(Conversation).where(Conversation.id == stored.c.conversation_id)
                     .values(last_message_at=stored.c.created_at).cte("last_activity"))
    read_own = (sa.update(Participant).where(Participant.conversation_id == stored.c.conversation_id,
                                             Participant.user_id == stored.c.sender_id)
                .values(last_read_seq=stored.c.seq).cte("read_own"))
    return sa.select(stored.c.seq, stored.c.created_at).add_cte(last_activity, read_own)


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
