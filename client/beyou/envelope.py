"""The end-to-end envelope, v1 (docs/e2e-envelope.md): seal a message for a conversation, open one.

`seal` encrypts the message under a fresh AES-256-GCM content key bound to the conversation and
the message id, wraps that key for every participant's encryption key (the sender's own included:
X25519 by ephemeral ECDH + HKDF-SHA256 + AES-256-GCM, RSA by OAEP-SHA256) and signs the canonical
bytes with the sender's signing key (Ed25519, or RSA-PSS-SHA256). `open_envelope` reads the form
strictly, verifies the signature before anything is decrypted, then unwraps this reader's key and
decrypts. Each way an envelope can fail has its own exception, so a client can say which.

Also here: the optional signature of a standard (server-encrypted) message, and the encryption of
an e2e attachment's file. Only `cryptography` is used, and nothing here does I/O.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from beyou.keys import fingerprint, sign, verify

VERSION = 1
ENVELOPE_HEADER = "BeYou e2e envelope v1"
MESSAGE_HEADER = "BeYou message v1"
CONTENT_AAD_HEADER = "BeYou e2e v1"
WRAP_INFO_HEADER = "BeYou e2e v1 wrap"
ATTACHMENT_AAD = b"BeYou e2e attachment v1"
ALG_X25519 = "x25519-hkdf-sha256-aes256gcm"
ALG_RSA = "rsa-oaep-sha256"

MAX_CIPHERTEXT_BYTES = 64 * 1024           # decoded, the 16-byte GCM tag included
MAX_RECIPIENTS = 1000
MIN_RSA_BITS, MAX_RSA_BITS = 2048, 8192    # as the key registry (docs/key-registration.md)
KEY_BYTES, NONCE_BYTES, TAG_BYTES = 32, 12, 16

RSA_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)

_FIELDS = {"v", "conversation_id", "message_id", "sender_key", "nonce", "ciphertext", "recipients", "signature"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")

SigningPrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
SigningPublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey
EncryptionPrivateKey = x25519.X25519PrivateKey | rsa.RSAPrivateKey
EncryptionPublicKey = x25519.X25519PublicKey | rsa.RSAPublicKey


# --- what can go wrong -----------------------------------------------------------------------

class EnvelopeError(ValueError):
    """An envelope (or signed message) that cannot be trusted or read; the subclass says why."""


class MalformedEnvelope(EnvelopeError):
    """Not a v1 envelope: a missing, extra or mistyped field, non-canonical base64, a wrong length."""


class BadSignature(EnvelopeError):
    """The signature does not verify against the sender's signing key (or names another key):
    something was changed after signing, or someone else signed it. Nothing in it can be trusted."""


class Misplaced(EnvelopeError):
    """Validly signed, but for another conversation or message id than the one it was served as."""


class NotForMe(EnvelopeError):
    """The envelope wraps no content key for this reader's encryption key."""


class TamperedCiphertext(EnvelopeError):
    """Signed by the sender, yet this reader's wrapped key or the ciphertext does not decrypt:
    the sender sealed something broken (the server cannot tell; only readers can)."""


# --- values ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attachment:
    """An attachment as the plaintext names it: the uploaded file's id and how to decrypt it."""

    id: str
    key: bytes
    nonce: bytes
    name: str            # as the sender named it: never use it as a path without sanitising it
    content_type: str

    def to_json(self) -> dict:
        return {"id": self.id, "key": _b64(self.key), "nonce": _b64(self.nonce), "name": self.name,
                "content_type": self.content_type}


class EncryptedFile(NamedTuple):
    """A file encrypted for upload: upload `ciphertext`, then name the file in the message with its
    id, `key` and `nonce` (see `Attachment`)."""

    ciphertext: bytes
    key: bytes
    nonce: bytes


