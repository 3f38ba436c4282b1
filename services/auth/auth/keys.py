"""The public-key registry for end-to-end messaging.

A user registers one active key per purpose (signing, encryption); registering a
new one deactivates the old, which stays listed for verifying old messages.
Private keys never reach the server: a PEM that holds one is refused.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa, x25519
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth.models import PublicKey, User

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192  # far beyond any need; larger keys only make every signature check slow
KEY_TYPES = {"rsa": rsa.RSAPublicKey, "ed25519": ed25519.Ed25519PublicKey, "x25519": x25519.X25519PublicKey}
PURPOSES = {"rsa": {"signing", "encryption"}, "ed25519": {"signing"}, "x25519": {"encryption"}}


def parse_public_key(pem: str, *, purpose: str, algorithm: str) -> tuple[str, str]:
    """Validate a public key for `purpose` and `algorithm`: its canonical PEM and its fingerprint.

    The fingerprint is the SHA-256 hex of the DER SubjectPublicKeyInfo. `Invalid` (422)
    for a private key, an unreadable PEM, a wrong algorithm or purpose, a short RSA key.
    """
    data = pem.encode()
    _refuse_private_key(data)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise _invalid("pem", "Not a readable PEM public key.") from None
    if not isinstance(key, KEY_TYPES[algorithm]):
        raise _invalid("algorithm", f"The key is not an {algorithm} key.")
    if purpose not in PURPOSES[algorithm]:
        raise _invalid("purpose", f"{algorithm} keys cannot be used for {purpose}.")
    if isinstance(key, rsa.RSAPublicKey) and not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        raise _invalid("pem", f"RSA keys must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits "
                              f"(this one has {key.key_size}).")
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    canonical = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return canonical.decode(), hashlib.sha256(der).hexdigest()


def _refuse_private_key(data: bytes) -> None:
    message = "This is a private key: never upload it. Upload the public key only."
    if b"PRIVATE KEY" in data:
        raise _invalid("pem", message)
    try:
        serialization.load_pem_private_key(data, password=None)
    except TypeError:  # an encrypted private key (it wants a password)
        raise _invalid("pem", message) from None
    except (ValueError, UnsupportedAlgorithm):
        return  # not a private key
    raise _invalid("pem", message)


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, errors={field: [message]})


def register_key(session: Session, user_id: uuid.UUID, *, purpose: str, algorithm: str, pem: str) -> PublicKey:
    """Register a public key as the user's active key for `purpose`, deactivating the previous one."""
    canonical_pem, fingerprint = parse_public_key(pem, purpose=purpose, algorithm=algorithm)
    if session.get(User, user_id, with_for_update=True) is None:  # the lock serialises one user's rotations
        raise NotFound("no such user")
    if session.get(PublicKey, fingerprint) is not None:
        raise Conflict("this key is already registered")
    previous = session.scalars(sa.select(PublicKey).where(
        PublicKey.user_id == user_id, PublicKey.purpose == purpose, PublicKey.active)).first()
    if previous is not None:
        _deactivate(session, previous)
        session.flush()  # one active key per purpose: the old one is off before the new one is on
    key = PublicKey(fingerprint=fingerprint, user_id=user_id, purpose=purpose, algorithm=algorithm,
                    pem=canonical_pem, active=True, created_at=dt.datetime.now(dt.UTC))
    session.add(key)
    publish(session, "auth.key.registered", {
        "user_id": user_id, "fingerprint": fingerprint, "purpose": purpose, "algorithm": algorithm,
        "pem": canonical_pem, "created_at": key.created_at})
    try:
        session.commit()
    except IntegrityError:  # the same key registered concurrently
        session.rollback()
        raise Conflict("this key is already registered") from None
    return key


def _deactivate(session: Session, key: PublicKey) -> None:
    key.active = False
    key.deactivated_at = dt.datetime.now(dt.UTC)
    publish(session, "auth.key.revoked", {
        "user_id": key.user_id, "fingerprint": key.fingerprint, "purpose": key.purpose,
        "deactivated_at": key.deactivated_at})


def revoke_key(session: Session, fingerprint: str, *, owner_id: uuid.UUID) -> PublicKey:
    """Deactivate one of the owner's keys (kept listed, for verifying old messages)."""
    key = session.get(PublicKey, fingerprint.lower(), with_for_update=True)
    if key is None:
        raise NotFound("no such key")
    if key.user_id != owner_id:
        raise Forbidden("only the key's owner can revoke it")
    if not key.active:
        raise Conflict("the key is already revoked")
    _deactivate(session, key)
    session.commit()
    return key


def get_key(session: Session, fingerprint: str) -> PublicKey:
    key = session.get(PublicKey, fingerprint.lower())
    if key is None:
        raise NotFound("no such key")
    return key


def list_user_keys(session: Session, user_id: uuid.UUID, *, active: bool | None, limit: int,
                   cursor: list | None) -> dict[str, Any]:
    """A user's keys, active and historic (or only one kind), newest first, a page at a time."""
    if session.get(User, user_id) is None:
        raise NotFound("no such user")
    query = sa.select(PublicKey).where(PublicKey.user_id == user_id)
    if active is not None:
        query = query.where(PublicKey.active.is_(active))
    return keyset_page(session, query, keys=[PublicKey.created_at, PublicKey.fingerprint], descending=True,
                       limit=limit, cursor=cursor)
