"""Reading the log: signed checkpoints, inclusion and consistency proofs, blocks, tiles, statistics.

Everything here answers for a checkpointed tree size (a block's), so a client can always check what it is
given against a signed root. Proofs read O(log n) hashes from the tiles, in one query.
"""
from __future__ import annotations

import dataclasses
import uuid

import sqlalchemy as sa
from servicekit.errors import Invalid, NotFound
from servicekit.pagination import keyset_page
from sqlalchemy.orm import Session

from ledger import entries, tiles, tree
from ledger.models import Block, ConversationStats, Entry

MAX_HEIGHT = 2**63 - 1
NO_CHECKPOINT_YET = "the log has no checkpoint yet: nothing has been sealed into a block"


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    note: str


def latest_checkpoint(session: Session, origin: str) -> Checkpoint:
    block = session.scalar(sa.select(Block).order_by(Block.height.desc()).limit(1))
    if block is None:
        raise NotFound(NO_CHECKPOINT_YET)
    return _checkpoint_of(block, origin)


def checkpoint_at(session: Session, origin: str, tree_size: int | None, *, field: str = "tree_size") -> Checkpoint:
    """The checkpoint signed at `tree_size` (None: the latest); a size no block ended at is a 422 on `field`."""
    if tree_size is None:
        return latest_checkpoint(session, origin)
    block = session.scalar(sa.select(Block).where(Block.tree_size == tree_size))
    if block is None:
        raise Invalid(f"no checkpoint was signed at tree size {tree_size}",
                      errors={field: ["Not a checkpointed tree size: use a size from `checkpoint` or `blocks`."]})
    return _checkpoint_of(block, origin)


def _checkpoint_of(block: Block, origin: str) -> Checkpoint:
    return Checkpoint(origin, block.tree_size, block.root, block.checkpoint)


# --- proofs ------------------------------------------------------------------------------

def inclusion(session: Session, origin: str, *, leaf_index: int | None = None, message_id: uuid.UUID | None = None,
              fingerprint: str | None = None, tree_size: int | None = None,
              cache: tree.FullTileCache | None = None) -> dict:
    """The audit path of one leaf (named by index, message or key) in a checkpointed tree: the leaf and the
    checkpoint in one query, the tiles in another."""
    if message_id is not None:
        named, what = Entry.source == entries.message_source(message_id), "message"
    elif fingerprint is not None:
        named, what = Entry.source == entries.key_source(fingerprint), "key"
    else:
        named, what = Entry.leaf_index == leaf_index, f"leaf {leaf_index}"
    block = sa.select(Block.tree_size, Block.root, Block.checkpoint)
    block = (block.order_by(Block.height.desc()).limit(1) if tree_size is None
             else block.where(Block.tree_size == tree_size)).subquery()
    row = session.execute(sa.select(Entry.leaf_index, Entry.leaf_hash, block.c.tree_size, block.c.root,
                                    block.c.checkpoint).outerjoin(block, sa.true()).where(named)).first()
    if row is None:
        raise NotFound(f"no such {what} in the log (yet: entries reach it within a block interval)")
    if row.tree_size is None:
        if tree_size is None:
            raise NotFound(NO_CHECKPOINT_YET)
        checkpoint_at(session, origin, tree_size)   # the 422 naming tree_size
    if row.leaf_index >= row.tree_size:
        if tree_size is None:
            raise NotFound(f"leaf {row.leaf_index} is not in a checkpoint yet: it will be in the next block")
        raise Invalid(f"leaf {row.leaf_index} is not in the tree of size {tree_size}",
                      errors={"tree_size": [f"Must be greater than the leaf index {row.leaf_index}."]})
    return {"leaf_index": row.leaf_index, "tree_size": row.tree_size, "leaf_hash": row.leaf_hash,
            "audit_path": tree.inclusion_path(session, row.leaf_index, row.tree_size, cache),
            "checkpoint": Checkpoint(origin, row.tree_size, row.root, row.checkpoint)}


def consistency(session: Session, origin: str, first: int, second: int,
                cache: tree.FullTileCache | None = None) -> dict:
    """The consistency proof from tree size `first` to the checkpointed size `second`."""
    if first > second:
        raise Invalid("first must not exceed second", errors={"first": ["Must not exceed `second`."]})
    checkpoint_at(session, origin, second, field="second")
    proof = [] if first in (0, second) else list(tree.consistency_path(session, first, second, cache))
    return {"first": first, "second": second, "proof": proof}


# --- blocks ------------------------------------------------------------------------------

def list_blocks(session: Session, *, limit: int, cursor: list | None) -> dict:
    return keyset_page(session, sa.select(Block), keys=[Block.height], descending=True, limit=limit, cursor=cursor)


def get_block(session: Session, height: int) -> Block:
    block = session.get(Block, height) if height <= MAX_HEIGHT else None   # beyond bigint: no such block either
    if block is None:
        raise NotFound(f"no block {height}")
    return block


# --- tiles (C2SP tlog-tiles) -------------------------------------------------------------

def tile_content(session: Session, path: str, cache: tree.FullTileCache | None = None) -> bytes:
    """The bytes of a hash tile or an entry bundle, served only as far as the latest checkpoint reaches."""
    try:
        ref = tiles.parse_tile_path(path)
    except ValueError:
        raise NotFound("no such tile: not a C2SP tlog-tiles path") from None
    size = session.scalar(sa.select(sa.func.max(Block.tree_size))) or 0
    if ref.level is None:
        return _entry_bundle(session, ref.index, ref.width, size)
    if tiles.tile_width(size, ref.level, ref.index) < ref.width:
        raise NotFound("no such tile at the latest checkpoint")
    content = tree.fetch_tiles(session, [(ref.level, ref.index)], cache).get((ref.level, ref.index), b"")
    if len(content) < ref.width * 32:
        raise NotFound("no such tile")
    return content[:ref.width * 32]


def _entry_bundle(session: Session, index: int, width: int, size: int) -> bytes:
    if tiles.tile_width(size, 0, index) < width:
        raise NotFound("no such entry bundle at the latest checkpoint")
    first = index * tiles.TILE_WIDTH
    leaves = session.scalars(sa.select(Entry.leaf).where(Entry.leaf_index >= first, Entry.leaf_index < first + width)
                             .order_by(Entry.leaf_index)).all()
    return b"".join(len(leaf).to_bytes(2, "big") + leaf for leaf in leaves)


# --- statistics --------------------------------------------------------------------------

def conversation_stats(session: Session, *, limit: int, cursor: list | None) -> dict:
    """Per conversation: sealed messages, the blocks holding them, the first and last such block."""
    return keyset_page(session, sa.select(ConversationStats), keys=[ConversationStats.conversation_id],
                       descending=False, limit=limit, cursor=cursor)
