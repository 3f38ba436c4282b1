"""The ledger's leaves: the canonical bytes of each record the log holds (docs/ledger-formats.md §2).

A leaf is what the Merkle tree hashes (leaf hash = SHA-256(0x00 ‖ leaf)) and what the entry
bundles serve, so its bytes are a public contract: anyone holding a message id, a content hash or
a key can rebuild the leaf and check its inclusion. Every leaf starts with a kind byte and a version
byte, so a reader knows what follows and a later version never reinterprets an old leaf. The fields
are fixed-width (only a key's DER has a length prefix), so a record has exactly one encoding: a
decoder refuses anything `encode_leaf` would not have produced.

Pure functions, no database: the caller turns event payloads into these dataclasses.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import uuid
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa, x25519

KIND_MESSAGE = 1
KIND_KEY_REGISTERED = 2
KIND_KEY_REVOKED = 3
VERSION = 1
MAX_LEAF_BYTES = 65535  # an entry bundle prefixes each leaf with a uint16 length (C2SP tlog-tiles)

Purpose = Literal["signing", "encryption"]
Algorithm = Literal["rsa", "ed25519", "x25519"]
PURPOSE_CODES = {"signing": 1, "encryption": 2}
ALGORITHM_CODES = {"rsa": 1, "ed25519": 2, "x25519": 3}
# What auth's key registry accepts: a key type, and the purposes it may serve.
KEY_TYPES = {"rsa": rsa.RSAPublicKey, "ed25519": ed25519.Ed25519PublicKey, "x25519": x25519.X25519PublicKey}
KEY_PURPOSES = {"rsa": {"signing", "encryption"}, "ed25519": {"signing"}, "x25519": {"encryption"}}

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICROSECOND = dt.timedelta(microseconds=1)
_HEX64 = re.compile(r"[0-9a-f]{64}")


class LeafError(ValueError):
    """Bytes that are not a leaf, or a record that cannot be one."""


@dataclasses.dataclass(frozen=True)
class MessageLeaf:
    """A message the messaging service stored (its `messaging.message.created` event)."""

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    content_sha256: str                 # 64 lowercase hex digits
    signature_fingerprint: str | None   # the sender's signing key, for a signed message
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class KeyRegisteredLeaf:
    """A public key registered in auth's key registry (`auth.key.registered`)."""

    user_id: uuid.UUID
    fingerprint: str                    # SHA-256 hex of `der`
    purpose: Purpose
    algorithm: Algorithm
    created_at: dt.datetime
    der: bytes                          # the key's DER SubjectPublicKeyInfo


@dataclasses.dataclass(frozen=True)
class KeyRevokedLeaf:
    """A public key deactivated in auth's key registry (`auth.key.revoked`)."""

    user_id: uuid.UUID
    fingerprint: str
    purpose: Purpose
    deactivated_at: dt.datetime


Leaf = MessageLeaf | KeyRegisteredLeaf | KeyRevokedLeaf


# --- times ----------------------------------------------------------------------------------

def to_micros(value: dt.datetime) -> int:
    """Whole microseconds since the Unix epoch; ValueError for a naive time or one before 1970."""
    if not isinstance(value, dt.datetime):
        raise ValueError("not a datetime")
    if value.utcoffset() is None:
        raise ValueError("a naive datetime: give it a time zone (UTC)")
    micros = (value - EPOCH) // _MICROSECOND
    if micros < 0:
        raise ValueError("before 1970-01-01T00:00:00Z")
    return micros


def from_micros(micros: int) -> dt.datetime:
    """The UTC time `micros` microseconds after the Unix epoch; ValueError beyond year 9999."""
    try:
        return EPOCH + dt.timedelta(microseconds=micros)
    except OverflowError:
        raise ValueError(f"{micros} µs is beyond the last representable time") from None


# --- encoding -------------------------------------------------------------------------------

