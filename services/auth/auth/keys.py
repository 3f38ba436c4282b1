"""The public-key registry for end-to-end messaging.

A user registers one active key per purpose (signing, encryption); registering a
new one deactivates the old, which stays listed for verifying old messages.
Private keys never reach the server: a PEM that holds one is refused.

Registration proves possession (docs/key-registration.md), or else anyone could
register someone else's public key first and, the fingerprint being unique, lock
its owner out. The client asks for a challenge bound to the user and signs a
statement naming the challenge, the purpose and the key's fingerprint: a signing
key signs its own statement; an encryption key (an X25519 key cannot sign) is
vouched for by the user's active signing key. Like the proof-of-work challenge,
the challenge is stateless and signed until it is spent; spending records its id.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import uuid
from typing import Any, NamedTuple

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, x25519
from itsdangerous import BadSignature, URLSafeSerializer
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth.models import PublicKey, SpentKeyChallenge, User

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192  # far beyond any need; larger keys only make every signature check slow
KEY_TYPES = {"rsa": rsa.RSAPublicKey, "ed25519": ed25519.Ed25519PublicKey, "x25519": x25519.X25519PublicKey}
PURPOSES = {"rsa": {"signing", "encryption"}, "ed25519": {"signing"}, "x25519": {"encryption"}}

CHALLENGE_TTL_SECONDS = 300
STATEMENT_HEADER = "BeYou key registration v1"
# RSA signatures are RSASSA-PSS, SHA-256, MGF1-SHA-256, a salt as long as the digest: what
# Web Crypto's {name: "RSA-PSS", saltLength: 32} produces. Exactly this; no auto-detected salt.
RSA_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
_CHALLENGE_SALT = "beyou.auth.key-registration-challenge"


class CheckedKey(NamedTuple):
    key: Any           # a cryptography public key of one of KEY_TYPES
    pem: str           # canonical PEM (SubjectPublicKeyInfo)
    fingerprint: str   # SHA-256 hex of the DER SubjectPublicKeyInfo


def parse_public_key(pem: str, *, purpose: str, algorithm: str) -> CheckedKey:
    """Validate a public key for `purpose` and `algorithm`.

    `Invalid` (422) for a private key, an unreadable PEM, a wrong algorithm or purpose,
    an RSA key outside the size bounds.
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
    return CheckedKey(key, canonical.decode(), hashlib.sha256(der).hexdigest())


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


# --- proof of possession -----------------------------------------------------------------

def issue_registration_challenge(secret_key: str, user_id: uuid.UUID, *, ttl_seconds: int = CHALLENGE_TTL_SECONDS,
                                 now: dt.datetime | None = None) -> dict:
    """A challenge for `user_id` to sign when registering one key: {challenge, expires_at}.

    The challenge is an opaque ASCII token that carries (and signs) its id, its user and its expiry.
    """
    issued_at = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    expires_at = issued_at + dt.timedelta(seconds=ttl_seconds)
    token = URLSafeSerializer(secret_key, salt=_CHALLENGE_SALT).dumps(
        {"id": str(uuid.uuid4()), "user": str(user_id), "exp": int(expires_at.timestamp())})
    return {"challenge": token, "expires_at": expires_at}


def registration_statement(challenge: str, purpose: str, fingerprint: str) -> bytes:
    """The exact bytes a registration's signature covers (docs/key-registration.md)."""
    return f"{STATEMENT_HEADER}\n{challenge}\n{purpose}\n{fingerprint}".encode()


def _read_challenge(secret_key: str, challenge: str, *, user_id: uuid.UUID,
                    now: dt.datetime) -> tuple[uuid.UUID, dt.datetime]:
    """The id and expiry of a challenge this server issued to `user_id` and that is still valid."""
    try:
        claims = URLSafeSerializer(secret_key, salt=_CHALLENGE_SALT).loads(challenge)
        challenge_id, issued_to = uuid.UUID(claims["id"]), uuid.UUID(claims["user"])
        expires_at = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
    except (BadSignature, KeyError, TypeError, ValueError):
        raise _invalid("challenge", "This challenge was not issued by this server; "
                                    "ask for one with POST /api/auth/keys/challenge.") from None
    if issued_to != user_id:
        raise _invalid("challenge", "This challenge was issued to another user.")
    if expires_at <= now:
        raise _invalid("challenge", "This challenge has expired; ask for a new one.")
    return challenge_id, expires_at


