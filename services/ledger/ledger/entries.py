"""What the log records (from events) and what it answers about an entry.

Recording only queues: an event's leaf waits in `pending_entries` until the sequencer gives it a leaf
index. Every record is idempotent by what it records (a message id, a key's fingerprint): a redelivered
event, or the same fact announced twice, adds nothing.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import sqlalchemy as sa
from servicekit.errors import NotFound
from servicekit.pagination import keyset_page
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ledger import leaves
from ledger.models import Block, Entry, PendingEntry, RemovedMessage


def message_source(message_id: uuid.UUID) -> str:
    return f"message:{message_id}"


def key_source(fingerprint: str) -> str:
    return f"key:{fingerprint}"


def key_revoked_source(fingerprint: str) -> str:
    return f"key-revoked:{fingerprint}"


# --- recording ---------------------------------------------------------------------------

def record_message(session: Session, leaf: leaves.MessageLeaf) -> None:
    _queue(session, message_source(leaf.message_id), leaf, message_id=leaf.message_id,
           conversation_id=leaf.conversation_id, user_id=leaf.sender_id)


def record_key(session: Session, leaf: leaves.KeyRegisteredLeaf) -> None:
    _queue(session, key_source(leaf.fingerprint), leaf, user_id=leaf.user_id, fingerprint=leaf.fingerprint)


def record_key_revoked(session: Session, leaf: leaves.KeyRevokedLeaf) -> None:
    _queue(session, key_revoked_source(leaf.fingerprint), leaf, user_id=leaf.user_id, fingerprint=leaf.fingerprint)


def record_removal(session: Session, message_id: uuid.UUID, removed_at: dt.datetime) -> None:
    """Moderation removed the message: its leaf stays and is reported removed (also if it is not logged yet)."""
    session.execute(insert(RemovedMessage).values(message_id=message_id, removed_at=removed_at)
                    .on_conflict_do_nothing())


def _queue(session: Session, source: str, leaf, **columns) -> None:
    """Queue the leaf for the sequencer, written with the other leaves of the transaction in one statement just
    before it commits (a consumer's batch of events is one transaction: one INSERT, not one per event).

    Its `source` is unique among pending entries, and the sequencer drops a pending entry whose source is
    already logged: so one fact is one leaf, however often it is announced.
    """
    data = leaves.encode_leaf(leaf)
    queued = session.info.setdefault(_QUEUED, {})
    if not queued:
        sa.event.listen(session, "before_commit", _write_queued, once=True)
        sa.event.listen(session, "after_rollback", _forget_queued, once=True)
    queued.setdefault(source, {"source": source, "kind": data[0], "leaf": data, "message_id": None,
                               "conversation_id": None, "user_id": None, "fingerprint": None, **columns})


_QUEUED = "ledger.queued_entries"


def _forget_queued(session: Session) -> None:
    session.info.pop(_QUEUED, None)


def _write_queued(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued:
        # RETURNING makes SQLAlchemy send the rows as multi-row INSERTs ("insertmanyvalues", the statement compiled
        # once); without it psycopg2's executemany sends one INSERT per row.
        session.connection().execute(insert(PendingEntry.__table__).on_conflict_do_nothing(index_elements=["source"])
                                     .returning(PendingEntry.__table__.c.id), list(queued.values()))


# --- reading -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LoggedEntry:
    leaf_index: int
    leaf: bytes
    leaf_hash: bytes
    block_height: int | None   # None until a block seals it
    removed: bool = False


def message_entry(session: Session, message_id: uuid.UUID) -> LoggedEntry:
    entry = _logged(session, message_source(message_id), "message")
    removed = session.get(RemovedMessage, message_id) is not None
    return dataclasses.replace(entry, removed=removed)


def key_entry(session: Session, fingerprint: str) -> tuple[LoggedEntry, LoggedEntry | None]:
    """A key's registration leaf, and its revocation leaf if it was revoked."""
    registration = _logged(session, key_source(fingerprint), "key")
    try:
        revocation = _logged(session, key_revoked_source(fingerprint), "key revocation")
    except NotFound:
        revocation = None
    return registration, revocation


def _logged(session: Session, source: str, what: str) -> LoggedEntry:
    row = session.execute(sa.select(Entry.leaf_index, Entry.leaf, Entry.leaf_hash).where(Entry.source == source)
                          ).first()
    if row is None:
        raise NotFound(f"no such {what} in the log (yet: entries reach it within a block interval)")
    return LoggedEntry(row.leaf_index, row.leaf, row.leaf_hash, block_of(session, row.leaf_index))


def block_of(session: Session, leaf_index: int) -> int | None:
    """The height of the block that sealed `leaf_index`, or None while no block has."""
    return session.scalar(sa.select(Block.height).where(Block.first_leaf_index <= leaf_index,
                                                        Block.tree_size > leaf_index)
                          .order_by(Block.first_leaf_index.desc()).limit(1))


def keys_of_user(session: Session, user_id: uuid.UUID, *, limit: int, cursor: list | None) -> dict:
    """A page of every key ever logged for `user_id`, oldest first, each with its revocation if logged."""
    registrations = (sa.select(Entry.leaf_index, Entry.leaf, Entry.fingerprint)
                     .where(Entry.user_id == user_id, Entry.kind == leaves.KIND_KEY_REGISTERED))
    page = keyset_page(session, registrations, keys=[Entry.leaf_index], descending=False, limit=limit, cursor=cursor)
    fingerprints = [row.fingerprint for row in page["items"]]
    revoked = dict(session.execute(sa.select(Entry.fingerprint, Entry.leaf).where(
        Entry.kind == leaves.KIND_KEY_REVOKED, Entry.fingerprint.in_(fingerprints))).all())
    keys = []
    for row in page["items"]:
        leaf = leaves.decode_leaf(row.leaf)
        revocation = leaves.decode_leaf(revoked[row.fingerprint]) if row.fingerprint in revoked else None
        keys.append({"fingerprint": leaf.fingerprint, "purpose": leaf.purpose, "algorithm": leaf.algorithm,
                     "created_at": leaf.created_at, "revoked_at": revocation.deactivated_at if revocation else None,
                     "leaf_index": row.leaf_index, "block_height": block_of(session, row.leaf_index)})
    return {"items": keys, "next_cursor": page["next_cursor"]}
