"""Solving auth's registration challenge (hashcash style).

The server hands out `{token, difficulty, ...}`; a solution is a nonce such that
SHA-256("<token>:<nonce>") starts with `difficulty` zero bits. Finding one takes
2**difficulty hashes on average, so a caller can show progress against that.
"""
from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable

# How often the progress callback hears from the search (in hashes): a few times a second.
PROGRESS_EVERY = 1 << 16

Progress = Callable[[int, int], None]   # (hashes tried so far, hashes expected on average)


def is_solution(token: str, nonce: str, difficulty: int) -> bool:
    digest = hashlib.sha256(f"{token}:{nonce}".encode()).digest()
    return int.from_bytes(digest, "big") >> (256 - difficulty) == 0


def solve(token: str, difficulty: int, progress: Progress | None = None) -> str:
    """The first nonce (a decimal string) that solves the challenge."""
    if not 0 <= difficulty <= 256:
        raise ValueError(f"a difficulty of {difficulty} bits cannot be solved")
    prefix = hashlib.sha256(f"{token}:".encode())   # hashed once; each try only adds the nonce
    limit = 1 << (256 - difficulty)
    expected = 1 << difficulty
    for nonce in itertools.count():
        candidate = prefix.copy()
        candidate.update(str(nonce).encode())
        if int.from_bytes(candidate.digest(), "big") < limit:
            if progress:
                progress(nonce + 1, expected)
            return str(nonce)
        if progress and nonce % PROGRESS_EVERY == 0:
            progress(nonce, expected)
    raise AssertionError("unreachable: itertools.count() does not end")
