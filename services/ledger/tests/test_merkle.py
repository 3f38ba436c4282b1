"""The RFC 9162 tree: the shared test vectors, and proofs for every leaf and pair of sizes of many trees."""
from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path

import pytest

from ledger.merkle import (
    EMPTY_ROOT, MemoryTree, ProofError, consistency_proof, full_subtree_hash, inclusion_proof, leaf_hash,
    node_hash, root_coordinates, root_hash, verify_consistency, verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "rfc9162"
INCLUSION_VECTORS = sorted(VECTORS.glob("inclusion/**/*.json"))
CONSISTENCY_VECTORS = sorted(VECTORS.glob("consistency/**/*.json"))
# The leaves behind the vectors' trees (their README).
REFERENCE_LEAVES = [bytes.fromhex(leaf) for leaf in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]


def rfc_root(hashes: list[bytes], start: int = 0, end: int | None = None) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, over leaf hashes."""
    end = len(hashes) if end is None else end
    if end == start:
        return hashlib.sha256(b"").digest()
    if end - start == 1:
        return hashes[start]
    k = 1 << ((end - start - 1).bit_length() - 1)
    return node_hash(rfc_root(hashes, start, start + k), rfc_root(hashes, start + k, end))


def rfc_path(m: int, hashes: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, literally."""
    n = len(hashes)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return rfc_path(m, hashes[:k]) + [rfc_root(hashes[k:])]
    return rfc_path(m - k, hashes[k:]) + [rfc_root(hashes[:k])]


def rfc_subproof(m: int, hashes: list[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1, literally."""
    n = len(hashes)
    if m == n:
        return [] if whole else [rfc_root(hashes)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return rfc_subproof(m, hashes[:k], whole) + [rfc_root(hashes[k:])]
    return rfc_subproof(m - k, hashes[k:], False) + [rfc_root(hashes[:k])]


def random_leaf_hashes(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [leaf_hash(rng.randbytes(rng.randrange(1, 40))) for _ in range(count)]


def flipped(value: bytes, bit: int = 0) -> bytes:
    changed = bytearray(value)
    changed[bit // 8 % len(changed)] ^= 1 << bit % 8
    return bytes(changed)


def decoded(values: list[str] | None) -> list[bytes]:
    return [base64.b64decode(value) for value in values or []]


def vector_id(path: Path) -> str:
    return str(path.relative_to(VECTORS))


class CountingReader:
    def __init__(self, tree: MemoryTree) -> None:
        self.tree, self.reads = tree, 0

    def read_hashes(self, coordinates):
        self.reads += 1
        return self.tree.read_hashes(coordinates)


@pytest.fixture(scope="module")
def tree_of_300() -> tuple[list[bytes], MemoryTree]:
    hashes = random_leaf_hashes(300, seed=300)
    return hashes, MemoryTree(hashes)


@pytest.fixture(scope="module")
def tree_of_70000() -> tuple[list[bytes], MemoryTree]:
    hashes = random_leaf_hashes(70_000, seed=70_000)
    return hashes, MemoryTree(hashes)


def test_the_shared_vectors_are_there_with_valid_and_invalid_cases():
    for vectors in (INCLUSION_VECTORS, CONSISTENCY_VECTORS):
        wanted_errors = {json.loads(path.read_text())["wantErr"] for path in vectors}
        assert len(vectors) > 50 and wanted_errors == {True, False}


@pytest.mark.parametrize("path", INCLUSION_VECTORS, ids=vector_id)
def test_an_inclusion_vector_verifies_exactly_when_it_is_valid(path):
    vector = json.loads(path.read_text())
    arguments = (vector["leafIdx"], vector["treeSize"], base64.b64decode(vector["leafHash"] or ""),
                 decoded(vector["proof"]), base64.b64decode(vector["root"] or ""))
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*arguments)
    else:
        verify_inclusion(*arguments)


@pytest.mark.parametrize("path", CONSISTENCY_VECTORS, ids=vector_id)
def test_a_consistency_vector_verifies_exactly_when_it_is_valid(path):
    vector = json.loads(path.read_text())
    arguments = (vector["size1"], vector["size2"], base64.b64decode(vector["root1"] or ""),
                 base64.b64decode(vector["root2"] or ""), decoded(vector["proof"]))
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*arguments)
    else:
        verify_consistency(*arguments)


@pytest.mark.parametrize("path", sorted(VECTORS.glob("*/[0-9]/happy-path.json")), ids=vector_id)
def test_the_valid_vectors_are_the_proofs_this_code_computes_for_the_reference_leaves(path):
    vector = json.loads(path.read_text())
    tree = MemoryTree(leaf_hash(leaf) for leaf in REFERENCE_LEAVES)
    if "leafIdx" in vector:
        assert base64.b64decode(vector["root"]) == tree.root(vector["treeSize"])
        proof = inclusion_proof(vector["leafIdx"], vector["treeSize"], tree)
    else:
        assert base64.b64decode(vector["root2"]) == tree.root(vector["size2"])
        proof = consistency_proof(vector["size1"], vector["size2"], tree)
    assert proof == decoded(vector["proof"])


def test_the_reference_leaves_have_the_documented_root():
    tree = MemoryTree(leaf_hash(leaf) for leaf in REFERENCE_LEAVES)
    assert tree.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_hashes_are_domain_separated_as_rfc_9162_says():
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_the_empty_tree_has_the_empty_root_without_reading_anything():
    reader = CountingReader(MemoryTree())
    assert root_hash(0, reader) == EMPTY_ROOT
    assert reader.reads == 0


def test_a_tree_decomposes_into_aligned_full_subtrees_largest_first():
    assert root_coordinates(13) == [(3, 0), (2, 2), (0, 12)]
    assert root_coordinates(0) == []
    for size in range(1, 1100):
        start = 0
        for level, index in root_coordinates(size):
            assert index << level == start
            start += 1 << level
        assert start == size


def test_every_size_up_to_300_has_the_rfc_root(tree_of_300):
    hashes, tree = tree_of_300
    for size in range(0, 301):
        assert tree.root(size) == rfc_root(hashes[:size])


def test_a_memory_tree_has_the_hash_of_every_full_subtree_and_nothing_beyond(tree_of_300):
    hashes, tree = tree_of_300
    for level in range(0, 9):
        for index in range(300 >> level):
            assert tree.read_hashes([(level, index)]) == [rfc_root(hashes, index << level, (index + 1) << level)]
    for missing in [(0, 300), (2, 75), (9, 0), (-1, 0), (0, -1)]:
        with pytest.raises(LookupError):
            tree.read_hashes([missing])


def test_proofs_are_the_rfc_recursion_for_every_leaf_and_every_pair_of_sizes_up_to_64(tree_of_300):
    hashes, tree = tree_of_300
    for size in range(1, 65):
        for index in range(size):
            assert inclusion_proof(index, size, tree) == rfc_path(index, hashes[:size])
        for first in range(1, size + 1):
            assert consistency_proof(first, size, tree) == rfc_subproof(first, hashes[:size], True)


def test_every_leaf_of_trees_up_to_300_leaves_is_proven_and_nothing_else_is(tree_of_300):
    hashes, tree = tree_of_300
    for size in range(1, 301):
        root = tree.root(size)
        for index in range(size):
            proof = inclusion_proof(index, size, tree)
            verify_inclusion(index, size, hashes[index], proof, root)
            wrongs = [(index, size, leaf_hash(b"not the leaf"), proof, root),
                      (index + 1, size, hashes[index], proof, root),
                      (index, size, hashes[index], proof, flipped(root, index))]
            if size < 300:
                wrongs.append((index, size + 1, hashes[index], proof, tree.root(size + 1)))
            for wrong in wrongs:
                with pytest.raises(ProofError):
                    verify_inclusion(*wrong)


def test_a_changed_truncated_or_extended_audit_path_is_refused(tree_of_300):
    hashes, tree = tree_of_300
    proof = inclusion_proof(150, 300, tree)
    for position in range(len(proof)):
        changed = proof[:position] + [flipped(proof[position], 255)] + proof[position + 1:]
        with pytest.raises(ProofError):
            verify_inclusion(150, 300, hashes[150], changed, tree.root(300))
    for wrong_length in (proof[:-1], proof + [proof[-1]], [hashes[0]] + proof):
        with pytest.raises(ProofError):
            verify_inclusion(150, 300, hashes[150], wrong_length, tree.root(300))
    with pytest.raises(ProofError):
        verify_inclusion(150, 300, hashes[150], proof[:-1] + [proof[-1][:31]], tree.root(300))


def test_leaves_of_large_trees_are_proven(tree_of_70000):
    hashes, tree = tree_of_70000
    rng = random.Random(1)
    for size in (65_536, 65_537, 70_000):
        root = tree.root(size)
        for index in [0, size - 1, *rng.sample(range(size), 300)]:
            verify_inclusion(index, size, hashes[index], inclusion_proof(index, size, tree), root)


def test_consistency_proofs_verify_between_every_pair_of_sizes_up_to_64_and_only_for_their_roots(tree_of_300):
    _hashes, tree = tree_of_300
    for second in range(1, 65):
        second_root = tree.root(second)
        for first in range(1, second + 1):
            proof = consistency_proof(first, second, tree)
            verify_consistency(first, second, tree.root(first), second_root, proof)
            wrong_roots = [(tree.root(first - 1), second_root), (tree.root(first), flipped(second_root))]
            if first < second:
                wrong_roots.append((tree.root(first + 1), second_root))
            for first_root, other_root in wrong_roots:
                with pytest.raises(ProofError):
                    verify_consistency(first, second, first_root, other_root, proof)


def test_consistency_proofs_verify_between_a_sample_of_large_sizes_and_refuse_any_change(tree_of_70000):
    _hashes, tree = tree_of_70000
    rng = random.Random(2)
    pairs = [(65_536, 65_537), (1, 70_000), (65_537, 70_000), (69_999, 70_000)]
    pairs += [tuple(sorted(rng.sample(range(1, 70_001), 2))) for _ in range(300)]
    for first, second in pairs:
        proof = consistency_proof(first, second, tree)
        first_root, second_root = tree.root(first), tree.root(second)
        verify_consistency(first, second, first_root, second_root, proof)
        position = rng.randrange(len(proof))
        changed = proof[:position] + [flipped(proof[position], rng.randrange(256))] + proof[position + 1:]
        for wrong in (changed, proof[:-1], proof + [proof[0]]):
            with pytest.raises(ProofError):
                verify_consistency(first, second, first_root, second_root, wrong)


def test_a_proof_reads_its_hashes_in_one_call(tree_of_300):
    _hashes, tree = tree_of_300
    for size in range(1, 301):
        for index in (0, size // 3, size - 1):
            reader = CountingReader(tree)
            proof = inclusion_proof(index, size, reader)
            assert reader.reads == (1 if proof else 0)
        for first in (1, size // 2, size - 1):
            reader = CountingReader(tree)
            proof = consistency_proof(first, size, reader)
            assert reader.reads == (1 if proof else 0)
        reader = CountingReader(tree)
        root_hash(size, reader)
        assert reader.reads == 1


def test_consistency_from_the_empty_tree_or_to_the_same_size_is_an_empty_proof(tree_of_300):
    _hashes, tree = tree_of_300
    assert consistency_proof(0, 300, tree) == []
    assert consistency_proof(0, 0, tree) == []
    assert consistency_proof(123, 123, tree) == []


@pytest.mark.parametrize("index, size", [(0, 0), (5, 5), (6, 5), (-1, 5)])
def test_an_inclusion_proof_for_a_leaf_outside_the_tree_is_refused(tree_of_300, index, size):
    with pytest.raises(ValueError):
        inclusion_proof(index, size, tree_of_300[1])


@pytest.mark.parametrize("first, second", [(6, 5), (-1, 5), (1, -1)])
def test_a_consistency_proof_between_impossible_sizes_is_refused(tree_of_300, first, second):
    with pytest.raises(ValueError):
        consistency_proof(first, second, tree_of_300[1])


def test_a_proof_beyond_the_stored_tree_is_a_lookup_error(tree_of_300):
    with pytest.raises(LookupError):
        inclusion_proof(0, 301, tree_of_300[1])
    with pytest.raises(LookupError):
        consistency_proof(10, 512, tree_of_300[1])


def test_a_full_subtree_hash_needs_a_power_of_two_of_whole_hashes(tree_of_300):
    hashes, _tree = tree_of_300
    assert full_subtree_hash(b"".join(hashes[:8])) == rfc_root(hashes[:8])
    assert full_subtree_hash(hashes[0]) == hashes[0]
    for wrong in (b"", b"".join(hashes[:3]), b"".join(hashes[:2]) + b"x"):
        with pytest.raises(ValueError):
            full_subtree_hash(wrong)


def test_a_memory_tree_only_takes_32_byte_leaf_hashes():
    with pytest.raises(ValueError):
        MemoryTree([b"short"])
