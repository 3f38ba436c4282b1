"""The Merkle tree as the ledger stores it: C2SP tiles in PostgreSQL, read in one query per proof.

Full tiles never change, so each process keeps the ones it has read (they are the bulk of every proof);
the right edge of each level (partial tiles) is always read from the database.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ledger import merkle, tiles
from ledger.models import Tile

TileKey = tuple[int, int]


class FullTileCache:
    """Full (256-hash) tiles by (level, index), least recently used dropped first; shared by a process's threads."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._tiles: OrderedDict[TileKey, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: TileKey) -> bytes | None:
        with self._lock:
            content = self._tiles.get(key)
            if content is not None:
                self._tiles.move_to_end(key)
            return content

    def put(self, key: TileKey, content: bytes) -> None:
        if len(content) != tiles.TILE_WIDTH * 32:
            return  # a partial tile grows: never cached
        with self._lock:
            self._tiles[key] = content
            self._tiles.move_to_end(key)
            while len(self._tiles) > self.capacity:
                self._tiles.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._tiles.clear()


def fetch_tiles(session: Session, keys: Iterable[TileKey], cache: FullTileCache | None = None) -> dict[TileKey, bytes]:
    """The stored content of the tiles `keys` (absent ones are missing from the answer), in one query."""
    wanted = set(keys)
    found: dict[TileKey, bytes] = {}
    if cache is not None:
        for key in list(wanted):
            content = cache.get(key)
            if content is not None:
                found[key] = content
                wanted.discard(key)
    if wanted:
        rows = session.execute(sa.select(Tile.level, Tile.idx, Tile.hashes).where(
            sa.tuple_(Tile.level, Tile.idx).in_(sorted(wanted))))
        for level, index, content in rows:
            found[(level, index)] = content
            if cache is not None:
                cache.put((level, index), content)
    return found


def reader(session: Session, cache: FullTileCache | None = None) -> tiles.TileHashReader:
    """A merkle.HashReader over the stored tiles (of this session's transaction)."""
    return tiles.TileHashReader(lambda keys: fetch_tiles(session, keys, cache))


def store_tiles(session: Session, changed: Mapping[TileKey, bytes]) -> None:
    """Write tiles that grew or appeared (one statement)."""
    if not changed:
        return
    statement = insert(Tile).values([{"level": level, "idx": index, "hashes": content}
                                     for (level, index), content in sorted(changed.items())])
    session.execute(statement.on_conflict_do_update(index_elements=[Tile.level, Tile.idx],
                                                    set_={"hashes": statement.excluded.hashes}))


def inclusion_path(session: Session, index: int, size: int, cache: FullTileCache | None = None) -> list[bytes]:
    return merkle.inclusion_proof(index, size, reader(session, cache))


def consistency_path(session: Session, first: int, second: int,
                     cache: FullTileCache | None = None) -> Sequence[bytes]:
    return merkle.consistency_proof(first, second, reader(session, cache))