def encode_leaf(leaf: Leaf) -> bytes:
    """The leaf's canonical bytes; LeafError if the record is not a valid leaf."""
    if isinstance(leaf, MessageLeaf):
        data = _encode_message(leaf)
    elif isinstance(leaf, KeyRegisteredLeaf):
        data = _encode_key_registered(leaf)
    elif isinstance(leaf, KeyRevokedLeaf):
        data = _encode_key_revoked(leaf)
    else:
        raise LeafError(f"not a leaf: {type(leaf).__name__}")
    if len(data) > MAX_LEAF_BYTES:
        raise LeafError(f"the leaf would be {len(data)} bytes; at most {MAX_LEAF_BYTES}")
    return data


def _encode_message(leaf: MessageLeaf) -> bytes:
    if leaf.signature_fingerprint is None:
        signature = b"\x00"
    else:
        signature = b"\x01" + _hex32(leaf.signature_fingerprint, "signature_fingerprint")
    return b"".join((bytes((KIND_MESSAGE, VERSION)), _uuid(leaf.message_id, "message_id"),
                     _uuid(leaf.conversation_id, "conversation_id"), _uuid(leaf.sender_id, "sender_id"),
                     _hex32(leaf.content_sha256, "content_sha256"), signature, _time(leaf.created_at, "created_at")))


def _encode_key_registered(leaf: KeyRegisteredLeaf) -> bytes:
    purpose, algorithm = _purpose_code(leaf.purpose), _algorithm_code(leaf.algorithm)
    fingerprint = _hex32(leaf.fingerprint, "fingerprint")
    _check_key(leaf)
    return b"".join((bytes((KIND_KEY_REGISTERED, VERSION)), _uuid(leaf.user_id, "user_id"), fingerprint,
                     bytes((purpose, algorithm)), _time(leaf.created_at, "created_at"),
                     len(leaf.der).to_bytes(2, "big"), leaf.der))


def _encode_key_revoked(leaf: KeyRevokedLeaf) -> bytes:
    return b"".join((bytes((KIND_KEY_REVOKED, VERSION)), _uuid(leaf.user_id, "user_id"),
                     _hex32(leaf.fingerprint, "fingerprint"), bytes((_purpose_code(leaf.purpose),)),
                     _time(leaf.deactivated_at, "deactivated_at")))


def _uuid(value: uuid.UUID, field: str) -> bytes:
    if not isinstance(value, uuid.UUID):
        raise LeafError(f"{field} must be a UUID")
    return value.bytes