@dataclass(frozen=True)
class Opened:
    """A verified and decrypted envelope."""

    conversation_id: str
    message_id: str
    sender_key: str       # the fingerprint of the signing key that signed it
    body: str
    attachments: tuple[Attachment, ...]
    content_sha256: str   # what the ledger records for this message


# --- sealing -----------------------------------------------------------------------------------

def seal(body: str, attachments: Sequence[Attachment] | None = None, *, conversation_id: str | uuid.UUID,
         message_id: str | uuid.UUID | None = None, sender_signing_key: SigningPrivateKey,
         recipients: Iterable[tuple[str, EncryptionPublicKey]]) -> dict:
    """The envelope of `body` (and `attachments`) for `recipients`: (fingerprint, public encryption key)
    of every participant's active encryption key, the sender's own included.

    `message_id` defaults to a fresh UUIDv4. `ValueError` for a fingerprint that is not its key's, a
    duplicate recipient, an unsupported key, a message too large.
    """
    conversation_id = _canonical_uuid(conversation_id)
    message_id = _canonical_uuid(message_id or uuid.uuid4(), version_4=True)
    recipients = _checked_recipients(recipients)
    message = {"body": body}
    if attachments:
        message["attachments"] = [attachment.to_json() for attachment in attachments]
    plaintext = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    if len(plaintext) + TAG_BYTES > MAX_CIPHERTEXT_BYTES:
        raise ValueError(f"the message is too large to seal: {len(plaintext)} bytes of plaintext, "
                         f"at most {MAX_CIPHERTEXT_BYTES - TAG_BYTES}")
    content_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(content_key).encrypt(nonce, plaintext, content_aad(conversation_id, message_id))
    envelope = {
        "v": VERSION,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "sender_key": fingerprint(sender_signing_key.public_key()),
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
        "recipients": [wrap_content_key(content_key, fp, key, message_id=message_id) for fp, key in recipients],
    }
    envelope["signature"] = _b64(_sign(sender_signing_key, envelope_signed_bytes(envelope)))
    return envelope


def _checked_recipients(recipients: Iterable[tuple[str, EncryptionPublicKey]]) -> list[tuple[str, Any]]:
    """The recipients sorted by fingerprint (as writers list them), each checked against its key."""
    checked = sorted(recipients, key=lambda recipient: recipient[0])
    if not 1 <= len(checked) <= MAX_RECIPIENTS:
        raise ValueError(f"an envelope has 1 to {MAX_RECIPIENTS} recipients (the sender's own key included)")
    seen = set()
    for fp, key in checked:
        if fp in seen:
            raise ValueError(f"recipient {fp} is listed twice")
        seen.add(fp)
        if not isinstance(key, x25519.X25519PublicKey | rsa.RSAPublicKey):
            raise ValueError(f"recipient {fp}: an encryption key is X25519 or RSA, not {type(key).__name__}")
        _check_rsa_size(key)
        if fingerprint(key) != fp:
            raise ValueError(f"recipient {fp}: that is not this key's fingerprint ({fingerprint(key)})")
    return checked


def content_aad(conversation_id: str, message_id: str) -> bytes:
    """The associated data of the content encryption: it binds the ciphertext to where it was sent."""
    return f"{CONTENT_AAD_HEADER}\n{conversation_id}\n{message_id}".encode()


def wrap_content_key(content_key: bytes, recipient_fingerprint: str, recipient_key: EncryptionPublicKey, *,
                     message_id: str) -> dict:
    """One recipient entry: the content key wrapped for `recipient_key`."""
    if isinstance(recipient_key, rsa.RSAPublicKey):
        return {"key": recipient_fingerprint, "alg": ALG_RSA,
                "wrapped_key": _b64(recipient_key.encrypt(content_key, RSA_OAEP))}
    ephemeral = x25519.X25519PrivateKey.generate()   # one per entry: the wrap key is used once
    ephemeral_public = _raw(ephemeral.public_key())
    wrap_key = _x25519_wrap_key(ephemeral.exchange(recipient_key), ephemeral_public, _raw(recipient_key), message_id)
    wrapped = AESGCM(wrap_key).encrypt(bytes(NONCE_BYTES), content_key, recipient_fingerprint.encode())
    return {"key": recipient_fingerprint, "alg": ALG_X25519, "ephemeral_key": _b64(ephemeral_public),
            "wrapped_key": _b64(wrapped)}


