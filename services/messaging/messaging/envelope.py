"""Checking what a client signed: an end-to-end envelope, or a standard message's optional signature.

The format is docs/e2e-envelope.md; this module implements the server's side of it from that
document alone (a service never imports client code), and docs/e2e-vectors.json is the test of
both sides. The server holds no private key and no content key, so it checks what can be checked
without them: the form (exact members and types, canonical base64, lengths), that the envelope
names the conversation it is sent to and the sender's active signing key, that it wraps the
content key for exactly the current participants' active encryption keys, and the signature. A
wrapped key or ciphertext that does not decrypt is beyond it; the signature covers both, so only
the sender can have made them, and every reader detects them.

Pure functions: the caller looks the keys up (messaging's read model of auth's key registry) and
passes them in. Refusals are `Invalid` with `errors` keyed by the envelope's top-level member.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from servicekit.errors import Invalid

MEMBERS = ("v", "conversation_id", "message_id", "sender_key", "nonce", "ciphertext", "recipients", "signature")
MAX_CIPHERTEXT_BYTES = 64 * 1024      # decoded, the GCM tag included
MIN_CIPHERTEXT_BYTES = 16             # the tag alone
MAX_RECIPIENTS = 1000
NONCE_BYTES = 12
EPHEMERAL_KEY_BYTES = 32
X25519_WRAPPED_BYTES = 48             # a 32-byte content key and the 16-byte tag
ED25519_SIGNATURE_BYTES = 64
ALGS = {"x25519": "x25519-hkdf-sha256-aes256gcm", "rsa": "rsa-oaep-sha256"}   # encryption key type -> alg

# Exactly the registry's RSA-PSS (docs/key-registration.md): SHA-256, MGF1-SHA-256, 32-byte salt.
RSA_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID_V4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


class KeyRecord(NamedTuple):
    """A registered public key, as messaging's read model holds it."""

    fingerprint: str
    algorithm: str    # ed25519 | rsa (signing); x25519 | rsa (encryption)
    pem: str


class CheckedEnvelope(NamedTuple):
    message_id: uuid.UUID
    sender_key: str
    signed_bytes: bytes
    content_sha256: str    # SHA-256 (hex) of the signed bytes: what the ledger records


class CheckedSignature(NamedTuple):
    message_id: uuid.UUID
    sender_key: str
    signed_bytes: bytes


def check_envelope(envelope: Any, *, conversation_id: uuid.UUID, sender: KeyRecord | None,
                   participants: Mapping[uuid.UUID, KeyRecord | None]) -> CheckedEnvelope:
    """Check an e2e envelope sent to `conversation_id`.

    `sender` is the sender's active signing key (None: they have none); `participants` maps every
    current participant, the sender included, to their active encryption key (None: they have none).
    `Invalid` names every member at fault; the signature is verified once the rest is right.
    """
    _check_members(envelope)
    errors = _Errors()
    if type(envelope["v"]) is not int or envelope["v"] != 1:
        errors.add("v", "Must be the integer 1: this server accepts envelope version 1 only.")
    _check_conversation(envelope["conversation_id"], conversation_id, errors)
    if not _matches(_UUID_V4, envelope["message_id"]):
        errors.add("message_id", "Must be a lowercase hyphenated version-4 UUID.")
    _check_sender_key(envelope["sender_key"], sender, errors)
    nonce = _decode(envelope["nonce"], "nonce", errors)
    if nonce is not None and len(nonce) != NONCE_BYTES:
        errors.add("nonce", f"Must be {NONCE_BYTES} bytes, not {len(nonce)}.")
    ciphertext = _decode(envelope["ciphertext"], "ciphertext", errors)
    if ciphertext is not None and not MIN_CIPHERTEXT_BYTES <= len(ciphertext) <= MAX_CIPHERTEXT_BYTES:
        errors.add("ciphertext", f"Must be {MIN_CIPHERTEXT_BYTES} to {MAX_CIPHERTEXT_BYTES} bytes "
                                 f"(the GCM tag included), not {len(ciphertext)}.")
    _check_recipients(envelope["recipients"], participants, errors)
    signature = _decode(envelope["signature"], "signature", errors)
    if errors:
        raise errors.invalid()

    signed = _envelope_signed_bytes(envelope)
    _verify(sender, signature, signed, errors)
    if errors:
        raise errors.invalid()
    return CheckedEnvelope(uuid.UUID(envelope["message_id"]), envelope["sender_key"], signed,
                           hashlib.sha256(signed).hexdigest())


