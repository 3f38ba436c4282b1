"""The sequencer: gives waiting entries their leaf indexes, grows the tiles, and seals blocks.

One run is one transaction, and only one runs at a time across every ledger replica: a run first takes a
PostgreSQL advisory transaction lock and does nothing if another holds it. A run
1. integrates up to `batch` pending entries in arrival order: their leaves, leaf hashes and the tiles
   they change are written together, and the pending rows deleted, in the run's transaction;
2. seals every block that is due — `block_max_leaves` unsealed leaves, or the oldest unsealed one older
   than `block_max_age` — mining its header, signing it, and signing the checkpoint at its tree size,
   which must be consistent with the previous block's (verified from the tiles before signing: the log
   never signs two inconsistent checkpoints).
A crash anywhere rolls the run back whole. Leaves integrated by one run and sealed by a later one are the
normal case (a block waits for its age), so a process that dies between the two leaves the log as a run
that is not yet due: the next run, in whichever replica, seals them. Nothing is lost or logged twice:
an entry's `source` (the message, the key) is unique in the log, and a pending entry whose source is
already logged (an event redelivered while its first delivery was being sequenced) is dropped.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import logging

import sqlalchemy as sa
from servicekit.events import publish
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ledger import blocks, merkle, notes, tiles, tree
from ledger.leaves import KIND_MESSAGE
from ledger.models import Block, ConversationStats, Entry, LogState, PendingEntry

log = logging.getLogger(__name__)

# The advisory lock every replica's sequencer takes (a fixed 64-bit key derived from a name).
SEQUENCER_LOCK = int.from_bytes(hashlib.sha256(b"beyou ledger sequencer").digest()[:8], "big", signed=True)


@dataclasses.dataclass(frozen=True)
class Sequencing:
    """How the sequencer cuts and seals blocks (from configuration) and the key it signs with."""

    signer: notes.NoteSigner
    block_max_leaves: int = 1000
    block_max_age: dt.timedelta = dt.timedelta(seconds=1)
    batch: int = 10_000
    difficulty: int = 8


@dataclasses.dataclass(frozen=True)
class Run:
    integrated: int
    sealed: list[int]   # heights of the blocks sealed


def run_sequencer(session: Session, sequencing: Sequencing, now: dt.datetime | None = None,
                  cache: tree.FullTileCache | None = None) -> Run | None:
    """One run in the caller's transaction (the caller commits); None when another sequencer holds the lock."""
    if not session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(SEQUENCER_LOCK))):
        return None
    state = session.get(LogState, 1, with_for_update=True)
    integrated = integrate(session, state, sequencing.batch, cache)
    sealed = seal_due(session, state, sequencing, now or dt.datetime.now(dt.UTC), cache)
    return Run(integrated, sealed)


def integrate(session: Session, state: LogState, batch: int, cache: tree.FullTileCache | None = None) -> int:
    """Append up to `batch` pending entries to the log, in arrival order (taking them off the queue in the same
    statement that reads them); returns how many became leaves."""
    oldest = sa.select(PendingEntry.id).order_by(PendingEntry.id).limit(batch).scalar_subquery()
    taken = session.execute(sa.delete(PendingEntry).where(PendingEntry.id.in_(oldest))
                            .returning(*PendingEntry.__table__.c)).all()
    if not taken:
        return 0
    pending = sorted(taken, key=lambda p: p.id)   # RETURNING keeps no order
    logged = set(session.scalars(sa.text("SELECT source FROM entries WHERE source = ANY(:sources)"),
                                 {"sources": [p.source for p in pending]}))
    fresh = [p for p in pending if p.source not in logged]
    if fresh:
        size = state.tree_size
        hashes = [merkle.leaf_hash(p.leaf) for p in fresh]
        edge = tree.fetch_tiles(session, tiles.edge_tiles(size), cache)
        tree.store_tiles(session, tiles.append(size, edge, hashes))
        session.connection().execute(Entry.__table__.insert().returning(Entry.__table__.c.leaf_index), [
            {"leaf_index": size + offset, "source": p.source, "kind": p.kind, "leaf": p.leaf, "leaf_hash": leaf_hash,
             "message_id": p.message_id, "conversation_id": p.conversation_id, "user_id": p.user_id,
             "fingerprint": p.fingerprint, "logged_at": p.received_at}
            for offset, (p, leaf_hash) in enumerate(zip(fresh, hashes, strict=True))])
        state.tree_size = size + len(fresh)
    if len(fresh) < len(pending):
        log.info("redelivered entries dropped", extra={"dropped": len(pending) - len(fresh)})
    return len(fresh)


