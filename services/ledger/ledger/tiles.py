"""The tree stored as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): paths, growth, and proofs from tiles.

A tile (L, N) holds the hashes at tree level 8·L with indexes 256·N … 256·N+W−1, concatenated
(32·W bytes); a level-L tile's hash is the root of a full level-(L−1) tile. Tiles only ever grow at
their end, so the partial tile of width W served for a checkpoint is a prefix of the stored tile.
Pure functions: the caller stores and fetches the bytes.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ledger.merkle import HASH_SIZE, Coordinate, HashReader, full_subtree_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
TILE_BYTES = TILE_WIDTH * HASH_SIZE
MAX_LEVEL = 63
# Tree sizes are uint64 (block headers), so no tile starts at or beyond leaf 2**64.
MAX_LEAVES = 1 << 64

TileKey = tuple[int, int]  # (tile level L, tile index N)

_LEVEL = r"(?:0|[1-9][0-9]?)"
_INDEX = r"(?:x[0-9]{3}/)*[0-9]{3}"
_WIDTH = r"[1-9][0-9]{0,2}"
_TILE_PATH = re.compile(rf"tile/(?P<level>{_LEVEL}|entries)/(?P<index>{_INDEX})(?:\.p/(?P<width>{_WIDTH}))?")


@dataclass(frozen=True)
class TileRef:
    """A tile (level L) or entry bundle (level None) of a given width (256 = full)."""
    level: int | None
    index: int
    width: int

    @property
    def path(self) -> str:
        if self.level is None:
            return entries_path(self.index, self.width)
        return tile_path(self.level, self.index, self.width)


def tile_path(level: int, index: int, width: int) -> str:
    """`tile/<L>/<N>[.p/<W>]`, e.g. tile_path(0, 1234067, 5) == "tile/0/x001/x234/067.p/5"."""
    if not 0 <= level <= MAX_LEVEL:
        raise ValueError(f"a tile level is 0 to {MAX_LEVEL}")
    return f"tile/{level}/{_encode(level, index, width)}"


def entries_path(index: int, width: int) -> str:
    """`tile/entries/<N>[.p/<W>]`: the bundle of the leaves hashed into level-0 tile N."""
    return f"tile/entries/{_encode(0, index, width)}"


def parse_tile_path(path: str) -> TileRef:
    """The tile a canonical path names; ValueError for anything else (the server answers 404)."""
    match = _TILE_PATH.fullmatch(path)
    if match is None:
        raise ValueError(f"not a canonical tile path: {path!r}")
    groups = match["index"].replace("x", "").split("/")
    if len(groups) > 1 and groups[0] == "000":
        raise ValueError(f"the tile index has leading zeros: {path!r}")
    level = None if match["level"] == "entries" else int(match["level"])
    index = int("".join(groups))
    width = TILE_WIDTH if match["width"] is None else int(match["width"])
    if level is not None and level > MAX_LEVEL:
        raise ValueError(f"a tile level is 0 to {MAX_LEVEL}: {path!r}")
    if match["width"] is not None and width >= TILE_WIDTH:
        raise ValueError(f"a partial tile is 1 to {TILE_WIDTH - 1} wide: {path!r}")
    if index * TILE_WIDTH ** ((level or 0) + 1) >= MAX_LEAVES:
        raise ValueError(f"no tree of at most 2**64 - 1 leaves has this tile: {path!r}")
    return TileRef(level, index, width)


def stored_count(size: int, level: int) -> int:
    """How many hashes tree level 8·level has in a tree of `size` leaves (the tiles at that level hold them)."""
    if size < 0 or level < 0:
        raise ValueError("tree sizes and tile levels are not negative")
    return size >> (TILE_HEIGHT * level)


def tile_width(size: int, level: int, index: int) -> int:
    """The width of tile (level, index) in a tree of `size` leaves: 0 if it does not exist yet, 256 if full."""
    return max(0, min(TILE_WIDTH, stored_count(size, level) - index * TILE_WIDTH))


def tiles_for_size(size: int) -> list[TileRef]:
    """The partial tiles of a tree of `size` leaves, lowest level first: those a checkpoint of that size
    needs served besides full tiles (one per level whose hash count is not a multiple of 256)."""
    tiles = []
    level = 0
    while count := stored_count(size, level):
        index, width = divmod(count, TILE_WIDTH)
        if width:
            tiles.append(TileRef(level, index, width))
        level += 1
    return tiles


def edge_tiles(size: int) -> list[TileKey]:
    """The tiles `append` needs to grow a tree of `size` leaves: the partial last tile of every level."""
    return [(tile.level, tile.index) for tile in tiles_for_size(size)]


def append(size: int, edge: Mapping[TileKey, bytes], leaf_hashes: Sequence[bytes]) -> dict[TileKey, bytes]:
    """The new content of every tile that changes when `leaf_hashes` are appended to a tree of `size` leaves.

    `edge` holds the current content of `edge_tiles(size)` (ValueError if one is missing or not as wide as
    that size makes it). Each tile that fills is folded into one hash appended at the level above.
    """
    if size < 0:
        raise ValueError("a tree size is not negative")
    if any(len(h) != HASH_SIZE for h in leaf_hashes):
        raise ValueError(f"leaf hashes are {HASH_SIZE} bytes")
    edge_content = _checked_edge(size, edge)
    changed: dict[TileKey, bytes] = {}
    incoming = b"".join(leaf_hashes)
    level = 0
    while incoming:
        first_index = stored_count(size, level) // TILE_WIDTH
        hashes = edge_content.get((level, first_index), b"") + incoming
        folded = []
        for offset in range(0, len(hashes), TILE_BYTES):
            content = hashes[offset:offset + TILE_BYTES]
            changed[(level, first_index + offset // TILE_BYTES)] = content
            if len(content) == TILE_BYTES:
                folded.append(full_subtree_hash(content))
        incoming = b"".join(folded)
        level += 1
    return changed


class TileHashReader(HashReader):
    """A merkle.HashReader over stored tiles; `fetch` returns the tiles' contents by (L, N), in one call.

    A subtree of 2**h leaves with h = 8·L + r is the fold of 2**r consecutive hashes of one level-L tile.
    """

    def __init__(self, fetch: Callable[[Sequence[TileKey]], Mapping[TileKey, bytes]]) -> None:
        self._fetch = fetch

    def read_hashes(self, coordinates: Sequence[Coordinate]) -> list[bytes]:
        slices = []
        for height, index in coordinates:
            if height < 0 or index < 0:
                raise LookupError(f"no subtree at level {height}, index {index}")
            level, rest = divmod(height, TILE_HEIGHT)
            tile_index, offset = divmod(index << rest, TILE_WIDTH)
            slices.append(((level, tile_index), offset * HASH_SIZE, (offset + (1 << rest)) * HASH_SIZE))
        tiles = self._fetch(sorted({key for key, _start, _end in slices})) if slices else {}
        hashes = []
        for key, start, end in slices:
            content = tiles.get(key, b"")
            if len(content) < end:
                raise LookupError(f"tile {key} holds {len(content) // HASH_SIZE} hashes, "
                                  f"{end // HASH_SIZE} are needed")
            hashes.append(full_subtree_hash(content[start:end]))
        return hashes


def _encode(level: int, index: int, width: int) -> str:
    """<N>[.p/<W>]: N in 3-digit groups, all but the last prefixed with x."""
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"a tile is 1 to {TILE_WIDTH} wide")
    if not 0 <= index * TILE_WIDTH ** (level + 1) < MAX_LEAVES:
        raise ValueError("no tree of at most 2**64 - 1 leaves has this tile")
    digits = f"{index:03d}"
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    path = "/".join([f"x{group}" for group in groups[:-1]] + groups[-1:])
    return path if width == TILE_WIDTH else f"{path}.p/{width}"


def _checked_edge(size: int, edge: Mapping[TileKey, bytes]) -> dict[TileKey, bytes]:
    content = {}
    for tile in tiles_for_size(size):
        key = (tile.level, tile.index)
        if key not in edge:
            raise ValueError(f"the edge tile {key} of a tree of size {size} is missing")
        if len(edge[key]) != tile.width * HASH_SIZE:
            raise ValueError(f"the edge tile {key} holds {len(edge[key])} bytes, "
                             f"a tree of size {size} gives it {tile.width * HASH_SIZE}")
        content[key] = bytes(edge[key])
    return content
