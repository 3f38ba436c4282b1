"""Signed notes and checkpoints: C2SP signed-note (Ed25519) and C2SP tlog-checkpoint.

The ledger signs each checkpoint as a note with its Ed25519 key and publishes the verifier key
(`name+hexid+base64(0x01 ‖ key)`), so any C2SP client (Go's golang.org/x/mod/sumdb/note, for one)
verifies the log's checkpoints without this project's code, and this module verifies them the way
those clients do (docs/ledger-formats.md §7–8):

- https://c2sp.org/signed-note: a text ending in a newline, a blank line, then one line per
  signature, `— <key name> <base64(key id(4) ‖ signature)>`; the key id is the first 4 bytes of
  SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key). A verifier ignores other keys' lines and accepts the
  note only when a line by its key verifies.
- https://c2sp.org/tlog-checkpoint: the text is the origin, the tree size in decimal and the
  base64 root hash, one per line, then optional extension lines.

Base64 is standard and padded, and must be canonical (docs/e2e-envelope.md §2): what is read is
refused unless encoding it again gives the same text.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

ED25519 = 0x01                  # the signature type byte of Ed25519 notes
KEY_ID_BYTES = 4
PUBLIC_KEY_BYTES = 32
SEED_BYTES = 32
MAX_SIGNATURES = 100            # the spec asks verifiers for a bound (at least 16); Go's note package uses 100
SIGNATURE_PREFIX = "\u2014 "    # em dash, space
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")   # every ASCII control character but the newline
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_U64_LIMIT = 1 << 64


class NoteError(ValueError):
    """A note, checkpoint, key name or key that is malformed, or a signature that does not verify."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint body."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte id of an Ed25519 key named `name`: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    _check_name(name)
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise NoteError(f"an Ed25519 public key is {PUBLIC_KEY_BYTES} bytes")
    return hashlib.sha256(name.encode() + b"\n" + bytes((ED25519,)) + public_key).digest()[:KEY_ID_BYTES]