def check_message_signature(*, body: str, conversation_id: uuid.UUID, message_id: uuid.UUID, sender_key: Any,
                            signature: Any, sender: KeyRecord | None) -> CheckedSignature:
    """Check the optional client signature of a standard message (docs/e2e-envelope.md §11).

    `Invalid` names `message_id` (not version 4), `sender_key` (not the sender's active signing key),
    `signature` (not canonical base64, or not the sender's signature of this body in this conversation)
    or `body`.
    """
    errors = _Errors()
    if message_id.version != 4:
        errors.add("message_id", "A signed message's id is a version-4 (random) UUID chosen by the client.")
    _check_sender_key(sender_key, sender, errors)
    decoded = _decode(signature, "signature", errors)
    try:
        body_bytes = body.encode("utf-8")
    except UnicodeEncodeError:
        errors.add("body", "Not valid Unicode text (it holds a lone surrogate), so it cannot be signed.")
    if errors:
        raise errors.invalid()
    signed = "\n".join(["BeYou message v1", str(conversation_id), str(message_id), sender_key,
                        base64.b64encode(body_bytes).decode("ascii")]).encode()
    _verify(sender, decoded, signed, errors)
    if errors:
        raise errors.invalid()
    return CheckedSignature(message_id, sender_key, signed)


# --- the members -------------------------------------------------------------------------------

def _check_members(envelope: Any) -> None:
    """An object with exactly the members of a v1 envelope, or `Invalid` naming the odd ones."""
    if not isinstance(envelope, Mapping):
        raise Invalid("An envelope is a JSON object.", errors={"envelope": ["An envelope is a JSON object."]})
    errors = _Errors()
    for name in sorted(set(envelope) - set(MEMBERS), key=str):
        errors.add(str(name), "Not a member of a v1 envelope (docs/e2e-envelope.md).")
    for name in MEMBERS:
        if name not in envelope:
            errors.add(name, "Missing.")
    if errors:
        raise errors.invalid()


def _check_conversation(value: Any, conversation_id: uuid.UUID, errors: _Errors) -> None:
    if not _matches(_UUID, value):
        errors.add("conversation_id", "Must be a lowercase hyphenated UUID.")
    elif value != str(conversation_id):
        errors.add("conversation_id", f"This envelope was signed for conversation {value}, "
                                      f"not for {conversation_id}, where it is being sent.")


def _check_sender_key(value: Any, sender: KeyRecord | None, errors: _Errors) -> None:
    if not _matches(_FINGERPRINT, value):
        errors.add("sender_key", "Must be a key fingerprint: 64 lowercase hex digits.")
    elif sender is None:
        errors.add("sender_key", "You have no active signing key: register one (docs/key-registration.md).")
    elif value != sender.fingerprint:
        errors.add("sender_key", f"{value} is not your active signing key ({sender.fingerprint}).")


def _check_recipients(recipients: Any, participants: Mapping[uuid.UUID, KeyRecord | None],
                      errors: _Errors) -> None:
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        errors.add("recipients", f"Must be an array of 1 to {MAX_RECIPIENTS} entries.")
        return
    expected = {key.fingerprint: key for key in participants.values() if key is not None}
    listed: set[str] = set()
    for index, entry in enumerate(recipients):
        fingerprint = _check_entry(index, entry, expected, errors)
        if fingerprint is None:
            continue
        if fingerprint in listed:
            errors.add("recipients", f"recipients[{index}]: key {fingerprint} is listed more than once.")
        listed.add(fingerprint)
    for user_id, key in participants.items():
        if key is None:
            errors.add("recipients", f"Participant {user_id} has no active encryption key: no end-to-end "
                                     "message can be sent here until they register one.")
        elif key.fingerprint not in listed:
            errors.add("recipients", f"No wrapped key for participant {user_id}'s active encryption key "
                                     f"{key.fingerprint}.")
    for fingerprint in sorted(listed - set(expected)):
        errors.add("recipients", f"{fingerprint} is not a current participant's active encryption key "
                                 "(a stale key, a former member's, or anyone else's).")