def seal_due(session: Session, state: LogState, sequencing: Sequencing, now: dt.datetime,
             cache: tree.FullTileCache | None = None) -> list[int]:
    """Seal every block that is due; returns their heights."""
    sealed = []
    while (unsealed := state.tree_size - state.sealed_size) > 0:
        if unsealed < sequencing.block_max_leaves:
            oldest = session.scalar(sa.select(Entry.logged_at).where(Entry.leaf_index == state.sealed_size))
            if oldest > now - sequencing.block_max_age:
                break
        sealed.append(seal_block(session, state, min(unsealed, sequencing.block_max_leaves), sequencing, now,
                                 cache))
    return sealed


def seal_block(session: Session, state: LogState, count: int, sequencing: Sequencing, now: dt.datetime,
               cache: tree.FullTileCache | None = None) -> int:
    """Mine, sign and store the block of the next `count` unsealed leaves with its checkpoint; returns its height."""
    first, size = state.sealed_size, state.sealed_size + count
    reader = tree.reader(session, cache)
    root = merkle.root_hash(size, reader)
    previous = session.get(Block, state.height - 1) if state.height else None
    if previous is not None:  # never sign a checkpoint that does not extend the last one
        merkle.verify_consistency(previous.tree_size, size, previous.root, root,
                                  merkle.consistency_proof(previous.tree_size, size, reader))
    header = blocks.mine(blocks.BlockHeader(
        height=state.height, previous_hash=previous.hash if previous else blocks.GENESIS_PREVIOUS,
        first_leaf_index=first, leaf_count=count, tree_size=size, root=root, timestamp=now,
        difficulty=sequencing.difficulty))
    signer = sequencing.signer
    block = Block(height=header.height, previous_hash=header.previous_hash, first_leaf_index=first, leaf_count=count,
                  tree_size=size, root=root, timestamp=header.timestamp, difficulty=header.difficulty,
                  nonce=header.nonce, hash=header.hash(), signature=signer.sign_bytes(header.encode()),
                  checkpoint=signer.sign(notes.checkpoint_body(signer.name, size, root)))
    session.add(block)
    _count_conversations(session, block)
    publish(session, "ledger.block.mined", {
        "height": block.height, "hash": _b64(block.hash), "tree_size": size, "root_hash": _b64(root),
        "first_leaf_index": first, "leaf_count": count, "mined_at": now})
    state.sealed_size, state.height = size, state.height + 1
    session.flush()
    log.info("block sealed", extra={"height": block.height, "tree_size": size, "leaves": count,
                                    "nonce": header.nonce})
    return block.height


def _count_conversations(session: Session, block: Block) -> None:
    """Per conversation with messages in the block: one more block, and its messages."""
    per_conversation = (
        sa.select(Entry.conversation_id, sa.func.count().label("message_count"), sa.literal(1).label("block_count"),
                  sa.literal(block.height).label("first_block"), sa.literal(block.height).label("last_block"))
        .where(Entry.leaf_index >= block.first_leaf_index, Entry.leaf_index < block.tree_size,
               Entry.kind == KIND_MESSAGE)
        .group_by(Entry.conversation_id))
    statement = insert(ConversationStats).from_select(
        ["conversation_id", "message_count", "block_count", "first_block", "last_block"], per_conversation)
    session.execute(statement.on_conflict_do_update(index_elements=[ConversationStats.conversation_id], set_={
        "message_count": ConversationStats.message_count + statement.excluded.message_count,
        "block_count": ConversationStats.block_count + 1,
        "last_block": statement.excluded.last_block}))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