def _spend_challenge(session: Session, challenge_id: uuid.UUID, expires_at: dt.datetime, now: dt.datetime) -> None:
    """Record the challenge as used, in the caller's transaction; `Invalid` if it already was.

    (The worker's purge forgets it once it has expired: an expired challenge is refused anyway.)
    """
    spent = session.execute(insert(SpentKeyChallenge).values(id=challenge_id, expires_at=expires_at)
                            .on_conflict_do_nothing().returning(SpentKeyChallenge.id)).first()
    if spent is None:
        raise _invalid("challenge", "This challenge has already been used; ask for a new one.")


def _decode_signature(signature: str) -> bytes:
    try:
        return base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("signature", "The signature is not standard base64 (RFC 4648, with padding).") from None


def _signer_of(session: Session, user_id: uuid.UUID, checked: CheckedKey, purpose: str) -> tuple[Any, str]:
    """The public key that must have signed the statement, and how to name it in a refusal."""
    if purpose == "signing":
        return checked.key, "the key being registered"
    signing = session.scalars(sa.select(PublicKey).where(
        PublicKey.user_id == user_id, PublicKey.purpose == "signing", PublicKey.active)).first()
    if signing is None:
        message = ("An encryption key is registered with a signature by your active signing key, "
                   "and you have none: register a signing key first.")
        raise Conflict(message, errors={"signature": [message]})
    return serialization.load_pem_public_key(signing.pem.encode()), f"your active signing key {signing.fingerprint}"


def _verifies(public_key: Any, signature: bytes, statement: bytes) -> bool:
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, statement, RSA_PSS, hashes.SHA256())
        else:
            public_key.verify(signature, statement)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- the registry ------------------------------------------------------------------------

def register_key(session: Session, user_id: uuid.UUID, *, purpose: str, algorithm: str, pem: str, challenge: str,
                 signature: str, secret_key: str) -> PublicKey:
    """Register a public key as the user's active key for `purpose`, deactivating the previous one.

    `signature` signs `registration_statement(challenge, purpose, fingerprint)`: by the key itself
    for a signing key, by the user's active signing key for an encryption key.
    """
    now = dt.datetime.now(dt.UTC)
    checked = parse_public_key(pem, purpose=purpose, algorithm=algorithm)
    signature_bytes = _decode_signature(signature)
    challenge_id, expires_at = _read_challenge(secret_key, challenge, user_id=user_id, now=now)
    if session.get(User, user_id, with_for_update=True) is None:  # the lock serialises one user's rotations
        raise NotFound("no such user")
    signer, signer_name = _signer_of(session, user_id, checked, purpose)
    if not _verifies(signer, signature_bytes, registration_statement(challenge, purpose, checked.fingerprint)):
        raise _invalid("signature", f"The signature is not {signer_name}'s signature of this registration's "
                                    "statement (see docs/key-registration.md).")
    if session.get(PublicKey, checked.fingerprint) is not None:
        raise Conflict("this key is already registered")
    _spend_challenge(session, challenge_id, expires_at, now)
    key = _activate(session, user_id, checked, purpose=purpose, algorithm=algorithm, now=now)
    try:
        session.commit()
    except IntegrityError:  # the same key registered concurrently
        session.rollback()
        raise Conflict("this key is already registered") from None
    return key


def _activate(session: Session, user_id: uuid.UUID, checked: CheckedKey, *, purpose: str, algorithm: str,
              now: dt.datetime) -> PublicKey:
    """Add the key as the active one of its purpose, the previous one deactivated; both events published."""
    previous = session.scalars(sa.select(PublicKey).where(
        PublicKey.user_id == user_id, PublicKey.purpose == purpose, PublicKey.active)).first()
    if previous is not None:
        _deactivate(session, previous)
        session.flush()  # one active key per purpose: the old one is off before the new one is on
    key = PublicKey(fingerprint=checked.fingerprint, user_id=user_id, purpose=purpose, algorithm=algorithm,
                    pem=checked.pem, active=True, created_at=now)
    session.add(key)
    publish(session, "auth.key.registered", {
        "user_id": user_id, "fingerprint": checked.fingerprint, "purpose": purpose, "algorithm": algorithm,
        "pem": checked.pem, "created_at": key.created_at})
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
