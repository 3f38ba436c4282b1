"""C2SP tlog-tiles: canonical paths, trees grown tile by tile, and proofs read from tiles."""
from __future__ import annotations

import hashlib
import random

import pytest

from ledger.merkle import MemoryTree, consistency_proof, inclusion_proof, leaf_hash, node_hash, root_hash
from ledger.tiles import (
    TILE_HEIGHT, TILE_WIDTH, TileHashReader, TileRef, append, edge_tiles, entries_path, parse_tile_path,
    stored_count, tile_path, tile_width, tiles_for_size,
)


def rfc_root(hashes: list[bytes], start: int = 0, end: int | None = None) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, over leaf hashes."""
    end = len(hashes) if end is None else end
    if end == start:
        return hashlib.sha256(b"").digest()
    if end - start == 1:
        return hashes[start]
    k = 1 << ((end - start - 1).bit_length() - 1)
    return node_hash(rfc_root(hashes, start, start + k), rfc_root(hashes, start + k, end))


def random_leaf_hashes(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [leaf_hash(rng.randbytes(rng.randrange(1, 40))) for _ in range(count)]


class TileStore:
    """Tiles by (L, N) as the server keeps them, grown by `append` in batches, with each version kept."""

    def __init__(self) -> None:
        self.size = 0
        self.tiles: dict[tuple[int, int], bytes] = {}
        self.versions: dict[tuple[int, int], list[bytes]] = {}
        self.fetches = 0

    def append(self, leaf_hashes: list[bytes]) -> dict[tuple[int, int], bytes]:
        changed = append(self.size, {key: self.tiles[key] for key in edge_tiles(self.size)}, leaf_hashes)
        self.tiles.update(changed)
        for key, content in changed.items():
            self.versions.setdefault(key, []).append(content)
        self.size += len(leaf_hashes)
        return changed

    def grow(self, leaf_hashes: list[bytes], rng: random.Random, largest_batch: int) -> list[int]:
        """Append in random batches; the sizes reached after each."""
        sizes = []
        while self.size < len(leaf_hashes):
            batch = rng.randint(1, largest_batch)
            self.append(leaf_hashes[self.size:self.size + batch])
            sizes.append(self.size)
        return sizes

    def fetch(self, keys):
        self.fetches += 1
        return {key: self.tiles[key] for key in keys if key in self.tiles}

    def reader(self) -> TileHashReader:
        return TileHashReader(self.fetch)


@pytest.fixture(scope="module")
def grown_300() -> tuple[list[bytes], TileStore]:
    hashes = random_leaf_hashes(300, seed=3)
    store = TileStore()
    store.grow(hashes, random.Random(3), largest_batch=40)
    return hashes, store


@pytest.fixture(scope="module")
def grown_70000() -> tuple[list[bytes], TileStore, list[int]]:
    hashes = random_leaf_hashes(70_000, seed=7)
    store = TileStore()
    sizes = store.grow(hashes[:65_537], random.Random(7), largest_batch=3000)
    sizes += store.grow(hashes, random.Random(8), largest_batch=3000)
    return hashes, store, sizes


@pytest.mark.parametrize("arguments, path", [
    ((0, 1234067, 256), "tile/0/x001/x234/067"),
    ((0, 5, 256), "tile/0/005"),
    ((0, 0, 256), "tile/0/000"),
    ((1, 0, 1), "tile/1/000.p/1"),
    ((2, 1000, 255), "tile/2/x001/000.p/255"),
    ((0, 1234067, 5), "tile/0/x001/x234/067.p/5"),
])
def test_a_tile_index_is_written_in_three_digit_groups_all_but_the_last_prefixed_with_x(arguments, path):
    assert tile_path(*arguments) == path
    assert parse_tile_path(path) == TileRef(*arguments)


def test_an_entry_bundle_has_the_index_of_its_level_0_tile():
    assert entries_path(1234067, 256) == "tile/entries/x001/x234/067"
    assert entries_path(5, 17) == "tile/entries/005.p/17"
    assert parse_tile_path("tile/entries/005.p/17") == TileRef(None, 5, 17)


def test_every_tile_path_round_trips():
    rng = random.Random(4)
    for _ in range(3000):
        level = rng.choice([None, 0, 0, 1, 2, 3])
        tiles_in_level = 1 << (56 - TILE_HEIGHT * (level or 0))  # a tree has at most 2**64 - 1 leaves
        index = rng.choice([0, 1, 999, 1000, tiles_in_level - 1, rng.randrange(tiles_in_level)])
        width = rng.choice([1, 255, 256, rng.randint(1, 256)])
        tile = TileRef(level, index, width)
        assert parse_tile_path(tile.path) == tile
        assert tile.path == (entries_path(index, width) if level is None else tile_path(level, index, width))


@pytest.mark.parametrize("path", [
    "tile/0/5", "tile/0/05", "tile/0/0005", "tile/0/x000/005", "tile/0/x000/x001/005", "tile/0/001/234",
    "tile/0/x001/x234", "tile/0/x1/234", "tile/0/x0001/234", "tile/0/X001/234", "tile/0/abc", "tile/0/00a",
    "tile/0/٠٠٥", "tile/00/005", "tile/01/005", "tile/64/000", "tile/99/000", "tile/-1/000", "tile/+1/000",
    "tile/0/005.p/0", "tile/0/005.p/256", "tile/0/005.p/05", "tile/0/005.p/", "tile/0/005.p", "tile/0/005.P/5",
    "tile/0/005.p/5/6", "tile/0/005/", "tile/0/005/006", "/tile/0/005", "tile//0/005", "tile/0/005 ",
    "tile/0/005\n", "tile/0", "tile/", "", "tiles/0/005", "tile/entries/5", "tile/entries/x000/001",
    "tile/entries/005.p/300", "tile/entries", "tile/0/x072/x057/x594/x037/x927/936",
    "tile/8/001", "tile/entries/x072/x057/x594/x037/x927/x936/000",
])
def test_a_non_canonical_tile_path_is_refused(path):
    with pytest.raises(ValueError):
        parse_tile_path(path)


def test_the_largest_tiles_of_a_uint64_tree_have_paths():
    last_level_0 = (1 << 56) - 1  # its last leaf is 2**64 - 1
    assert parse_tile_path(tile_path(0, last_level_0, 256)) == TileRef(0, last_level_0, 256)
    assert parse_tile_path("tile/63/000.p/1") == TileRef(63, 0, 1)


@pytest.mark.parametrize("arguments", [(64, 0, 256), (-1, 0, 256), (0, 0, 0), (0, 0, 257), (0, -1, 256),
                                       (0, 1 << 56, 256), (8, 1, 256)])
def test_a_path_for_a_tile_that_cannot_exist_is_refused(arguments):
    with pytest.raises(ValueError):
        tile_path(*arguments)


def test_the_tiles_of_a_tree_of_70000_leaves_are_those_of_the_specification():
    assert [stored_count(70_000, level) for level in range(4)] == [70_000, 273, 1, 0]
    assert [tile_width(70_000, 0, index) for index in (0, 272, 273, 274)] == [256, 256, 112, 0]
    assert [tile_width(70_000, 1, index) for index in (0, 1, 2)] == [256, 17, 0]
    assert tile_width(70_000, 2, 0) == 1 and tile_width(70_000, 3, 0) == 0
    assert tiles_for_size(70_000) == [TileRef(0, 273, 112), TileRef(1, 1, 17), TileRef(2, 0, 1)]


def test_a_tree_of_256_leaves_has_a_full_tile_and_a_level_1_tile_of_width_1():
    assert tile_width(256, 0, 0) == 256
    assert tiles_for_size(256) == [TileRef(1, 0, 1)]
    assert tiles_for_size(0) == []


def test_append_extends_the_partial_tiles_of_every_level():
    assert edge_tiles(0) == []
    assert edge_tiles(255) == [(0, 0)]
    assert edge_tiles(256) == [(1, 0)]
    assert edge_tiles(300) == [(0, 1), (1, 0)]
    assert edge_tiles(70_000) == [(0, 273), (1, 1), (2, 0)]


def test_tiles_grown_in_random_batches_give_every_size_up_to_300_its_rfc_root(grown_300):
    hashes, store = grown_300
    for size in range(0, 301):
        assert root_hash(size, store.reader()) == rfc_root(hashes[:size])


def test_tiles_grown_one_leaf_at_a_time_are_exactly_the_tiles_of_each_size():
    hashes = random_leaf_hashes(600, seed=6)
    store = TileStore()
    for size in range(1, 601):
        store.append(hashes[size - 1:size])
        assert {key: len(content) // 32 for key, content in store.tiles.items()} == {
            (level, index): tile_width(size, level, index)
            for level in range(3) for index in range(3) if tile_width(size, level, index)}
        assert root_hash(size, store.reader()) == rfc_root(hashes[:size])


def test_large_trees_grown_in_random_batches_have_their_rfc_root(grown_70000):
    hashes, store, sizes = grown_70000
    memory = MemoryTree()
    for size in sizes:
        memory.extend(hashes[memory.size:size])
        assert root_hash(size, store.reader()) == memory.root()
    for size in (65_537, 70_000):
        assert root_hash(size, store.reader()) == rfc_root(hashes[:size])


def test_every_stored_tile_holds_the_tree_hashes_of_its_level(grown_70000):
    hashes, store, _sizes = grown_70000
    memory = MemoryTree(hashes)
    assert set(store.tiles) == {(0, index) for index in range(274)} | {(1, 0), (1, 1), (2, 0)}
    for (level, index), content in store.tiles.items():
        level_hashes = memory.level(TILE_HEIGHT * level)[index * TILE_WIDTH:(index + 1) * TILE_WIDTH]
        assert content == b"".join(level_hashes)


def test_a_partial_tile_is_the_prefix_of_the_tile_it_grows_into(grown_70000):
    _hashes, store, _sizes = grown_70000
    grown_more_than_once = 0
    for key, versions in store.versions.items():
        for earlier, later in zip(versions, versions[1:]):
            assert len(earlier) < len(later) and later.startswith(earlier)
        assert len(versions[-1]) == 32 * tile_width(70_000, *key)
        grown_more_than_once += len(versions) > 1
    assert grown_more_than_once > 10


def test_appending_returns_only_the_tiles_that_changed():
    hashes = random_leaf_hashes(300, seed=5)
    store = TileStore()
    assert store.append([]) == {}
    assert set(store.append(hashes[:255])) == {(0, 0)}
    assert {key: len(content) // 32 for key, content in store.append(hashes[255:256]).items()} == {
        (0, 0): 256, (1, 0): 1}
    assert set(store.append(hashes[256:300])) == {(0, 1)}
    assert store.append([]) == {}


def test_append_refuses_edge_tiles_that_do_not_match_the_tree_size(grown_300):
    _hashes, store = grown_300
    edge = {key: store.tiles[key] for key in edge_tiles(300)}
    new = [leaf_hash(b"new")]
    assert append(300, edge, new)  # the right tiles are accepted
    for wrong in ({(0, 1): edge[(0, 1)]},  # the level-1 tile is missing
                  {**edge, (0, 1): edge[(0, 1)][:-32]},
                  {**edge, (0, 1): edge[(0, 1)] + new[0]},
                  {**edge, (1, 0): b""}):
        with pytest.raises(ValueError):
            append(300, wrong, new)
    with pytest.raises(ValueError):
        append(299, edge, new)
    with pytest.raises(ValueError):
        append(300, edge, [b"not a hash"])


def test_proofs_from_tiles_are_the_proofs_of_the_tree_for_every_leaf_up_to_300(grown_300):
    hashes, store = grown_300
    memory = MemoryTree(hashes)
    rng = random.Random(9)
    for size in range(1, 301):
        for index in range(size):
            assert inclusion_proof(index, size, store.reader()) == inclusion_proof(index, size, memory)
        for first in {1, size, *rng.sample(range(1, size + 1), min(size, 8))}:
            assert consistency_proof(first, size, store.reader()) == consistency_proof(first, size, memory)


def test_proofs_from_tiles_are_the_proofs_of_the_tree_in_large_trees(grown_70000):
    hashes, store, _sizes = grown_70000
    memory = MemoryTree(hashes)
    rng = random.Random(10)
    for size in (65_536, 65_537, 70_000):
        for index in [0, 65_535, size - 1, *rng.sample(range(size), 200)]:
            assert inclusion_proof(index, size, store.reader()) == inclusion_proof(index, size, memory)
    for _ in range(200):
        first, second = sorted(rng.sample(range(1, 70_001), 2))
        assert consistency_proof(first, second, store.reader()) == consistency_proof(first, second, memory)


def test_a_proof_from_tiles_fetches_its_tiles_in_one_call(grown_70000):
    _hashes, store, _sizes = grown_70000
    for index in (0, 12_345, 69_999):
        before = store.fetches
        inclusion_proof(index, 70_000, store.reader())
        assert store.fetches == before + 1
    before = store.fetches
    consistency_proof(12_345, 70_000, store.reader())
    root_hash(70_000, store.reader())
    assert store.fetches == before + 2


def test_a_subtree_beyond_the_stored_tiles_is_a_lookup_error(grown_300):
    _hashes, store = grown_300
    reader = store.reader()
    assert reader.read_hashes([(0, 299), (3, 36), (8, 0)])
    for missing in [(0, 300), (2, 75), (8, 1), (16, 0), (-1, 0)]:
        with pytest.raises(LookupError):
            reader.read_hashes([missing])
    with pytest.raises(LookupError):
        inclusion_proof(0, 512, reader)
    without_level_1 = TileHashReader(lambda keys: {key: store.tiles[key] for key in keys if key[0] == 0})
    with pytest.raises(LookupError):
        root_hash(300, without_level_1)


def test_tiles_read_as_memoryviews_give_the_same_proofs(grown_300):
    """Some PostgreSQL drivers return bytea as a memoryview."""
    _hashes, store = grown_300
    as_views = TileHashReader(lambda keys: {key: memoryview(store.tiles[key]) for key in keys})
    assert root_hash(300, as_views) == root_hash(300, store.reader())
    assert inclusion_proof(299, 300, as_views) == inclusion_proof(299, 300, store.reader())
    assert all(type(node) is bytes for node in inclusion_proof(299, 300, as_views))
    new = [leaf_hash(b"new")]
    edge_as_views = {key: memoryview(store.tiles[key]) for key in edge_tiles(300)}
    assert append(300, edge_as_views, new) == append(300, {key: store.tiles[key] for key in edge_tiles(300)}, new)
