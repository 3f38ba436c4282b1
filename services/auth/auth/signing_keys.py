"""The Ed25519 keys that sign access tokens, and the JWKS that publishes them.

One key signs at a time; it is created on first need and replaced after
SIGNING_KEY_ROTATION_DAYS. A retired key stays published until every token it
signed has expired (retired_at + access-token TTL + leeway). Private keys are
stored encrypted with the data cipher. Creation is serialised across processes by
a PostgreSQL advisory lock, so replicas starting together make one key, not several.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from servicekit.db import Database
from servicekit.tokens import InvalidToken
from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session

from servicekit.encryption import DataCipher
from auth.models import SigningKey

_CREATION_LOCK = 0x61757468_6b657973  # "authkeys": the advisory lock id guarding key creation
_private_keys: dict[str, Ed25519PrivateKey] = {}  # kid -> key; a kid always names the same key


def current_signing_key(session: Session, cipher: DataCipher, *, rotation_days: int) -> tuple[str, Ed25519PrivateKey]:
    """(kid, private key) of the key that signs now, creating or rotating it when due (in the caller's transaction)."""
    row = _newest_active(session)
    if row is None or _is_due(row, rotation_days):
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CREATION_LOCK})
        row = _newest_active(session)  # another process may have made it while we waited
        if row is None or _is_due(row, rotation_days):
            row = _create_and_retire_others(session, cipher)
    return row.kid, _private_key(row, cipher)


def rotate_signing_key(session: Session, cipher: DataCipher) -> str:
    """Start signing with a new key now (the old one stays published); the new kid. Does not commit."""
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CREATION_LOCK})
    return _create_and_retire_others(session, cipher).kid


def still_verifying(access_token_ttl_seconds: int, leeway_seconds: int):
    """The condition on SigningKey of keys whose tokens may still be alive: current, or retired
    less than a token's lifetime (plus leeway) ago. A key retired longer ago verifies nothing."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=access_token_ttl_seconds + leeway_seconds)
    return or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > cutoff)


def published_keys(session: Session, *, access_token_ttl_seconds: int, leeway_seconds: int) -> list[dict]:
    """The JWKs of every key whose tokens may still be alive, oldest first."""
    rows = session.execute(select(SigningKey).where(still_verifying(access_token_ttl_seconds, leeway_seconds))
                           .order_by(SigningKey.created_at, SigningKey.kid)).scalars().all()
    return [row.public_jwk for row in rows]


def jwks(session: Session, cipher: DataCipher, *, rotation_days: int, access_token_ttl_seconds: int,
         leeway_seconds: int) -> dict:
    """The JWKS document; makes sure a current key exists first, so verifiers never see an empty set."""
    current_signing_key(session, cipher, rotation_days=rotation_days)
    keys = published_keys(session, access_token_ttl_seconds=access_token_ttl_seconds, leeway_seconds=leeway_seconds)
    session.commit()
    return {"keys": keys}


class LocalKeySource:
    """auth's own verifier's keys, read from the signing_keys table (no HTTP to itself).

    Only keys that may still have live tokens verify (`still_verifying`): a retired key is
    dropped from the cache once its tokens' lifetime has passed, and not found again.
    """

    def __init__(self, database: Database, *, access_token_ttl_seconds: int, leeway_seconds: int,
                 max_keys: int = 64) -> None:
        self._database = database
        self._ttl = access_token_ttl_seconds
        self._leeway = leeway_seconds
        self._max_keys = max_keys
        self._keys: dict[str, tuple[Ed25519PublicKey, dt.datetime | None]] = {}  # kid -> (key, verifies until)
        self._lock = threading.Lock()

    def key_for(self, kid: str) -> Ed25519PublicKey:
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            cached = self._keys.get(kid)
            if cached is not None and (cached[1] is None or cached[1] > now):
                return cached[0]
            self._keys.pop(kid, None)
        with self._database.session() as session:
            row = session.execute(select(SigningKey.public_jwk, SigningKey.retired_at).where(
                SigningKey.kid == kid, still_verifying(self._ttl, self._leeway))).one_or_none()
        if row is None:
            raise InvalidToken("token signed by an unknown or retired key")
        key = jwt.PyJWK(row.public_jwk, algorithm="EdDSA").key
        until = row.retired_at + dt.timedelta(seconds=self._ttl + self._leeway) if row.retired_at else None
        with self._lock:
            if len(self._keys) >= self._max_keys:
                self._keys.clear()
            # A current key may retire while cached: re-read it once a token lifetime has passed.
            self._keys[kid] = (key, until or now + dt.timedelta(seconds=self._ttl))
        return key


def _newest_active(session: Session) -> SigningKey | None:
    query = (select(SigningKey).where(SigningKey.retired_at.is_(None))
             .order_by(SigningKey.created_at.desc()).limit(1).execution_options(populate_existing=True))
    return session.execute(query).scalar_one_or_none()


def _is_due(row: SigningKey, rotation_days: int) -> bool:
    return row.created_at <= dt.datetime.now(dt.UTC) - dt.timedelta(days=rotation_days)


def _create_and_retire_others(session: Session, cipher: DataCipher) -> SigningKey:
    now = dt.datetime.now(dt.UTC)
    session.execute(update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now))
    private_key = Ed25519PrivateKey.generate()
    public_jwk = jwt.algorithms.OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    kid = _thumbprint(public_jwk)
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    row = SigningKey(kid=kid, private_key=cipher.encrypt(pem), created_at=now,
                     public_jwk={**public_jwk, "kid": kid, "use": "sig", "alg": "EdDSA"})
    session.add(row)
    session.flush()
    _private_keys[kid] = private_key
    return row


def _thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): a kid that names the key itself."""
    canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _private_key(row: SigningKey, cipher: DataCipher) -> Ed25519PrivateKey:
    key = _private_keys.get(row.kid)
    if key is None:
        key = serialization.load_pem_private_key(cipher.decrypt(row.private_key), password=None)
        _private_keys[row.kid] = key
    return key
