"""The messaging service's tables (servicekit adds outbox, inbox and revoked_sessions).

Read models fed by other services' events (users, public keys, friendships, blocks)
are messaging's own copies: it never asks auth or social while serving a request.
"""
from __future__ import annotations

import datetime as dt
import uuid

from servicekit.db import new_metadata
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer,
                        LargeBinary, PrimaryKeyConstraint, String, Text, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = new_metadata()


def _now():
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


GROUP_NAME_MAX_CHARS = 100
GROUP_MAX_MEMBERS = 100        # keeps every fan-out (envelope recipients, stream notices) bounded
BODY_MAX_CHARS = 10_000        # a standard message's text


# --- read models (from auth's and social's events) -----------------------------------

class User(Base):
    """A user as auth announced them."""

    __tablename__ = "users"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), nullable=False)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    banned: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))


class PublicKey(Base):
    """A public key of the registry (auth.key.registered / auth.key.revoked); old keys stay, inactive."""

    __tablename__ = "public_keys"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)      # signing | encryption
    algorithm: Mapped[str] = mapped_column(String(16), nullable=False)    # ed25519 | x25519 | rsa
    pem: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # At most one active key per user and purpose.
        Index("uq_public_keys_active", "user_id", "purpose", unique=True, postgresql_where=text("active")),
        Index("ix_public_keys_user", "user_id"),
    )


class Friendship(Base):
    """One direction of a friendship (social.friendship.*): two rows per friendship."""

    __tablename__ = "friendships"

    user_id: Mapped[uuid.UUID] = mapped_column()
    friend_id: Mapped[uuid.UUID] = mapped_column()

    __table_args__ = (PrimaryKeyConstraint("user_id", "friend_id"),)


class Block(Base):
    """`blocker_id` blocked `blocked_id` (social.block.*)."""

    __tablename__ = "blocks"

    blocker_id: Mapped[uuid.UUID] = mapped_column()
    blocked_id: Mapped[uuid.UUID] = mapped_column(index=True)

    __table_args__ = (PrimaryKeyConstraint("blocker_id", "blocked_id"),)


# --- conversations -----------------------------------------------------------------

class Conversation(Base):
    """A direct conversation (one per pair of users) or a group (a name, an owner, members from their friends)."""

    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(8), nullable=False)
    name: Mapped[str | None] = mapped_column(String(GROUP_NAME_MAX_CHARS))
    owner_id: Mapped[uuid.UUID | None] = mapped_column()
    # For a direct conversation: "<smaller user id>:<larger user id>", unique — one per pair.
    pair_key: Mapped[str | None] = mapped_column(String(73))
    created_at: Mapped[dt.datetime] = _now()
    last_message_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("type IN ('direct', 'group')", name="type"),
        CheckConstraint("(type = 'direct') = (pair_key IS NOT NULL)", name="direct_has_pair"),
        CheckConstraint("(type = 'group') = (owner_id IS NOT NULL AND name IS NOT NULL)", name="group_has_owner"),
        Index("uq_conversations_pair", "pair_key", unique=True, postgresql_where=text("pair_key IS NOT NULL")),
    )


class Participant(Base):
    """A current member of a conversation, and how far they have read."""

    __tablename__ = "participants"

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column()
    role: Mapped[str] = mapped_column(String(8), nullable=False, server_default="member")  # owner | member
    joined_at: Mapped[dt.datetime] = _now()
    last_read_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))

    __table_args__ = (
        PrimaryKeyConstraint("conversation_id", "user_id"),
        Index("ix_participants_user", "user_id", "conversation_id"),
    )


# --- messages and attachments ----------------------------------------------------------

class Message(Base):
    """A message: `standard` (the text Fernet-encrypted at rest) or `e2e` (the client's signed envelope).

    `seq` orders messages (a global sequence: newer is larger) and is what read state counts by.
    `content_sha256` is what the ledger records: for e2e the SHA-256 of the envelope's signed
    bytes; for standard the SHA-256 of `content_salt` ‖ the UTF-8 text (salted, so the public
    ledger does not let anyone confirm a guessed short text; participants get the salt).
    """

    __tablename__ = "messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)   # client-chosen for e2e (signed, so unique)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False, unique=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    # standard: Fernet token of the UTF-8 text; e2e: the envelope JSON as stored (canonical)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    sender_key: Mapped[str | None] = mapped_column(String(64))      # the signing key's fingerprint, if signed
    signature: Mapped[str | None] = mapped_column(Text)             # standard: the optional client signature
    attachment_ids: Mapped[list | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = _now()
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("kind IN ('standard', 'e2e')", name="kind"),
        Index("ix_messages_conversation_seq", "conversation_id", "seq"),
    )


class Attachment(Base):
    """A file for a conversation: an image or PDF (checked by content, Fernet-encrypted at rest), or in an
    e2e conversation opaque client ciphertext; served only to participants."""

    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"),
                                                       index=True)
    uploader_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    encrypted_by_client: Mapped[bool] = mapped_column(Boolean, nullable=False)
    content_type: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)         # of the bytes as served
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)   # of the bytes as served (pictures: the WebP)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = _now()


# --- the live stream -------------------------------------------------------------------

class StreamEvent(Base):
    """A notice for one user's live stream (ids and counts, never content), kept a while for resumption
    (`Last-Event-ID`). Each insert is NOTIFY-ed to the stream processes (migration 0003's trigger)."""

    __tablename__ = "stream_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)    # message | read | notifications | removed
    data: Mapped[dict] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (Index("ix_stream_events_user", "user_id", "id"),)
