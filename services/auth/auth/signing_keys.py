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

from auth.encryption import cipher
from auth.models import SigningKey

_CREATION_LOCK = 0x61757468_6b657973  # "authkeys": the advisory lock id guarding key creation
_private_keys: dict[str, Ed25519PrivateKey] = {}  # kid -> key; a kid always names the same key


def current_signing_key(db: Session, *, rotation_days: int) -> tuple[str, Ed25519PrivateKey]:
    """(kid, private key) of the key that signs now, creating or rotating it when due (in db's transaction)."""
    row = _newest_active(db)
    if row is None or _is_due(row, rotation_days):
        db.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CREATION_LOCK})
        row = _newest_active(db)  # another process may have made it while we waited
        if row is None or _is_due(row, rotation_days):
            row = _create_and_retire_others(db)
    return row.kid, _private_key(row)


def rotate_signing_key(db: Session) -> str:
    """Start signing with a new key now (the old one stays published); the new kid. Does not commit."""
    db.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CREATION_LOCK})
    return _create_and_retire_others(db).kid


def published_keys(db: Session, *, access_token_ttl_seconds: int, leeway_seconds: int) -> list[dict]:
    """The JWKs of every key whose tokens may still be alive, oldest first."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=access_token_ttl_seconds + leeway_seconds)
    rows = db.execute(select(SigningKey).where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > cutoff))
                      .order_by(SigningKey.created_at, SigningKey.kid)).scalars().all()
    return [row.public_jwk for row in rows]


def jwks(db: Session, *, rotation_days: int, access_token_ttl_seconds: int, leeway_seconds: int) -> dict:
    """The JWKS document; makes sure a current key exists first, so verifiers never see an empty set."""
    current_signing_key(db, rotation_days=rotation_days)
    db.commit()
    return {"keys": published_keys(db, access_token_ttl_seconds=access_token_ttl_seconds,
                                   leeway_seconds=leeway_seconds)}


class LocalKeySource:
    """auth's own verifier's keys, read from the signing_keys table (no HTTP to itself), cached by kid."""

    def __init__(self, database: Database, max_keys: int = 64) -> None:
        self._database = database
        self._max_keys = max_keys
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._lock = threading.Lock()

    def key_for(self, kid: str) -> Ed25519PublicKey:
        with self._lock:
            if kid in self._keys:
                return self._keys[kid]
        with self._database.session() as db:
            document = db.execute(select(SigningKey.public_jwk).where(SigningKey.kid == kid)).scalar_one_or_none()
        if document is None:
            raise InvalidToken("token signed by an unknown key")
        key = jwt.PyJWK(document, algorithm="EdDSA").key
        with self._lock:
            if len(self._keys) >= self._max_keys:
                self._keys.clear()
            self._keys[kid] = key
        return key


def _newest_active(db: Session) -> SigningKey | None:
    query = (select(SigningKey).where(SigningKey.retired_at.is_(None))
             .order_by(SigningKey.created_at.desc()).limit(1).execution_options(populate_existing=True))
    return db.execute(query).scalar_one_or_none()


def _is_due(row: SigningKey, rotation_days: int) -> bool:
    return row.created_at <= dt.datetime.now(dt.UTC) - dt.timedelta(days=rotation_days)


def _create_and_retire_others(db: Session) -> SigningKey:
    now = dt.datetime.now(dt.UTC)
    db.execute(update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now))
    private_key = Ed25519PrivateKey.generate()
    public_jwk = jwt.algorithms.OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    kid = _thumbprint(public_jwk)
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    row = SigningKey(kid=kid, private_key=cipher().encrypt(pem), created_at=now,
                     public_jwk={**public_jwk, "kid": kid, "use": "sig", "alg": "EdDSA"})
    db.add(row)
    db.flush()
    _private_keys[kid] = private_key
    return row


def _thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): a kid that names the key itself."""
    canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _private_key(row: SigningKey) -> Ed25519PrivateKey:
    key = _private_keys.get(row.kid)
    if key is None:
        key = serialization.load_pem_private_key(cipher().decrypt(row.private_key), password=None)
        _private_keys[row.kid] = key
    return key
