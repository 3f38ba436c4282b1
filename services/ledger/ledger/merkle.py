"""The RFC 9162 Merkle tree: hashes, inclusion and consistency proofs, and their verification.

Pure functions, no storage. Every root and proof node is the Merkle Tree Hash (MTH) of a range of
leaves, and every range the RFC's recursion visits decomposes into full, aligned subtrees named by
their coordinates (level, index): the 2**level leaves from index * 2**level. A proof first lists the
coordinates it needs, reads them all with ONE `HashReader.read_hashes` call (the server answers it
with one query over its stored tiles), then folds them: so a proof costs one read, whatever its size.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256
Coordinate = tuple[int, int]


class ProofError(ValueError):
    """A proof does not verify against the given sizes and roots."""


class HashReader(Protocol):
    def read_hashes(self, coordinates: Sequence[Coordinate]) -> list[bytes]:
        """The hashes of the full, aligned subtrees at these (level, index) coordinates, in the order asked.

        Raises LookupError when one is not (yet) stored.
        """


def leaf_hash(leaf: bytes) -> bytes:
    return _sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def full_subtree_hash(concatenated: bytes) -> bytes:
    """The root of a full subtree from its 2**k hashes at one level, given concatenated (32·2**k bytes)."""
    count, rest = divmod(len(concatenated), HASH_SIZE)
    if rest or count == 0 or count & (count - 1):
        raise ValueError("a full subtree needs a power-of-two number of 32-byte hashes")
    # Siblings are adjacent in the concatenation, so each level is one pass over 64-byte slices.
    while len(concatenated) > HASH_SIZE:
        concatenated = b"".join([_sha256(b"\x01" + concatenated[i:i + 2 * HASH_SIZE]).digest()
                                 for i in range(0, len(concatenated), 2 * HASH_SIZE)])
    return bytes(concatenated)  # a single hash may arrive as a slice of a memoryview (a stored tile)


def root_coordinates(size: int) -> list[Coordinate]:
    """The full, aligned subtrees that make up [0, size), largest (leftmost) first."""
    if size < 0:
        raise ValueError("a tree size is not negative")
    return _range_coordinates(0, size)


def root_hash(size: int, reader: HashReader) -> bytes:
    """MTH of the first `size` leaves (the empty tree's root for 0), in one read."""
    coordinates = root_coordinates(size)
    if not coordinates:
        return EMPTY_ROOT
    return _fold(reader.read_hashes(coordinates))


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1), leaf to root.

    One read (none when the path is empty, i.e. size 1).
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    return _read_ranges(_inclusion_ranges(index, size), reader)


