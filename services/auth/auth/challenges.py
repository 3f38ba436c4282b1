"""The proof-of-work challenge that stands in for a CAPTCHA at registration (hashcash style).

The server hands out a signed, expiring challenge; a client must find a nonce such
that SHA-256(token ":" nonce) starts with `difficulty` zero bits. Checking costs the
server one hash; finding costs the client about 2**difficulty. The challenge is
stateless until it is spent: spending records its id, so a solution works once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from itsdangerous import BadSignature, URLSafeSerializer
from servicekit.errors import Invalid
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from auth.models import SpentChallenge

_SALT = "beyou.auth.pow-challenge"


def issue_challenge(secret_key: str, *, difficulty: int, ttl_seconds: int) -> dict:
    """A new challenge: {id, difficulty, expires_at, token}; the token carries (and signs) the rest."""
    challenge_id = uuid.uuid4()
    expires_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=ttl_seconds)
    token = URLSafeSerializer(secret_key, salt=_SALT).dumps(
        {"id": str(challenge_id), "difficulty": difficulty, "exp": int(expires_at.timestamp())})
    return {"id": challenge_id, "difficulty": difficulty, "expires_at": expires_at, "token": token}


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def is_solution(token: str, nonce: str, difficulty: int) -> bool:
    digest = hashlib.sha256(f"{token}:{nonce}".encode()).digest()
    return leading_zero_bits(digest) >= difficulty


def spend_challenge(session: Session, secret_key: str, solution: dict | None) -> None:
    """Accept a solved challenge once (recorded in the caller's transaction); `Invalid` otherwise."""
    if not solution or not solution.get("token") or solution.get("nonce") is None:
        raise _refused("a solved proof-of-work challenge is required (POST /api/auth/challenge)")
    token, nonce = solution["token"], str(solution["nonce"])
    try:
        claims = URLSafeSerializer(secret_key, salt=_SALT).loads(token)
        challenge_id, difficulty = uuid.UUID(claims["id"]), int(claims["difficulty"])
        expires_at = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
    except (BadSignature, KeyError, TypeError, ValueError):
        raise _refused("the challenge was not issued by this server") from None
    now = dt.datetime.now(dt.UTC)
    if expires_at <= now:
        raise _refused("the challenge has expired; ask for a new one")
    if not is_solution(token, nonce, difficulty):
        raise _refused("the nonce does not solve the challenge")
    spent = session.execute(insert(SpentChallenge).values(id=challenge_id, expires_at=expires_at)
                            .on_conflict_do_nothing().returning(SpentChallenge.id)).first()
    if spent is None:
        raise _refused("the challenge has already been used; ask for a new one")


def _refused(detail: str) -> Invalid:
    return Invalid(detail, errors={"challenge": [detail]})