def _x25519_wrap_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes, message_id: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=ephemeral_public + recipient_public,
                info=f"{WRAP_INFO_HEADER}\n{message_id}".encode())
    return hkdf.derive(shared)


def encrypt_attachment(data: bytes) -> EncryptedFile:
    """Encrypt a file for an e2e conversation under its own fresh key."""
    key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(NONCE_BYTES)
    return EncryptedFile(AESGCM(key).encrypt(nonce, data, ATTACHMENT_AAD), key, nonce)


def decrypt_attachment(attachment: Attachment, ciphertext: bytes) -> bytes:
    """The file `attachment` names, from the ciphertext downloaded for it; `TamperedCiphertext` if it
    is not that file (changed, truncated, or another one)."""
    try:
        return AESGCM(attachment.key).decrypt(attachment.nonce, ciphertext, ATTACHMENT_AAD)
    except InvalidTag:
        raise TamperedCiphertext(f"attachment {attachment.id} does not decrypt: it was changed or replaced") from None


# --- the signed bytes ----------------------------------------------------------------------------

def envelope_signed_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The canonical bytes an envelope's signature covers (of an envelope whose form is valid)."""
    lines = [ENVELOPE_HEADER, envelope["conversation_id"], envelope["message_id"], envelope["sender_key"],
             envelope["nonce"], envelope["ciphertext"]]
    for entry in sorted(envelope["recipients"], key=lambda entry: entry["key"]):
        lines.append(f'{entry["key"]}:{entry["alg"]}:{entry.get("ephemeral_key", "")}:{entry["wrapped_key"]}')
    return "\n".join(lines).encode()


def content_sha256(envelope: Mapping[str, Any]) -> str:
    """What the ledger records for an e2e message: SHA-256 (hex) of its signed bytes."""
    return hashlib.sha256(envelope_signed_bytes(envelope)).hexdigest()


def message_signed_bytes(*, conversation_id: str, message_id: str, sender_key: str, body: str) -> bytes:
    """The canonical bytes a standard message's optional signature covers."""
    return "\n".join([MESSAGE_HEADER, conversation_id, message_id, sender_key, _b64(body.encode())]).encode()


# --- opening ---------------------------------------------------------------------------------------

def open_envelope(envelope: Mapping[str, Any], *, my_encryption_key: EncryptionPrivateKey,
                  my_fingerprint: str | None = None, sender_public_signing_key: SigningPublicKey,
                  conversation_id: str | uuid.UUID | None = None,
                  message_id: str | uuid.UUID | None = None) -> Opened:
    """Verify and decrypt `envelope` with this reader's private encryption key.

    `sender_public_signing_key` is the key the reader holds for the sender (looked up by, and checked
    against, `sender_key`). Give `conversation_id` / `message_id` to refuse an envelope served
    somewhere it was not sent. Raises `MalformedEnvelope`, `BadSignature`, `Misplaced`, `NotForMe` or
    `TamperedCiphertext`, in the order they are checked; nothing is decrypted before the signature verifies.
    """
    mine = fingerprint(my_encryption_key.public_key())
    if my_fingerprint is not None and my_fingerprint != mine:
        raise ValueError(f"my_fingerprint {my_fingerprint} is not the fingerprint of my_encryption_key ({mine})")
    form = _read_form(envelope)
    _verify(sender_public_signing_key, envelope["sender_key"], form.signature, envelope_signed_bytes(envelope))
    _check_placed(envelope, conversation_id, message_id)
    entry = next((entry for entry in envelope["recipients"] if entry["key"] == mine), None)
    if entry is None:
        raise NotForMe(f"this envelope has no wrapped key for your encryption key {mine}")
    content_key = _unwrap(entry, my_encryption_key, envelope["message_id"])
    try:
        plaintext = AESGCM(content_key).decrypt(
            form.nonce, form.ciphertext, content_aad(envelope["conversation_id"], envelope["message_id"]))
    except InvalidTag:
        raise TamperedCiphertext("the ciphertext does not decrypt with the content key the sender signed") from None
    body, attachments = _read_plaintext(plaintext)
    return Opened(envelope["conversation_id"], envelope["message_id"], envelope["sender_key"], body, attachments,
                  content_sha256(envelope))


