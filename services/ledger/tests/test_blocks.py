"""Block headers (docs/ledger-formats.md §5–6): the worked example, mining, and every refusal."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest

from ledger.blocks import (GENESIS_PREVIOUS, HEADER_BYTES, BlockError, BlockHeader, meets_difficulty, mine)

UTC = dt.timezone.utc
# The leaf hash of the example message leaf (test_leaves.py): the root of the tree of that one leaf.
EXAMPLE_ROOT = bytes.fromhex("4dc7806daaec1348ae8eac8e009e189e9afcf68a01487b775702802f1e67d4c2")
EXAMPLE = BlockHeader(height=0, previous_hash=GENESIS_PREVIOUS, first_leaf_index=0, leaf_count=1, tree_size=1,
                      root=EXAMPLE_ROOT, timestamp=dt.datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC), difficulty=8)
EXAMPLE_NONCE = 111
EXAMPLE_HEADER_HEX = (
    "01" "0000000000000000" + "00" * 32 + "0000000000000000" "0000000000000001" "0000000000000001"
    "4dc7806daaec1348ae8eac8e009e189e9afcf68a01487b775702802f1e67d4c2" "00064752551b3240" "08" "000000000000006f")
EXAMPLE_HASH = "0061336cb57a016dc19d87bae6020e93d4e9dc434b85c792e056ef2834e200ed"


def next_block(previous: BlockHeader, leaf_count: int = 3, **changes) -> BlockHeader:
    fields = dict(height=previous.height + 1, previous_hash=previous.hash(), first_leaf_index=previous.tree_size,
                  leaf_count=leaf_count, tree_size=previous.tree_size + leaf_count, root=bytes(range(32)),
                  timestamp=previous.timestamp + dt.timedelta(seconds=1), difficulty=previous.difficulty)
    return BlockHeader(**{**fields, **changes})


def test_the_example_block_is_mined_to_the_documented_nonce_bytes_and_hash():
    mined = mine(EXAMPLE)

    assert mined.nonce == EXAMPLE_NONCE
    assert mined.encode().hex() == EXAMPLE_HEADER_HEX
    assert len(mined.encode()) == HEADER_BYTES == 114
    assert mined.hash().hex() == EXAMPLE_HASH
    assert mined.hash() == hashlib.sha256(mined.encode()).digest()


def test_a_header_decodes_to_the_same_fields():
    decoded = BlockHeader.decode(bytes.fromhex(EXAMPLE_HEADER_HEX))

    assert decoded == dataclasses.replace(EXAMPLE, nonce=EXAMPLE_NONCE)
    assert decoded.timestamp.tzinfo == UTC


def test_a_later_block_round_trips_with_large_values():
    header = next_block(mine(EXAMPLE), leaf_count=2**40, timestamp=dt.datetime(2999, 12, 31, 23, 59, 59, 999999,
                                                                              tzinfo=UTC), nonce=2**64 - 1)

    assert BlockHeader.decode(header.encode()) == header


# --- mining ---------------------------------------------------------------------------------

def test_mining_finds_the_smallest_nonce_that_meets_the_difficulty():
    header = next_block(mine(EXAMPLE), difficulty=10)

    mined = mine(header)

    assert meets_difficulty(mined.hash(), 10)
    assert not any(meets_difficulty(dataclasses.replace(header, nonce=nonce).hash(), 10)
                   for nonce in range(mined.nonce))
    assert dataclasses.replace(mined, nonce=0) == dataclasses.replace(header, nonce=0)


def test_mining_starts_from_nonce_zero_whatever_nonce_the_header_had():
    assert mine(dataclasses.replace(EXAMPLE, nonce=12345)).nonce == EXAMPLE_NONCE


def test_difficulty_zero_needs_no_work():
    header = dataclasses.replace(EXAMPLE, difficulty=0, nonce=7)

    assert mine(header).nonce == 0


def test_changing_a_mined_header_undoes_its_proof_of_work():
    mined = mine(next_block(mine(EXAMPLE), difficulty=16))

    tampered = dataclasses.replace(mined, root=bytes(32))

    assert meets_difficulty(mined.hash(), 16)
    assert not meets_difficulty(tampered.hash(), 16)


def test_difficulty_counts_leading_zero_bits():
    twelve_zero_bits = bytes.fromhex("000f") + b"\xff" * 30

    assert meets_difficulty(twelve_zero_bits, 12)
    assert not meets_difficulty(twelve_zero_bits, 13)
    assert meets_difficulty(b"\xff" * 32, 0)
    assert meets_difficulty(bytes(32), 255)


@pytest.mark.parametrize("block_hash, difficulty", [(bytes(31), 1), (bytes(32), 256), (bytes(32), -1)])
def test_difficulty_is_checked_on_a_32_byte_hash_from_0_to_255(block_hash, difficulty):
    with pytest.raises(BlockError):
        meets_difficulty(block_hash, difficulty)


# --- what a header refuses ------------------------------------------------------------------

@pytest.mark.parametrize("changes, message", [
    ({"tree_size": 2}, "tree_size"),
    ({"leaf_count": 0, "tree_size": 0}, "at least one leaf"),
    ({"root": bytes(31)}, "root"),
    ({"previous_hash": bytes(33)}, "previous_hash"),
    ({"previous_hash": b"\x01" * 32}, "block 0"),
    ({"difficulty": 256}, "difficulty"),
    ({"difficulty": -1}, "difficulty"),
    ({"height": -1}, "height"),
    ({"nonce": 2**64}, "nonce"),
    ({"first_leaf_index": True, "tree_size": 2}, "first_leaf_index"),
    ({"timestamp": dt.datetime(2026, 1, 1, 12, 0, 1)}, "naive"),
    ({"timestamp": dt.datetime(1969, 12, 31, tzinfo=UTC)}, "1970"),
], ids=["size-mismatch", "no-leaves", "short-root", "long-previous", "genesis-with-previous", "difficulty-256",
        "negative-difficulty", "negative-height", "nonce-overflow", "bool", "naive-time", "before-1970"])
def test_a_header_that_breaks_the_rules_cannot_be_made(changes, message):
    with pytest.raises(BlockError, match=message):
        dataclasses.replace(EXAMPLE, **changes)


@pytest.mark.parametrize("length", [0, HEADER_BYTES - 1, HEADER_BYTES + 1])
def test_bytes_of_the_wrong_length_are_not_a_header(length):
    data = (bytes.fromhex(EXAMPLE_HEADER_HEX) * 2)[:length]

    with pytest.raises(BlockError, match="114 bytes"):
        BlockHeader.decode(data)


def test_an_unknown_header_version_is_refused():
    data = b"\x02" + bytes.fromhex(EXAMPLE_HEADER_HEX)[1:]

    with pytest.raises(BlockError, match="version"):
        BlockHeader.decode(data)


def test_header_bytes_that_break_the_rules_are_refused():
    data = bytearray.fromhex(EXAMPLE_HEADER_HEX)
    data[64] = 2    # tree_size (bytes 57-64) 2 after one leaf from index 0

    with pytest.raises(BlockError, match="tree_size"):
        BlockHeader.decode(bytes(data))


def test_a_timestamp_beyond_year_9999_does_not_decode():
    data = bytearray.fromhex(EXAMPLE_HEADER_HEX)
    data[97:105] = b"\xff" * 8   # the timestamp

    with pytest.raises(BlockError, match="timestamp"):
        BlockHeader.decode(bytes(data))