def _check_entry(index: int, entry: Any, expected: Mapping[str, KeyRecord], errors: _Errors) -> str | None:
    """The entry's fingerprint once its form is right (its key's type and lengths too, when the key is
    a participant's); None after adding what is wrong."""
    where = f"recipients[{index}]"
    if not isinstance(entry, Mapping):
        errors.add("recipients", f"{where}: must be an object.")
        return None
    alg = entry.get("alg")
    members = {"key", "alg", "wrapped_key"} | ({"ephemeral_key"} if alg == ALGS["x25519"] else set())
    if alg not in ALGS.values():
        errors.add("recipients", f"{where}.alg: must be one of {sorted(ALGS.values())}.")
        return None
    if set(entry) != members:
        errors.add("recipients", f"{where}: an entry with alg {alg} has exactly the members {sorted(members)}.")
        return None
    if not _matches(_FINGERPRINT, entry["key"]):
        errors.add("recipients", f"{where}.key: must be a key fingerprint: 64 lowercase hex digits.")
        return None
    if "ephemeral_key" in entry:
        ephemeral = _decode(entry["ephemeral_key"], "recipients", errors, where=f"{where}.ephemeral_key")
        if ephemeral is not None and len(ephemeral) != EPHEMERAL_KEY_BYTES:
            errors.add("recipients", f"{where}.ephemeral_key: must be {EPHEMERAL_KEY_BYTES} bytes, "
                                     f"not {len(ephemeral)}.")
    wrapped = _decode(entry["wrapped_key"], "recipients", errors, where=f"{where}.wrapped_key")
    key = expected.get(entry["key"])
    if key is not None and alg != ALGS.get(key.algorithm):
        errors.add("recipients", f"{where}.alg: key {key.fingerprint} is an {key.algorithm} key, "
                                 f"so its alg is {ALGS.get(key.algorithm)}, not {alg}.")
    elif wrapped is not None:
        length = _wrapped_length(alg, key)
        if length is not None and len(wrapped) != length:
            errors.add("recipients", f"{where}.wrapped_key: must be {length} bytes, not {len(wrapped)}.")
    return entry["key"]


def _wrapped_length(alg: str, key: KeyRecord | None) -> int | None:
    """How long a wrapped key must be: fixed for X25519, the modulus length of the recipient's RSA key
    (unknown for a key that is no participant's: that entry is refused anyway)."""
    if alg == ALGS["x25519"]:
        return X25519_WRAPPED_BYTES
    return None if key is None else (_public_key(key.pem).key_size + 7) // 8


# --- the signature -----------------------------------------------------------------------------

def _envelope_signed_bytes(envelope: Mapping[str, Any]) -> bytes:
    lines = ["BeYou e2e envelope v1", envelope["conversation_id"], envelope["message_id"], envelope["sender_key"],
             envelope["nonce"], envelope["ciphertext"]]
    for entry in sorted(envelope["recipients"], key=lambda entry: entry["key"]):
        lines.append(":".join((entry["key"], entry["alg"], entry.get("ephemeral_key", ""), entry["wrapped_key"])))
    return "\n".join(lines).encode()


def _verify(sender: KeyRecord, signature: bytes, signed: bytes, errors: _Errors) -> None:
    key = _public_key(sender.pem)
    expected_length = (key.key_size + 7) // 8 if isinstance(key, rsa.RSAPublicKey) else ED25519_SIGNATURE_BYTES
    if len(signature) != expected_length:
        errors.add("signature", f"A signature by key {sender.fingerprint} is {expected_length} bytes, "
                                f"not {len(signature)}.")
        return
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, RSA_PSS, hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signed)
        else:
            raise InvalidSignature
    except InvalidSignature:
        errors.add("signature", f"Not a valid signature by your active signing key {sender.fingerprint} of "
                                "the signed bytes (docs/e2e-envelope.md): something changed after signing.")


@functools.lru_cache(maxsize=4096)
def _public_key(pem: str) -> Any:
    """A registered key, parsed once per process (keys are immutable; parsing is per-message work otherwise)."""
    return serialization.load_pem_public_key(pem.encode())


# --- encodings ---------------------------------------------------------------------------------

def _decode(value: Any, field: str, errors: _Errors, *, where: str | None = None) -> bytes | None:
    """Canonical base64 (RFC 4648 §4, with padding) only: what re-encodes to exactly `value`."""
    try:
        decoded = base64.b64decode(value, validate=True) if isinstance(value, str) else None
    except (binascii.Error, ValueError):
        decoded = None
    if decoded is None or base64.b64encode(decoded).decode("ascii") != value:
        prefix = f"{where}: " if where else ""
        errors.add(field, f"{prefix}Must be canonical base64 (RFC 4648 §4: standard alphabet, with padding, "
                          "no whitespace).")
        return None
    return decoded


def _matches(pattern: re.Pattern, value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


class _Errors:
    """Messages by member, as problem+json's `errors`."""

    def __init__(self) -> None:
        self.by_member: dict[str, list[str]] = {}

    def add(self, member: str, message: str) -> None:
        self.by_member.setdefault(member, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_member)

    def invalid(self) -> Invalid:
        return Invalid("The signed message is refused; see errors (docs/e2e-envelope.md).", errors=self.by_member)