def consistency_proof(first: int, second: int, reader: HashReader) -> list[bytes]:
    """The consistency proof between trees of `first` and `second` leaves (RFC 9162 §2.1.4.1).

    [] when first == 0 or first == second; one read otherwise.
    """
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    return _read_ranges(_consistency_ranges(first, second), reader)


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check an audit path as RFC 9162 §2.1.3.2 does; ProofError unless it proves the leaf in that root."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_hashes([leaf_hash, *proof])
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("the audit path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:  # the right border: skip the levels where the node has no sibling
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the audit path is shorter than the tree is deep")
    if r != root:
        raise ProofError("the audit path leads to another root")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Check a consistency proof as RFC 9162 §2.1.4.2 does; ProofError unless the second tree extends the first.

    A proof from the empty tree proves nothing and is refused (as the shared test vectors require).
    """
    if not 0 <= first <= second:
        raise ProofError(f"size {second} cannot extend size {first}")
    if first == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if first == second:
        if proof:
            raise ProofError("equal sizes take an empty proof")
        if first_root != second_root:
            raise ProofError("equal sizes with different roots")
        return
    if not proof:
        raise ProofError("an empty proof between different sizes")
    _check_hashes(proof)
    path = list(proof)
    if first & (first - 1) == 0:  # the first tree is a full subtree, so its root is the path's seed
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    if fr != first_root:
        raise ProofError("the proof does not lead to the first root")
    if sr != second_root:
        raise ProofError("the proof does not lead to the second root")


class MemoryTree(HashReader):
    """A tree held in memory: every full subtree's hash, per level, kept as leaves are added.

    Implements HashReader; used by tests and to recompute a stored tree (about 2 hashes per leaf).
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append leaf hashes, computing each subtree hash that becomes full."""
        added = list(leaf_hashes)
        if any(len(h) != HASH_SIZE for h in added):
            raise ValueError(f"leaf hashes are {HASH_SIZE} bytes")
        self._levels[0].extend(added)
        height = 0
        while len(self._levels[height]) >= 2:
            if height + 1 == len(self._levels):
                self._levels.append([])
            below, above = self._levels[height], self._levels[height + 1]
            above.extend([_sha256(b"\x01" + below[i] + below[i + 1]).digest()
                          for i in range(2 * len(above), len(below) - 1, 2)])
            height += 1

    def append(self, leaf_hash: bytes) -> None:
        self.extend((leaf_hash,))

    def level(self, height: int) -> Sequence[bytes]:
        """The hashes of every full subtree of 2**height leaves, left to right (do not mutate)."""
        return self._levels[height] if height < len(self._levels) else []

    def root(self, size: int | None = None) -> bytes:
        return root_hash(self.size if size is None else size, self)

    def read_hashes(self, coordinates: Sequence[Coordinate]) -> list[bytes]:
        hashes = []
        for height, index in coordinates:
            if height < 0 or index < 0 or height >= len(self._levels) or index >= len(self._levels[height]):
                raise LookupError(f"no full subtree at level {height}, index {index} in a tree of size {self.size}")
            hashes.append(self._levels[height][index])
        return hashes


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _range_coordinates(start: int, end: int) -> list[Coordinate]:
    """[start, end) as full, aligned subtrees, largest first.

    Exact for the ranges RFC 9162's recursion visits: each starts at a multiple of the power of two
    at or above its length, so each piece of the binary decomposition of its length is aligned.
    """
    coordinates = []
    length = end - start
    for height in range(length.bit_length() - 1, -1, -1):
        if length >> height & 1:
            coordinates.append((height, start >> height))
            start += 1 << height
    return coordinates


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The (start, end) ranges whose MTH make the audit path, leaf to root (RFC 9162 PATH)."""
    ranges = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _largest_power_of_two_below(end - start)
        if index < middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start = middle
    ranges.reverse()
    return ranges


def _consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The (start, end) ranges whose MTH make the consistency proof, leaf to root (RFC 9162 SUBPROOF)."""
    ranges = []
    start, end = 0, second
    whole_first_tree = True  # SUBPROOF's b: still inside the subtree that is the first tree itself
    while end != first:
        middle = start + _largest_power_of_two_below(end - start)
        if first <= middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start = middle
            whole_first_tree = False
    if not whole_first_tree:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def _read_ranges(ranges: list[tuple[int, int]], reader: HashReader) -> list[bytes]:
    """MTH of each range, with all their subtrees read in one call."""
    plan = [_range_coordinates(start, end) for start, end in ranges]
    coordinates = [coordinate for pieces in plan for coordinate in pieces]
    if not coordinates:
        return []
    hashes = reader.read_hashes(coordinates)
    if len(hashes) != len(coordinates):
        raise LookupError(f"asked for {len(coordinates)} subtree hashes, read {len(hashes)}")
    nodes, position = [], 0
    for pieces in plan:
        nodes.append(_fold(hashes[position:position + len(pieces)]))
        position += len(pieces)
    return nodes


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its aligned subtrees, largest first: RFC 9162's split is the first piece."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _check_hashes(hashes: Iterable[bytes]) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofError(f"hashes are {HASH_SIZE} bytes")