class _Form(NamedTuple):
    nonce: bytes
    ciphertext: bytes
    signature: bytes


def _read_form(envelope: Any) -> _Form:
    """The envelope's decoded bytes, once every field is present, typed and canonical."""
    if not isinstance(envelope, Mapping):
        raise MalformedEnvelope("an envelope is a JSON object")
    if set(envelope) != _FIELDS:
        unknown, missing = sorted(set(envelope) - _FIELDS), sorted(_FIELDS - set(envelope))
        raise MalformedEnvelope(f"not a v1 envelope: unknown fields {unknown}, missing fields {missing}")
    if type(envelope["v"]) is not int or envelope["v"] != VERSION:
        raise MalformedEnvelope(f"unsupported envelope version {envelope['v']!r} (this client reads v{VERSION})")
    _require(envelope["conversation_id"], _UUID, "conversation_id", "a lowercase hyphenated UUID")
    _require(envelope["message_id"], _UUID4, "message_id", "a lowercase hyphenated version-4 UUID")
    _require(envelope["sender_key"], _FINGERPRINT, "sender_key", "a fingerprint (64 lowercase hex digits)")
    nonce = _b64decode(envelope["nonce"], "nonce")
    ciphertext = _b64decode(envelope["ciphertext"], "ciphertext")
    if len(nonce) != NONCE_BYTES:
        raise MalformedEnvelope(f"nonce: {NONCE_BYTES} bytes, not {len(nonce)}")
    if not TAG_BYTES <= len(ciphertext) <= MAX_CIPHERTEXT_BYTES:
        raise MalformedEnvelope(f"ciphertext: {TAG_BYTES} to {MAX_CIPHERTEXT_BYTES} bytes, not {len(ciphertext)}")
    _read_recipients(envelope["recipients"])
    return _Form(nonce, ciphertext, _b64decode(envelope["signature"], "signature"))


def _read_recipients(recipients: Any) -> None:
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise MalformedEnvelope(f"recipients: a list of 1 to {MAX_RECIPIENTS} entries")
    seen = set()
    for index, entry in enumerate(recipients):
        where = f"recipients[{index}]"
        if not isinstance(entry, Mapping):
            raise MalformedEnvelope(f"{where}: an object")
        expected = {"key", "alg", "wrapped_key"} | ({"ephemeral_key"} if entry.get("alg") == ALG_X25519 else set())
        if entry.get("alg") not in (ALG_X25519, ALG_RSA) or set(entry) != expected:
            raise MalformedEnvelope(f"{where}: an entry is {{key, alg: {ALG_X25519}, ephemeral_key, wrapped_key}} "
                                    f"or {{key, alg: {ALG_RSA}, wrapped_key}}")
        _require(entry["key"], _FINGERPRINT, f"{where}.key", "a fingerprint (64 lowercase hex digits)")
        if entry["key"] in seen:
            raise MalformedEnvelope(f"{where}: key {entry['key']} is listed twice")
        seen.add(entry["key"])
        wrapped = _b64decode(entry["wrapped_key"], f"{where}.wrapped_key")
        if entry["alg"] == ALG_X25519:
            if len(_b64decode(entry["ephemeral_key"], f"{where}.ephemeral_key")) != KEY_BYTES:
                raise MalformedEnvelope(f"{where}.ephemeral_key: {KEY_BYTES} bytes")
            if len(wrapped) != KEY_BYTES + TAG_BYTES:
                raise MalformedEnvelope(f"{where}.wrapped_key: {KEY_BYTES + TAG_BYTES} bytes")
        elif not MIN_RSA_BITS // 8 <= len(wrapped) <= MAX_RSA_BITS // 8:
            raise MalformedEnvelope(f"{where}.wrapped_key: as long as an RSA modulus of {MIN_RSA_BITS} "
                                    f"to {MAX_RSA_BITS} bits")