def _hex32(value: str, field: str) -> bytes:
    # Lowercase only: the decoder gives lowercase back, so one record has one spelling.
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise LeafError(f"{field} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


def _time(value: dt.datetime, field: str) -> bytes:
    try:
        return to_micros(value).to_bytes(8, "big")
    except ValueError as error:
        raise LeafError(f"{field}: {error}") from None


def _purpose_code(purpose: str) -> int:
    if purpose not in PURPOSE_CODES:
        raise LeafError(f"purpose must be one of {', '.join(PURPOSE_CODES)}")
    return PURPOSE_CODES[purpose]


def _algorithm_code(algorithm: str) -> int:
    if algorithm not in ALGORITHM_CODES:
        raise LeafError(f"algorithm must be one of {', '.join(ALGORITHM_CODES)}")
    return ALGORITHM_CODES[algorithm]


def _check_key(leaf: KeyRegisteredLeaf) -> None:
    """The DER is the canonical SubjectPublicKeyInfo of a key of that algorithm, for that purpose,
    and the fingerprint names it: a leaf cannot bind a fingerprint to some other key."""
    if leaf.purpose not in KEY_PURPOSES[leaf.algorithm]:
        raise LeafError(f"an {leaf.algorithm} key cannot be used for {leaf.purpose}")
    if not isinstance(leaf.der, bytes):
        raise LeafError("der must be bytes")
    if hashlib.sha256(leaf.der).hexdigest() != leaf.fingerprint:
        raise LeafError("the fingerprint is not SHA-256 of the key's DER")
    try:
        key = serialization.load_der_public_key(leaf.der)
    except (ValueError, UnsupportedAlgorithm):
        raise LeafError("der is not a DER SubjectPublicKeyInfo") from None
    if not isinstance(key, KEY_TYPES[leaf.algorithm]):
        raise LeafError(f"der is not an {leaf.algorithm} key")
    if key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != leaf.der:
        raise LeafError("der is not in canonical form (as key_der_from_pem gives it)")


def key_der_from_pem(pem: str) -> bytes:
    """The DER SubjectPublicKeyInfo of a PEM public key (auth's events carry PEM, leaves DER).

    The key is re-serialized, so the result is the canonical DER whose SHA-256 is auth's fingerprint.
    """
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise LeafError("not a readable PEM public key") from None
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- decoding -------------------------------------------------------------------------------

def decode_leaf(data: bytes) -> Leaf:
    """The record a leaf's bytes encode; LeafError unless `data` is exactly what `encode_leaf` gives."""
    data = bytes(data)
    if len(data) > MAX_LEAF_BYTES:
        raise LeafError(f"a leaf is at most {MAX_LEAF_BYTES} bytes; this is {len(data)}")
    reader = _Reader(data)
    kind, version = reader.byte(), reader.byte()
    decoders = {KIND_MESSAGE: _decode_message, KIND_KEY_REGISTERED: _decode_key_registered,
                KIND_KEY_REVOKED: _decode_key_revoked}
    if kind not in decoders:
        raise LeafError(f"unknown leaf kind {kind}")
    if version != VERSION:
        raise LeafError(f"unknown version {version} of leaf kind {kind}")
    leaf = decoders[kind](reader)
    reader.end()
    return leaf


def _decode_message(reader: _Reader) -> MessageLeaf:
    message_id, conversation_id, sender_id = reader.uuid(), reader.uuid(), reader.uuid()
    content_sha256 = reader.hex32()
    flag = reader.byte()
    if flag not in (0, 1):
        raise LeafError(f"unknown signature flag {flag}")
    signature_fingerprint = reader.hex32() if flag == 1 else None
    return MessageLeaf(message_id, conversation_id, sender_id, content_sha256, signature_fingerprint, reader.time())


def _decode_key_registered(reader: _Reader) -> KeyRegisteredLeaf:
    user_id, fingerprint = reader.uuid(), reader.hex32()
    purpose, algorithm = reader.purpose(), reader.code(ALGORITHM_CODES, "algorithm")
    created_at = reader.time()
    der = reader.take(int.from_bytes(reader.take(2), "big"))
    leaf = KeyRegisteredLeaf(user_id, fingerprint, purpose, algorithm, created_at, der)
    _check_key(leaf)
    return leaf


def _decode_key_revoked(reader: _Reader) -> KeyRevokedLeaf:
    return KeyRevokedLeaf(reader.uuid(), reader.hex32(), reader.purpose(), reader.time())


class _Reader:
    """Reads a leaf front to back; running short or leaving bytes over is a LeafError."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise LeafError("the leaf is too short")
        chunk = self.data[self.at:self.at + count]
        self.at += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.take(16))

    def hex32(self) -> str:
        return self.take(32).hex()

    def code(self, codes: dict[str, int], field: str) -> str:
        value = self.byte()
        for name, code in codes.items():
            if code == value:
                return name
        raise LeafError(f"unknown {field} code {value}")

    def purpose(self) -> str:
        return self.code(PURPOSE_CODES, "purpose")

    def time(self) -> dt.datetime:
        micros = int.from_bytes(self.take(8), "big")
        try:
            return from_micros(micros)
        except ValueError as error:
            raise LeafError(str(error)) from None

    def end(self) -> None:
        if self.at != len(self.data):
            raise LeafError(f"{len(self.data) - self.at} bytes after the end of the leaf")
