"""Block headers: their bytes, their hash and their proof of work (docs/ledger-formats.md §5–6).

A block seals the leaves appended since the previous block: its header names the tree size and
Merkle root after them and the hash of the previous header, so the headers form a chain over the
tree's checkpoints. The header bytes are what is hashed, mined and signed (Ed25519, the ledger's
key); the nonce is their last field, so mining hashes a fixed prefix once and only the nonce per try.

Pure functions, no database.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import struct

from ledger.leaves import from_micros, to_micros

VERSION = 1
HASH_BYTES = 32
GENESIS_PREVIOUS = bytes(HASH_BYTES)   # the previous hash of block 0
MAX_DIFFICULTY = 255
# version, height, previous hash, first leaf index, leaf count, tree size, root, timestamp µs, difficulty
_PREFIX = struct.Struct(">BQ32sQQQ32sQB")
_NONCE = struct.Struct(">Q")
HEADER_BYTES = _PREFIX.size + _NONCE.size   # 114
_U64_LIMIT = 1 << 64


class BlockError(ValueError):
    """Bytes that are not a block header, or fields that cannot make one."""


@dataclasses.dataclass(frozen=True)
class BlockHeader:
    """A block's header; construction refuses fields that break the format's rules."""

    height: int
    previous_hash: bytes
    first_leaf_index: int
    leaf_count: int
    tree_size: int
    root: bytes
    timestamp: dt.datetime
    difficulty: int
    nonce: int = 0

    def __post_init__(self) -> None:
        for field in ("height", "first_leaf_index", "leaf_count", "tree_size", "nonce"):
            _check_u64(getattr(self, field), field)
        for field in ("previous_hash", "root"):
            value = getattr(self, field)
            if not isinstance(value, bytes) or len(value) != HASH_BYTES:
                raise BlockError(f"{field} must be {HASH_BYTES} bytes")
        _check_difficulty(self.difficulty)
        if self.leaf_count < 1:
            raise BlockError("a block holds at least one leaf")
        if self.tree_size != self.first_leaf_index + self.leaf_count:
            raise BlockError("tree_size must be first_leaf_index + leaf_count")
        if self.height == 0 and self.previous_hash != GENESIS_PREVIOUS:
            raise BlockError("block 0 has no previous block: its previous_hash is 32 zero bytes")
        try:
            to_micros(self.timestamp)
        except ValueError as error:
            raise BlockError(f"timestamp: {error}") from None

    def _prefix(self) -> bytes:
        return _PREFIX.pack(VERSION, self.height, self.previous_hash, self.first_leaf_index, self.leaf_count,
                            self.tree_size, self.root, to_micros(self.timestamp), self.difficulty)

    def encode(self) -> bytes:
        """The header's 114 bytes: what is hashed, mined and signed."""
        return self._prefix() + _NONCE.pack(self.nonce)

    def hash(self) -> bytes:
        """The block hash: SHA-256 of the header bytes."""
        return hashlib.sha256(self.encode()).digest()

    @classmethod
    def decode(cls, data: bytes) -> BlockHeader:
        """The header `data` encodes; BlockError unless it is exactly what `encode` gives."""
        data = bytes(data)
        if len(data) != HEADER_BYTES:
            raise BlockError(f"a block header is {HEADER_BYTES} bytes; this is {len(data)}")
        (version, height, previous_hash, first_leaf_index, leaf_count, tree_size, root, micros,
         difficulty) = _PREFIX.unpack_from(data)
        if version != VERSION:
            raise BlockError(f"unknown block header version {version}")
        (nonce,) = _NONCE.unpack_from(data, _PREFIX.size)
        try:
            timestamp = from_micros(micros)
        except ValueError as error:
            raise BlockError(f"timestamp: {error}") from None
        return cls(height, previous_hash, first_leaf_index, leaf_count, tree_size, root, timestamp, difficulty, nonce)


def meets_difficulty(block_hash: bytes, difficulty: int) -> bool:
    """Whether `block_hash` starts with at least `difficulty` zero bits."""
    _check_difficulty(difficulty)
    if not isinstance(block_hash, bytes) or len(block_hash) != HASH_BYTES:
        raise BlockError(f"a block hash is {HASH_BYTES} bytes")
    return int.from_bytes(block_hash, "big") >> (8 * HASH_BYTES - difficulty) == 0


def mine(header: BlockHeader) -> BlockHeader:
    """The header with the smallest nonce (from 0) whose hash meets its difficulty.

    Each try costs 2**-difficulty of success, so a difficulty d takes 2**d tries on average.
    """
    if header.difficulty == 0:
        return dataclasses.replace(header, nonce=0)
    # A 32-byte hash has `difficulty` leading zero bits exactly when it is below 2**(256 - difficulty);
    # comparing equal-length big-endian bytes compares the numbers.
    bound = (1 << (8 * HASH_BYTES - header.difficulty)).to_bytes(HASH_BYTES, "big")
    prefix = hashlib.sha256(header._prefix())
    pack = _NONCE.pack
    for nonce in range(_U64_LIMIT):
        attempt = prefix.copy()
        attempt.update(pack(nonce))
        if attempt.digest() < bound:
            return dataclasses.replace(header, nonce=nonce)
    raise BlockError("no nonce meets the difficulty")  # 2**64 tries: unreachable at any usable difficulty


def _check_u64(value: int, field: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _U64_LIMIT:
        raise BlockError(f"{field} must be an integer from 0 to 2**64 - 1")


def _check_difficulty(difficulty: int) -> None:
    if not isinstance(difficulty, int) or isinstance(difficulty, bool) or not 0 <= difficulty <= MAX_DIFFICULTY:
        raise BlockError(f"difficulty must be an integer from 0 to {MAX_DIFFICULTY}")