def _check_placed(envelope: Mapping[str, Any], conversation_id: Any, message_id: Any) -> None:
    if conversation_id is not None and envelope["conversation_id"] != _canonical_uuid(conversation_id):
        raise Misplaced(f"this envelope was signed for conversation {envelope['conversation_id']}, "
                        f"not {_canonical_uuid(conversation_id)}")
    if message_id is not None and envelope["message_id"] != _canonical_uuid(message_id):
        raise Misplaced(f"this envelope was signed as message {envelope['message_id']}, "
                        f"not {_canonical_uuid(message_id)}")


def _unwrap(entry: Mapping[str, str], my_key: EncryptionPrivateKey, message_id: str) -> bytes:
    expected = ALG_RSA if isinstance(my_key, rsa.RSAPrivateKey) else ALG_X25519
    if entry["alg"] != expected:
        raise MalformedEnvelope(f"the entry for your key names {entry['alg']}, and your key is for {expected}")
    wrapped = _b64decode(entry["wrapped_key"], "wrapped_key")
    try:
        if isinstance(my_key, rsa.RSAPrivateKey):
            content_key = my_key.decrypt(wrapped, RSA_OAEP)
        else:
            ephemeral_public = _b64decode(entry["ephemeral_key"], "ephemeral_key")
            # exchange() refuses a low-order ephemeral key (an all-zero shared secret) with ValueError
            shared = my_key.exchange(x25519.X25519PublicKey.from_public_bytes(ephemeral_public))
            wrap_key = _x25519_wrap_key(shared, ephemeral_public, _raw(my_key.public_key()), message_id)
            content_key = AESGCM(wrap_key).decrypt(bytes(NONCE_BYTES), wrapped, entry["key"].encode())
    except (InvalidTag, ValueError):
        raise TamperedCiphertext("your wrapped key does not unwrap, although the sender signed it") from None
    if len(content_key) != KEY_BYTES:
        raise TamperedCiphertext(f"your wrapped key unwraps to {len(content_key)} bytes, not a {KEY_BYTES}-byte key")
    return content_key


