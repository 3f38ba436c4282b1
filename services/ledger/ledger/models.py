"""The ledger service's tables (servicekit adds outbox, inbox and revoked_sessions).

The log is `entries` (one row per leaf, by leaf index) and `tiles` (the tree's hashes as C2SP
tlog-tiles: per tile level and index, up to 256 hashes concatenated, grown in place while partial);
`blocks` seal ranges of leaves, each with its signed checkpoint. Events wait in `pending_entries` until
the sequencer gives them leaf indexes. The log is append-only: nothing here is ever updated in place
but the right edge of the tiles, the log's state row and the audit's own record.
"""
from __future__ import annotations

import datetime as dt
import uuid

from servicekit.db import new_metadata
from sqlalchemy import (BigInteger, CheckConstraint, DateTime, Index, Integer, LargeBinary, SmallInteger, String,
                        Text, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = new_metadata()


def _now():
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


SOURCE_MAX_CHARS = 80  # "message:<uuid>", "key:<sha-256 hex>", "key-revoked:<sha-256 hex>"


class PendingEntry(Base):
    """A leaf heard from an event, waiting for the sequencer (arrival order = leaf order)."""

    __tablename__ = "pending_entries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(SOURCE_MAX_CHARS), nullable=False, unique=True)
    kind: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    leaf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    message_id: Mapped[uuid.UUID | None] = mapped_column()
    conversation_id: Mapped[uuid.UUID | None] = mapped_column()
    user_id: Mapped[uuid.UUID | None] = mapped_column()
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = _now()


class Entry(Base):
    """A leaf of the log. `source` names what it records, once: a message, a key's registration or revocation."""

    __tablename__ = "entries"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(SOURCE_MAX_CHARS), nullable=False, unique=True)
    kind: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    leaf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    message_id: Mapped[uuid.UUID | None] = mapped_column()
    conversation_id: Mapped[uuid.UUID | None] = mapped_column()
    user_id: Mapped[uuid.UUID | None] = mapped_column()
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    logged_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        Index("ix_entries_message_id", "message_id", unique=True, postgresql_where=text("message_id IS NOT NULL")),
        Index("ix_entries_user_keys", "user_id", "leaf_index", postgresql_where=text("kind IN (2, 3)")),
        Index("ix_entries_fingerprint", "fingerprint", "kind", postgresql_where=text("fingerprint IS NOT NULL")),
    )


class Tile(Base):
    """The hashes at tree level 8·level with indexes 256·idx onward (C2SP tlog-tiles, height 8)."""

    __tablename__ = "tiles"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hashes: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class Block(Base):
    """A sealed range of leaves: the mined, signed header (docs/ledger-formats.md) and its checkpoint note."""

    __tablename__ = "blocks"

    height: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    previous_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    first_leaf_index: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    leaf_count: Mapped[int] = mapped_column(Integer, nullable=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    root: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    difficulty: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    nonce: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    signature: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    checkpoint: Mapped[str] = mapped_column(Text, nullable=False)


class LogState(Base):
    """The one row the sequencer moves: leaves in the log, and how many of them blocks have sealed."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sealed_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    height: Mapped[int] = mapped_column(BigInteger, nullable=False)   # blocks so far (the next block's height)

    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)


class RemovedMessage(Base):
    """A message moderation removed: its leaf stays (the log is append-only) and is reported removed."""

    __tablename__ = "removed_messages"

    message_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    removed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ConversationStats(Base):
    """Per conversation: its sealed messages, and the blocks that hold them."""

    __tablename__ = "conversation_stats"

    conversation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    message_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    block_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    first_block: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_block: Mapped[int] = mapped_column(BigInteger, nullable=False)


class AuditState(Base):
    """What the audit has checked so far (its own recomputed right edge of the tree), and its verdict."""

    __tablename__ = "audit_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    audited_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    audited_height: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_block_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    edge: Mapped[dict] = mapped_column(JSONB, nullable=False)   # "L/N" -> base64 of the recomputed edge tile
    status: Mapped[str] = mapped_column(String(8), nullable=False)   # ok | failed
    failure: Mapped[dict | None] = mapped_column(JSONB)
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("id = 1", name="one_row"), CheckConstraint("status IN ('ok', 'failed')",
                                                                                 name="status"))
