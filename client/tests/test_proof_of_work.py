"""Solving the registration challenge: a nonce the server accepts, and progress along the way."""
from __future__ import annotations

import hashlib

import pytest

from beyou import proof_of_work


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return 256 - value.bit_length()


def test_the_nonce_found_gives_a_hash_with_enough_leading_zero_bits():
    nonce = proof_of_work.solve("a-token", 14)
    assert leading_zero_bits(hashlib.sha256(f"a-token:{nonce}".encode()).digest()) >= 14
    assert proof_of_work.is_solution("a-token", nonce, 14)


def test_progress_is_reported_against_the_expected_work_and_ends_with_the_tries_made():
    reports = []
    nonce = proof_of_work.solve("another-token", 18, lambda tried, expected: reports.append((tried, expected)))
    assert reports[0] == (0, 2 ** 18)
    assert reports[-1] == (int(nonce) + 1, 2 ** 18)
    assert [tried for tried, _ in reports] == sorted(tried for tried, _ in reports)


def test_an_impossible_difficulty_is_refused_at_once():
    with pytest.raises(ValueError):
        proof_of_work.solve("token", 257)