def _read_plaintext(plaintext: bytes) -> tuple[str, tuple[Attachment, ...]]:
    try:
        message = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedEnvelope("the decrypted message is not UTF-8 JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("body"), str) \
            or not set(message) <= {"body", "attachments"}:
        raise MalformedEnvelope('the decrypted message is not {"body": text, "attachments": [...]}')
    attachments = message.get("attachments", [])
    if not isinstance(attachments, list):
        raise MalformedEnvelope("the decrypted message's attachments are not a list")
    return message["body"], tuple(_read_attachment(value) for value in attachments)


def _read_attachment(value: Any) -> Attachment:
    fields = {"id", "key", "nonce", "name", "content_type"}
    if not isinstance(value, dict) or set(value) != fields or not all(isinstance(value[f], str) for f in fields):
        raise MalformedEnvelope(f"an attachment is an object of the strings {sorted(fields)}")
    _require(value["id"], _UUID, "attachment id", "a lowercase hyphenated UUID")
    key, nonce = _b64decode(value["key"], "attachment key"), _b64decode(value["nonce"], "attachment nonce")
    if len(key) != KEY_BYTES or len(nonce) != NONCE_BYTES:
        raise MalformedEnvelope(f"an attachment's key is {KEY_BYTES} bytes and its nonce {NONCE_BYTES}")
    return Attachment(value["id"], key, nonce, value["name"], value["content_type"])


# --- standard messages: the optional signature ------------------------------------------------------

def sign_message(body: str, *, conversation_id: str | uuid.UUID, message_id: str | uuid.UUID | None = None,
                 sender_signing_key: SigningPrivateKey) -> dict:
    """The signature fields of a standard message: {message_id, sender_key, signature}."""
    conversation_id = _canonical_uuid(conversation_id)
    message_id = _canonical_uuid(message_id or uuid.uuid4(), version_4=True)
    sender_key = fingerprint(sender_signing_key.public_key())
    signed = message_signed_bytes(conversation_id=conversation_id, message_id=message_id, sender_key=sender_key,
                                  body=body)
    return {"message_id": message_id, "sender_key": sender_key,
            "signature": _b64(_sign(sender_signing_key, signed))}


def verify_message(body: str, *, conversation_id: str | uuid.UUID, message_id: str | uuid.UUID, sender_key: str,
                   signature: str, sender_public_signing_key: SigningPublicKey) -> None:
    """`BadSignature` unless `signature` is the sender's signature of this standard message;
    `MalformedEnvelope` for a signature or fingerprint that is not well formed."""
    _require(sender_key, _FINGERPRINT, "sender_key", "a fingerprint (64 lowercase hex digits)")
    signed = message_signed_bytes(conversation_id=_canonical_uuid(conversation_id),
                                  message_id=_canonical_uuid(message_id), sender_key=sender_key, body=body)
    _verify(sender_public_signing_key, sender_key, _b64decode(signature, "signature"), signed)


# --- keys and signatures (Ed25519, or RSA-PSS as the registry: beyou.keys) ----------------------------

def _sign(private_key: SigningPrivateKey, data: bytes) -> bytes:
    _check_rsa_size(private_key)
    return sign(private_key, data)


def _verify(public_key: SigningPublicKey, named_fingerprint: str, signature: bytes, data: bytes) -> None:
    held = fingerprint(public_key)
    if held != named_fingerprint:
        raise BadSignature(f"signed by key {named_fingerprint}, not by the sender's key you hold ({held}): "
                           "the sender's key changed, or someone else signed it")
    if not isinstance(public_key, ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise ValueError(f"a signing key is Ed25519 or RSA, not {type(public_key).__name__}")
    if not verify(public_key, signature, data):
        raise BadSignature(f"the signature does not verify against the sender's key {held}: "
                           "the message was changed after it was signed")


def _check_rsa_size(key: Any) -> None:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey) and not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        raise ValueError(f"RSA keys have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits, not {key.key_size}")


def _raw(public_key: x25519.X25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --- encodings ---------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(value: Any, field: str) -> bytes:
    """Strict base64: the standard alphabet with padding, and nothing that re-encodes differently
    (no line breaks, no missing padding, no stray bits), so the signed bytes are unambiguous."""
    if not isinstance(value, str):
        raise MalformedEnvelope(f"{field}: a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        data = None
    if data is None or _b64(data) != value:
        raise MalformedEnvelope(f"{field}: not canonical base64 (RFC 4648 §4, standard alphabet, with padding)")
    return data


def _require(value: Any, pattern: re.Pattern, field: str, what: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise MalformedEnvelope(f"{field}: {what}")


def _canonical_uuid(value: str | uuid.UUID, *, version_4: bool = False) -> str:
    text = str(uuid.UUID(str(value)))  # lowercase and hyphenated, whatever was given
    if version_4 and not _UUID4.fullmatch(text):
        raise ValueError(f"{text} is not a version-4 (random) UUID")
    return text