class NoteVerifier:
    """Verifies notes signed by one Ed25519 key, known by its name and public key."""

    def __init__(self, name: str, public_key: bytes) -> None:
        self.key_id = key_id(name, public_key)
        self.name = name
        self.public_key = public_key
        try:
            self._key = ed25519.Ed25519PublicKey.from_public_bytes(public_key)
        except ValueError:
            raise NoteError("not an Ed25519 public key") from None

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """The verifier of a key published as `<name>+<hex key id>+<base64(0x01 ‖ public key)>`."""
        if not isinstance(vkey, str):
            raise NoteError("a verifier key is a string")
        # Split at the first two '+' only: a name has none, but base64 may.
        name, _, rest = vkey.partition("+")
        hex_id, _, encoded = rest.partition("+")
        _check_name(name)
        if not _KEY_ID_HEX.fullmatch(hex_id):
            raise NoteError("a verifier key's id is 8 lowercase hex digits")
        key = _b64decode(encoded, "the verifier key's key")
        if not key or key[0] != ED25519:
            raise NoteError("not an Ed25519 verifier key (its key does not start with the type byte 0x01)")
        if len(key) != 1 + PUBLIC_KEY_BYTES:
            raise NoteError(f"an Ed25519 verifier key holds a {PUBLIC_KEY_BYTES}-byte public key")
        verifier = cls(name, key[1:])
        if verifier.key_id.hex() != hex_id:
            raise NoteError("the verifier key's id does not match its name and key")
        return verifier

    @property
    def vkey(self) -> str:
        """This key in the published form `<name>+<hex key id>+<base64(0x01 ‖ public key)>`."""
        return f"{self.name}+{self.key_id.hex()}+{_b64encode(bytes((ED25519,)) + self.public_key)}"

    def verify_bytes(self, data: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's Ed25519 signature of `data` (a block header's bytes)."""
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def open(self, note: str) -> str:
        """The note's text, if a signature line by this key verifies it; NoteError otherwise.

        Lines by other keys (another name or another key id) are ignored, as the spec requires;
        a line by this key that does not verify refuses the whole note.
        """
        text, signatures = _split_note(note)
        verified = False
        for name, signer_id, signature in signatures:
            if name != self.name or signer_id != self.key_id:
                continue
            if not self.verify_bytes(text.encode(), signature):
                raise NoteError(f"the signature by {self.name} does not verify")
            verified = True
        if not verified:
            raise NoteError(f"the note carries no signature by {self.name}+{self.key_id.hex()}")
        return text


class NoteSigner:
    """Signs notes (and block headers) with one named Ed25519 key."""

    def __init__(self, name: str, private_key: ed25519.Ed25519PrivateKey) -> None:
        public_key = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = key_id(name, public_key)
        self.name = name
        self.public_key = public_key
        self._private_key = private_key

    @classmethod
    def from_seed(cls, name: str, seed_b64: str) -> NoteSigner:
        """The signer named `name` whose key is the Ed25519 seed `seed_b64` (base64 of 32 bytes)."""
        # The messages never quote the seed: it is the ledger's secret.
        if not isinstance(seed_b64, str):
            raise NoteError("the signing key must be a base64 string")
        seed = _b64decode(seed_b64.strip(), "the signing key")
        if len(seed) != SEED_BYTES:
            raise NoteError(f"the signing key must be the base64 of a {SEED_BYTES}-byte Ed25519 seed "
                            f"(this one is {len(seed)} bytes)")
        return cls(name, ed25519.Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def vkey(self) -> str:
        """The verifier key to publish: `<name>+<hex key id>+<base64(0x01 ‖ public key)>`."""
        return self.verifier().vkey

    def verifier(self) -> NoteVerifier:
        """The verifier of this signer's notes."""
        return NoteVerifier(self.name, self.public_key)

    def sign(self, body: str) -> str:
        """The signed note: `body` (which ends in a newline), a blank line and this key's signature line."""
        _check_text(body, "the note text")
        if not body.endswith("\n"):
            raise NoteError("a note's text ends with a newline")
        signature = self._private_key.sign(body.encode())
        return f"{body}\n{SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_id + signature)}\n"

    def sign_bytes(self, data: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of `data` (a block header's bytes)."""
        return self._private_key.sign(data)


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The checkpoint text `<origin>\\n<size>\\n<base64(root)>\\n`."""
    if not isinstance(origin, str) or not origin or "\n" in origin:
        raise NoteError("the origin is one non-empty line")
    _check_text(origin, "the origin")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < _U64_LIMIT:
        raise NoteError("the tree size is an integer from 0 to 2**64 - 1")
    if not isinstance(root, bytes) or len(root) != 32:
        raise NoteError("the root hash is 32 bytes")
    return f"{origin}\n{size}\n{_b64encode(root)}\n"


def parse_checkpoint(body: str) -> Checkpoint:
    """The checkpoint a note's text holds; NoteError unless it is one (any extension lines kept)."""
    _check_text(body, "the checkpoint")
    if not body.endswith("\n"):
        raise NoteError("a checkpoint ends with a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a tree size and a root hash line")
    if not all(lines):
        raise NoteError("a checkpoint has no empty line")
    origin, size, root, *extensions = lines
    if not _DECIMAL.fullmatch(size) or int(size) >= _U64_LIMIT:
        raise NoteError("the tree size is a decimal number without leading zeros, below 2**64")
    root_hash = _b64decode(root, "the root hash")
    if len(root_hash) != 32:
        raise NoteError("the root hash is 32 bytes")
    return Checkpoint(origin, int(size), root_hash, tuple(extensions))


# --- the signed-note syntax -----------------------------------------------------------------

def _split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """The note's text and its signatures as (key name, key id, signature), checked for form only."""
    if not isinstance(note, str):
        raise NoteError("a note is a string")
    _check_text(note, "the note")
    split = note.rfind("\n\n")   # the text ends at the last blank line
    if split < 0:
        raise NoteError("a note has a blank line between its text and its signatures")
    text, block = note[:split + 1], note[split + 2:]
    if not block.endswith("\n"):
        raise NoteError("a note ends with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note carries at most {MAX_SIGNATURES} signatures")
    return text, [_signature_line(line) for line in lines]


def _signature_line(line: str) -> tuple[str, bytes, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError("a signature line starts with an em dash and a space")
    name, _, encoded = line[len(SIGNATURE_PREFIX):].partition(" ")
    _check_name(name)
    signature = _b64decode(encoded, "a signature")
    if len(signature) <= KEY_ID_BYTES:
        raise NoteError("a signature holds a key id and signature bytes")
    return name, signature[:KEY_ID_BYTES], signature[KEY_ID_BYTES:]


def _check_name(name: str) -> None:
    """A key name is non-empty UTF-8 with no Unicode space and no '+' (signed-note)."""
    if not isinstance(name, str) or not name:
        raise NoteError("a key name is a non-empty string")
    if "+" in name or any(char.isspace() for char in name):
        raise NoteError("a key name has no spaces and no '+'")
    _check_text(name, "a key name")


def _check_text(text: str, what: str) -> None:
    """Notes are UTF-8 with no ASCII control character but the newline (signed-note)."""
    if not isinstance(text, str):
        raise NoteError(f"{what} is a string")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise NoteError(f"{what} is not valid UTF-8") from None
    if _CONTROL.search(text):
        raise NoteError(f"{what} holds a control character")


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _b64decode(text: str, what: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not base64") from None
    if _b64encode(data) != text:
        raise NoteError(f"{what} is not canonical base64")
    return data
