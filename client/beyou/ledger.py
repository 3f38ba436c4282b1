"""Checking the ledger from the client, with its own small implementation (no server code).

The ledger is an RFC 9162 Merkle log of message records and public-key records
(key transparency), checkpointed as C2SP signed notes (DESIGN.md, "The ledger").
What the client checks before it says "verified":

- the leaf's hash is SHA-256(0x00 ‖ leaf), computed here from the leaf's bytes, and
  the leaf, decoded, names what was asked for: the message id; or the key's
  fingerprint, with DER whose SHA-256 is that fingerprint;
- the inclusion proof leads from that hash to the root of a checkpoint
  (RFC 9162 §2.1.3.2);
- the checkpoint is a note signed by the ledger's verifier key
  (`name+hexid+base64(0x01 ‖ Ed25519 key)`), given (`--vkey`, BEYOU_LEDGER_VKEY) or
  pinned in the home on first use; once pinned, a different served key is an error;
- the checkpoint is consistent with the last one this client verified
  (RFC 9162 §2.1.4.2), which the home keeps (ledger.json). A log that forked or
  rewrote its history cannot prove that: `LogForked`, and both signed checkpoints
  are kept as the evidence.

A verified inclusion shows that the log committed, in a signed checkpoint, to the
record: with the consistency checks, the server cannot show this client (or, with
witnesses, anyone) a history without it.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from beyou.api import Client, ProblemError
from beyou.home import read_json, write_json
from beyou.keystore import Keyring

ENV_VKEY = "BEYOU_LEDGER_VKEY"
STATE_FILE = "ledger.json"
HASH_SIZE = 32
MAX_LEAF_BYTES = 65535
MAX_NOTE_SIGNATURES = 100       # what the C2SP signed-note spec lets a verifier refuse beyond
SIGNATURE_PREFIX = "\u2014 "    # an em dash and a space start every signature line
ED25519 = 0x01                  # the signed-note signature type of Ed25519

KIND_MESSAGE, KIND_KEY_REGISTERED, KIND_KEY_REVOKED = 1, 2, 3
LEAF_VERSION = 1
PURPOSES = {1: "signing", 2: "encryption"}
ALGORITHMS = {1: "rsa", 2: "ed25519", 3: "x25519"}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
FINGERPRINT = re.compile(r"[0-9a-f]{64}")      # SHA-256 of the key's DER, lowercase hex

# What a verdict can say: proven, not in the log, in the log but in no signed checkpoint yet, or a check failed.
VERIFIED, MISSING, PENDING, FAILED = "verified", "missing", "pending", "failed"


class LedgerVerificationError(Exception):
    """Something the ledger served does not verify: a proof, a signature, a leaf, a malformed answer."""


class VerifierKeyChanged(LedgerVerificationError):
    """The ledger serves a verifier key other than the one this client pinned."""


class LogForked(LedgerVerificationError):
    """Two checkpoints the ledger signed are not consistent: it forked or rewrote its history."""

    def __init__(self, known: Checkpoint, served: Checkpoint, reason: str) -> None:
        self.known, self.served, self.reason = known, served, reason
        super().__init__(f"the ledger's checkpoint of size {served.tree_size} is not consistent with the one of "
                         f"size {known.tree_size} this client verified before ({reason}): the log forked or "
                         "rewrote its history")


# --- the Merkle tree (RFC 9162 §2.1) -----------------------------------------------------------

def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """That the leaf hash `leaf` is at `index` in the tree of `size` leaves whose root is `root` (RFC 9162
    §2.1.3.2); LedgerVerificationError if not."""
    if not 0 <= index < size:
        raise LedgerVerificationError(f"leaf index {index} is outside a tree of {size} leaves")
    _check_hashes([leaf, root, *proof])
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise LedgerVerificationError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise LedgerVerificationError("the inclusion proof is too short")
    if result != root:
        raise LedgerVerificationError("the inclusion proof does not lead to the checkpoint's root")


def verify_consistency(first: int, second: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """That the tree of `second` leaves (root `root2`) extends the tree of `first` leaves (root `root1`)
    (RFC 9162 §2.1.4.2); LedgerVerificationError if not."""
    if not 0 <= first <= second:
        raise LedgerVerificationError(f"no consistency between sizes {first} and {second}")
    if first == 0:
        # Every tree extends the empty one: such a "proof" proves nothing, and is refused as meaningless.
        raise LedgerVerificationError("a consistency proof from the empty tree proves nothing")
    if first == second:
        if proof:
            raise LedgerVerificationError("equal sizes need an empty consistency proof")
        if root1 != root2:
            raise LedgerVerificationError("two different roots for the same tree size")
        return
    if not proof:
        raise LedgerVerificationError("the consistency proof is empty")
    _check_hashes(proof)
    path = [root1, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first_root = second_root = path[0]
    for node in path[1:]:
        if sn == 0:
            raise LedgerVerificationError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            first_root, second_root = node_hash(node, first_root), node_hash(node, second_root)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            second_root = node_hash(second_root, node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise LedgerVerificationError("the consistency proof is too short")
    if first_root != root1 or second_root != root2:
        raise LedgerVerificationError("the consistency proof does not lead to both roots")


def _check_hashes(hashes: Sequence[bytes]) -> None:
    if any(len(node) != HASH_SIZE for node in hashes):
        raise LedgerVerificationError("a proof node (or the leaf hash, or the root) is not a SHA-256 hash")


# --- signed notes and checkpoints (C2SP signed-note, tlog-checkpoint) --------------------------

@dataclass(frozen=True)
class VerifierKey:
    """A signed-note verifier key: `<name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>`."""

    name: str
    key_id: bytes
    public_key: bytes
    text: str = field(compare=False)

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        name, _, rest = text.strip().partition("+")
        hex_id, _, encoded = rest.partition("+")    # base64 has '+' too: the id is up to the second one
        if not _valid_name(name) or len(hex_id) != 8 or not encoded:
            raise LedgerVerificationError(f"not a verifier key (name+id+key): {text!r}")
        try:
            key_id, key = bytes.fromhex(hex_id), base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise LedgerVerificationError(f"not a verifier key (bad id or base64): {text!r}") from None
        if len(key) != 1 + 32 or key[0] != ED25519:
            raise LedgerVerificationError(f"not an Ed25519 verifier key: {text!r}")
        if key_id != note_key_id(name, key[1:]):
            raise LedgerVerificationError(f"the verifier key's id does not match its name and key: {text!r}")
        return cls(name, key_id, key[1:], text.strip())


def note_key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]: which key a signature line claims to be by."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(char.isspace() for char in name)


def verify_note(note: str | bytes, key: VerifierKey) -> str:
    """The text of a signed note once a signature by `key` verifies (C2SP signed-note); lines of other
    signers are ignored. LedgerVerificationError if the note is malformed or not signed by `key`."""
    text, signatures = _split_note(note)
    seen, accepted = set(), False
    for name, key_id, signature in signatures:
        if (name, key_id) in seen:
            continue                    # a repeated signer's later lines count for nothing (as in Go's note)
        seen.add((name, key_id))
        if name != key.name or key_id != key.key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, text.encode())
        except InvalidSignature:
            raise LedgerVerificationError(f"the note's signature by {key.name} does not verify") from None
        accepted = True
    if not accepted:
        raise LedgerVerificationError(f"the note is not signed by {key.name} ({key.key_id.hex()})")
    return text


def _split_note(note: str | bytes) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """(text, [(signer name, key id, signature)]) of a well-formed note."""
    try:
        message = note.decode() if isinstance(note, bytes) else note
    except UnicodeDecodeError:
        raise LedgerVerificationError("the note is not UTF-8") from None
    if any(char < " " and char != "\n" for char in message):
        raise LedgerVerificationError("the note holds control characters")
    split = message.rfind("\n\n")
    if split < 0:
        raise LedgerVerificationError("the note has no signatures (no blank line)")
    text, block = message[:split + 1], message[split + 2:]
    if not block.endswith("\n"):
        raise LedgerVerificationError("the note's signatures do not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_NOTE_SIGNATURES:
        raise LedgerVerificationError(f"the note has more than {MAX_NOTE_SIGNATURES} signatures")
    return text, [_signature_line(line) for line in lines]


def _signature_line(line: str) -> tuple[str, bytes, bytes]:
    name, _, encoded = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        signature = b""
    if not line.startswith(SIGNATURE_PREFIX) or not _valid_name(name) or len(signature) < 5:
        raise LedgerVerificationError(f"not a signature line: {line!r}")
    return name, signature[:4], signature[4:]


@dataclass(frozen=True)
class Checkpoint:
    """A verified checkpoint (C2SP tlog-checkpoint): the log `origin` had `tree_size` leaves, with `root_hash`."""

    origin: str
    tree_size: int
    root_hash: bytes
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "tree_size": self.tree_size, "root_hash": _b64(self.root_hash),
                "note": self.note}


def parse_checkpoint(text: str, note: str = "") -> Checkpoint:
    """The origin, size and root of a checkpoint body (`<origin>\\n<size>\\n<base64 root>\\n[extensions]`)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[0] or any(not line for line in lines[3:-1]):
        raise LedgerVerificationError("not a checkpoint: origin, size and root lines expected")
    origin, size, root = lines[:3]
    if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
        raise LedgerVerificationError(f"not a checkpoint: the size {size!r} is not a decimal number")
    root_hash = _unb64(root, "the checkpoint's root")
    if len(root_hash) != HASH_SIZE:
        raise LedgerVerificationError("not a checkpoint: the root is not a SHA-256 hash")
    return Checkpoint(origin, int(size), root_hash, note)


def verify_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint a note signed by `key` states; its origin must be the key's name (the log's)."""
    checkpoint = parse_checkpoint(verify_note(note, key), note)
    if checkpoint.origin != key.name:
        raise LedgerVerificationError(f"the checkpoint is of log {checkpoint.origin!r}, not {key.name!r}")
    return checkpoint


# --- leaves ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MessageLeaf:
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    content_sha256: str
    signature_fingerprint: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class KeyRegistered:
    user_id: uuid.UUID
    fingerprint: str
    purpose: str
    algorithm: str
    created_at: dt.datetime
    der: bytes


@dataclass(frozen=True)
class KeyRevoked:
    user_id: uuid.UUID
    fingerprint: str
    purpose: str
    deactivated_at: dt.datetime


Leaf = MessageLeaf | KeyRegistered | KeyRevoked


class _Reader:
    """Fixed-width big-endian fields, read in order; a short leaf is a decode error."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise LedgerVerificationError("the leaf is too short")
        self.at += size
        return self.data[self.at - size:self.at]

    def integer(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.take(16))

    def time(self) -> dt.datetime:
        try:
            return EPOCH + dt.timedelta(microseconds=self.integer(8))
        except OverflowError:
            raise LedgerVerificationError("the leaf's time is out of range") from None

    def code(self, names: dict[int, str], what: str) -> str:
        value = self.integer(1)
        if value not in names:
            raise LedgerVerificationError(f"the leaf's {what} code {value} is unknown")
        return names[value]

    def end(self) -> None:
        if self.at != len(self.data):
            raise LedgerVerificationError("the leaf has trailing bytes")


def decode_leaf(leaf: bytes) -> Leaf:
    """A leaf's record (the ledger's canonical encoding, version 1); LedgerVerificationError for anything else."""
    if len(leaf) > MAX_LEAF_BYTES:
        raise LedgerVerificationError("the leaf is longer than 65,535 bytes")
    reader = _Reader(leaf)
    kind, version = reader.integer(1), reader.integer(1)
    if version != LEAF_VERSION or kind not in _DECODERS:
        raise LedgerVerificationError(f"unknown leaf kind {kind} version {version}")
    record = _DECODERS[kind](reader)
    reader.end()
    return record


def _message(reader: _Reader) -> MessageLeaf:
    message_id, conversation_id, sender_id = reader.uuid(), reader.uuid(), reader.uuid()
    content = reader.take(32).hex()
    signed = reader.integer(1)
    if signed not in (0, 1):
        raise LedgerVerificationError(f"the leaf's signature marker {signed} is neither 0 nor 1")
    fingerprint = reader.take(32).hex() if signed else None
    return MessageLeaf(message_id, conversation_id, sender_id, content, fingerprint, reader.time())


def _key_registered(reader: _Reader) -> KeyRegistered:
    user_id, fingerprint = reader.uuid(), reader.take(32).hex()
    purpose, algorithm = reader.code(PURPOSES, "purpose"), reader.code(ALGORITHMS, "algorithm")
    created_at = reader.time()
    der = reader.take(reader.integer(2))
    if hashlib.sha256(der).hexdigest() != fingerprint:
        raise LedgerVerificationError("the key leaf's DER is not the key its fingerprint names")
    return KeyRegistered(user_id, fingerprint, purpose, algorithm, created_at, der)


def _key_revoked(reader: _Reader) -> KeyRevoked:
    user_id, fingerprint = reader.uuid(), reader.take(32).hex()
    return KeyRevoked(user_id, fingerprint, reader.code(PURPOSES, "purpose"), reader.time())


_DECODERS: dict[int, Callable[[_Reader], Leaf]] = {
    KIND_MESSAGE: _message, KIND_KEY_REGISTERED: _key_registered, KIND_KEY_REVOKED: _key_revoked}


def leaf_summary(leaf: Leaf) -> dict[str, Any]:
    """A decoded leaf as JSON (a key's DER as base64)."""
    kind = {MessageLeaf: "message", KeyRegistered: "key-registered", KeyRevoked: "key-revoked"}[type(leaf)]
    fields = {name: _b64(value) if isinstance(value, bytes) else
              value.isoformat() if isinstance(value, dt.datetime) else
              str(value) if isinstance(value, uuid.UUID) else value for name, value in asdict(leaf).items()}
    return {"kind": kind, **fields}


# --- what the client remembers: the pinned verifier key, the last verified checkpoint ---------

@dataclass(frozen=True)
class Trust:
    """The verifier key checkpoints are checked with, and why it is trusted: "given" (--vkey or
    BEYOU_LEDGER_VKEY), "pinned" (on an earlier first use) or "tofu" (pinned just now, on first use)."""

    key: VerifierKey
    source: str
    pinned_at: str | None = None
    replaced: str | None = None         # a different key that was pinned before (given keys replace it)


class LedgerState:
    """ledger.json in the client's home: the pinned verifier key, the last checkpoint verified, and the
    evidence of any fork seen (two signed checkpoints that are not consistent)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data = read_json(path) or {}

    @property
    def vkey(self) -> str | None:
        return self._data.get("vkey")

    @property
    def pinned_at(self) -> str | None:
        return self._data.get("pinned_at")

    @property
    def forks(self) -> list[dict]:
        return list(self._data.get("forks") or [])

    def pin(self, key: VerifierKey, source: str) -> None:
        previous = self.vkey and VerifierKey.parse(self.vkey)
        if previous and previous.name != key.name:
            self._data.pop("checkpoint", None)      # another log: its history says nothing of this one
        self._data.update(vkey=key.text, vkey_source=source, pinned_at=_now())
        self._save()

    def checkpoint(self) -> Checkpoint | None:
        stored = self._data.get("checkpoint")
        if not stored:
            return None
        return Checkpoint(stored["origin"], int(stored["tree_size"]), _unb64(stored["root_hash"], "the stored root"),
                          stored["note"])

    def advance(self, checkpoint: Checkpoint) -> None:
        self._data["checkpoint"] = {**checkpoint.as_dict(), "verified_at": _now()}
        self._save()

    def record_fork(self, known: Checkpoint, served: Checkpoint, reason: str) -> None:
        """Keep two signed checkpoints that are not consistent: proof, to anyone, that the log misbehaved."""
        if any((fork.get("verified_before"), fork.get("inconsistent")) == (known.note, served.note)
               for fork in self.forks):
            return
        self._data["forks"] = [*self.forks, {"seen_at": _now(), "reason": reason, "verified_before": known.note,
                                             "inconsistent": served.note}]
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_json(self.path, self._data)


# --- the client ----------------------------------------------------------------------------------

# fetch(path under /api/ledger/, query) -> the JSON answer; ProblemError for an error answer.
Fetch = Callable[[str, Mapping[str, Any] | None], Any]


@dataclass(frozen=True)
class Verdict:
    """What checking one record in the ledger established (`status`: verified, missing, pending, failed)."""

    subject: str                        # "message" or "key"
    id: str                             # the message id, or the key's fingerprint
    status: str
    problem: str | None = None          # why it is not verified
    leaf: Leaf | None = None
    leaf_index: int | None = None
    block_height: int | None = None
    checkpoint: Checkpoint | None = None
    previous_size: int | None = None    # the size of the checkpoint verified before, proven consistent
    removed: bool = False               # a message removed by moderation (the log keeps its record)
    revocation: KeyRevoked | None = None
    trust: Trust | None = None

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "id": self.id, "status": self.status, "verified": self.verified,
                "problem": self.problem, "leaf_index": self.leaf_index, "block_height": self.block_height,
                "tree_size": self.checkpoint.tree_size if self.checkpoint else None,
                "origin": self.checkpoint.origin if self.checkpoint else None,
                "root_hash": _b64(self.checkpoint.root_hash) if self.checkpoint else None,
                "previous_tree_size": self.previous_size, "removed": self.removed,
                "revoked_at": self.revocation.deactivated_at.isoformat() if self.revocation else None,
                "vkey": self.trust.key.text if self.trust else None,
                "vkey_trust": self.trust.source if self.trust else None,
                "leaf": leaf_summary(self.leaf) if self.leaf else None}


@dataclass(frozen=True)
class CheckpointReport:
    """The latest checkpoint, verified; `integrity` is the ledger's own audit result ("ok" or "failed")."""

    checkpoint: Checkpoint
    integrity: str | None
    previous_size: int | None
    trust: Trust


@dataclass(frozen=True)
class LoggedKey:
    """A key the log holds for a user (as `entries/keys?user_id=` lists it)."""

    fingerprint: str
    purpose: str | None
    algorithm: str | None
    created_at: str | None
    revoked_at: str | None
    leaf_index: int | None
    block_height: int | None

    @classmethod
    def from_answer(cls, item: Mapping[str, Any]) -> LoggedKey:
        if not isinstance(item, Mapping) or not FINGERPRINT.fullmatch(str(item.get("fingerprint"))):
            raise LedgerVerificationError("the ledger listed a key without a valid fingerprint")
        return cls(item["fingerprint"], item.get("purpose"), item.get("algorithm"), item.get("created_at"),
                   item.get("revoked_at"), item.get("leaf_index"), item.get("block_height"))


class LedgerClient:
    """The ledger's public API, checked: every answer that matters is proven against a signed checkpoint.

    `fetch` gets JSON from the ledger (`LedgerClient.through(client, home)` for the gateway); `state`
    keeps the pinned verifier key and the last verified checkpoint; `vkey`, when given, is the
    verifier key to trust (and pin) instead of trusting the served one on first use.
    """

    def __init__(self, fetch: Fetch, state: LedgerState, vkey: str | None = None) -> None:
        self.fetch, self.state, self.vkey = fetch, state, vkey
        self._trust: Trust | None = None

    @classmethod
    def through(cls, client: Client, home: Path, vkey: str | None = None) -> LedgerClient:
        """The ledger behind the gateway `client` talks to, its state in `home`; the verifier key
        `vkey`, else BEYOU_LEDGER_VKEY, else the one pinned (on first use)."""
        def fetch(path: str, query: Mapping[str, Any] | None) -> Any:
            return client.call("GET", f"/api/ledger/{path}", auth=False, params=query)
        return cls(fetch, LedgerState(Path(home) / STATE_FILE), vkey or os.environ.get(ENV_VKEY) or None)

    def trust(self) -> Trust:
        """The verifier key to check checkpoints with (pinned now if it is the first use)."""
        if self._trust is None:
            self._trust = self._given() if self.vkey else self._pinned()
        return self._trust

    def _given(self) -> Trust:
        key = VerifierKey.parse(self.vkey)
        pinned = self.state.vkey
        replaced = pinned if pinned and VerifierKey.parse(pinned) != key else None
        if replaced or not self.state.vkey:
            self.state.pin(key, "given")
        return Trust(key, "given", self.state.pinned_at, replaced)

    def _pinned(self) -> Trust:
        served = VerifierKey.parse(_field(self.fetch("verifier-key", None), "vkey", str))
        if self.state.vkey is None:
            self.state.pin(served, "tofu")
            return Trust(served, "tofu", self.state.pinned_at)
        pinned = VerifierKey.parse(self.state.vkey)
        if served != pinned:
            raise VerifierKeyChanged(f"the ledger now serves the verifier key {served.text}, not {pinned.text} "
                                     f"pinned in {self.state.path}: its checkpoints are not trusted. If the "
                                     "ledger's key really changed, give the new one with --vkey (or "
                                     f"{ENV_VKEY}) after checking it out of band.")
        return Trust(pinned, "pinned", self.state.pinned_at)

    # --- checkpoints ---------------------------------------------------------------------

    def latest_checkpoint(self) -> CheckpointReport:
        """The latest checkpoint, its signature verified and its consistency with the one seen before proven
        (LedgerVerificationError if not; LogForked if the two are inconsistent)."""
        answer = self.fetch("checkpoint", None)
        trust = self.trust()
        checkpoint = self._signed(answer, trust)
        return CheckpointReport(checkpoint, answer.get("integrity"), self._adopt(checkpoint), trust)

    def _signed(self, answer: Any, trust: Trust) -> Checkpoint:
        """The checkpoint an answer carries, verified; its plain fields must say what its note says."""
        checkpoint = verify_checkpoint(_field(answer, "note", str), trust.key)
        stated = (answer.get("origin"), answer.get("tree_size"), answer.get("root_hash"))
        if stated != (checkpoint.origin, checkpoint.tree_size, _b64(checkpoint.root_hash)):
            raise LedgerVerificationError("the checkpoint's fields do not say what its signed note says")
        return checkpoint

    def _adopt(self, served: Checkpoint) -> int | None:
        """Prove `served` consistent with the checkpoint verified before and remember the larger of the
        two; the size of the one verified before (None if there was none). LogForked if inconsistent."""
        known = self.state.checkpoint()
        if known is None or known.origin != served.origin or known.tree_size == 0:
            self.state.advance(served)
            return None
        # A smaller checkpoint than the one known is a stale answer (a cache, a replica behind): fine if the
        # known one extends it.
        older, newer = sorted((known, served), key=lambda checkpoint: checkpoint.tree_size)
        try:
            verify_consistency(older.tree_size, newer.tree_size, older.root_hash, newer.root_hash,
                               self._consistency_proof(older.tree_size, newer.tree_size))
        except ProblemError as problem:
            if problem.status >= 500:
                raise
            # An honest log proves consistency between any two sizes it signed: a refusal is a failure to.
            self.state.record_fork(known, served, f"the ledger does not prove it: {problem}")
            raise LogForked(known, served, f"the ledger does not prove it: {problem}") from None
        except LedgerVerificationError as error:
            self.state.record_fork(known, served, str(error))
            raise LogForked(known, served, str(error)) from None
        if served.tree_size > known.tree_size:
            self.state.advance(served)
        return known.tree_size

    def _consistency_proof(self, first: int, second: int) -> list[bytes]:
        if first == second:
            return []
        answer = self.fetch("proofs/consistency", {"first": first, "second": second})
        if (answer.get("first"), answer.get("second")) != (first, second):
            raise LedgerVerificationError(f"asked for a consistency proof {first}→{second}, got another")
        return _hashes(_field(answer, "proof", list), "the consistency proof")

    # --- records -------------------------------------------------------------------------

    def verify_message(self, message_id: str) -> Verdict:
        """Whether message `message_id` is in the ledger, proven against the latest signed checkpoint."""
        message_id = str(uuid.UUID(str(message_id)))
        entry = self._entry(f"entries/{message_id}")
        if entry is None:
            return Verdict("message", message_id, MISSING, "the ledger has no record of this message (the "
                           "ledger logs a message shortly after it is sent)")

        def names_the_message(leaf: Leaf) -> None:
            if not isinstance(leaf, MessageLeaf) or str(leaf.message_id) != message_id:
                raise LedgerVerificationError("the leaf served is not this message's record")
        verdict = self._verify_entry("message", message_id, entry, {"message_id": message_id}, names_the_message)
        return replace(verdict, removed=bool(entry.get("removed")))

    def verify_key(self, fingerprint: str, *, user_id: str | None = None, purpose: str | None = None) -> Verdict:
        """Whether the key `fingerprint` is registered in the ledger (for `user_id` and `purpose`, when
        given), proven against the latest signed checkpoint; a revocation is reported with it.
        ValueError if `fingerprint` is not one (64 hex digits)."""
        fingerprint = fingerprint.strip().lower()
        if not FINGERPRINT.fullmatch(fingerprint):
            raise ValueError(f"not a key fingerprint (64 hex digits): {fingerprint!r}")
        entry = self._entry(f"entries/keys/{fingerprint}")
        if entry is None:
            return Verdict("key", fingerprint, MISSING, "the ledger has no record of this key")

        def names_the_key(leaf: Leaf) -> None:
            if not isinstance(leaf, KeyRegistered) or leaf.fingerprint != fingerprint:
                raise LedgerVerificationError("the leaf served is not this key's registration")
            if user_id is not None and str(leaf.user_id) != str(user_id):
                raise LedgerVerificationError(f"the ledger has this key as user {leaf.user_id}'s")
            if purpose is not None and leaf.purpose != purpose:
                raise LedgerVerificationError(f"the ledger has this key as a {leaf.purpose} key")
        verdict = self._verify_entry("key", fingerprint, entry, {"fingerprint": fingerprint}, names_the_key)
        if entry.get("revocation") is None:
            return verdict
        try:
            revocation = _revocation(entry["revocation"], verdict.leaf)
        except LedgerVerificationError as error:
            return replace(verdict, status=FAILED, problem=f"its revocation record: {error}")
        return replace(verdict, revocation=revocation)

    def keys_logged_for(self, user_id: str) -> list[LoggedKey]:
        """Every key the log holds for `user_id`, oldest first (all pages)."""
        keys, cursor, seen = [], None, set()
        while True:
            page = self.fetch("entries/keys", {"user_id": str(user_id), **({"cursor": cursor} if cursor else {})})
            keys.extend(LoggedKey.from_answer(item) for item in _field(page, "items", list))
            cursor = page.get("next_cursor")
            if not cursor:
                return keys
            if cursor in seen:
                raise LedgerVerificationError("the ledger's pages of keys go round in a circle")
            seen.add(cursor)

    def _entry(self, path: str) -> dict | None:
        try:
            return self.fetch(path, None)
        except ProblemError as problem:
            if problem.status == 404:
                return None
            raise

    def _verify_entry(self, subject: str, ident: str, entry: Any, query: Mapping[str, str],
                      names_it: Callable[[Leaf], None]) -> Verdict:
        """The verdict on an entry: its leaf checked and named, then proven included in a signed checkpoint."""
        try:
            leaf_bytes = _unb64(_field(entry, "leaf", str), "the leaf")
            hashed = leaf_hash(leaf_bytes)
            if _unb64(_field(entry, "leaf_hash", str), "the leaf hash") != hashed:
                raise LedgerVerificationError("the leaf hash served is not the hash of the leaf served")
            leaf = decode_leaf(leaf_bytes)
            names_it(leaf)
            index = _field(entry, "leaf_index", int)
        except LedgerVerificationError as error:
            return Verdict(subject, ident, FAILED, str(error))
        found = Verdict(subject, ident, PENDING, leaf=leaf, leaf_index=index, block_height=entry.get("block_height"))
        if found.block_height is None:
            return replace(found, problem="logged, but not sealed into a block yet: no signed checkpoint covers "
                                           "it (try again after the next block)")
        try:
            answer = self.fetch("proofs/inclusion", query)
        except ProblemError as problem:
            if problem.status >= 500:
                raise
            return replace(found, status=FAILED, problem=f"the ledger has it in block {found.block_height} but "
                                                          f"gives no inclusion proof ({problem})")
        trust, checkpoint = self.trust(), None
        try:
            checkpoint = self._signed(_field(answer, "checkpoint", dict), trust)
            previous = self._adopt(checkpoint)
            if (answer.get("leaf_index"), answer.get("tree_size")) != (index, checkpoint.tree_size):
                raise LedgerVerificationError("the inclusion proof is for another leaf or tree size")
            if _unb64(_field(answer, "leaf_hash", str), "the proof's leaf hash") != hashed:
                raise LedgerVerificationError("the inclusion proof is for another leaf hash")
            verify_inclusion(index, checkpoint.tree_size, hashed,
                             _hashes(_field(answer, "audit_path", list), "the audit path"), checkpoint.root_hash)
        except LogForked:
            raise
        except LedgerVerificationError as error:
            return replace(found, status=FAILED, problem=str(error), checkpoint=checkpoint, trust=trust)
        return replace(found, status=VERIFIED, checkpoint=checkpoint, previous_size=previous, trust=trust)


def _revocation(answer: Any, registered: Leaf | None) -> KeyRevoked:
    leaf_bytes = _unb64(_field(answer, "leaf", str), "the revocation leaf")
    if _unb64(_field(answer, "leaf_hash", str), "the revocation's leaf hash") != leaf_hash(leaf_bytes):
        raise LedgerVerificationError("the leaf hash served is not the hash of the leaf served")
    revoked = decode_leaf(leaf_bytes)
    if not isinstance(revoked, KeyRevoked) or not isinstance(registered, KeyRegistered) or (
            revoked.fingerprint, revoked.user_id) != (registered.fingerprint, registered.user_id):
        raise LedgerVerificationError("the leaf served is not this key's revocation")
    return revoked


# --- monitoring my own keys ----------------------------------------------------------------------

@dataclass(frozen=True)
class MonitoredKey:
    logged: LoggedKey
    mine: bool                          # in this client's key file
    verdict: Verdict


@dataclass(frozen=True)
class KeyMonitor:
    """Every key the log holds for a user, each checked; and the user's registered keys it lacks."""

    keys: list[MonitoredKey]
    unlogged: list[str]                 # my active keys (in the key file) the log does not list (yet)

    @property
    def strangers(self) -> list[MonitoredKey]:
        return [key for key in self.keys if not key.mine]


def monitor_keys(ledger: LedgerClient, user_id: str, keyring: Keyring | None) -> KeyMonitor:
    """What key transparency is for: every key logged for `user_id`, each proven in the log and marked as
    one of this client's (in `keyring`) or not — a key I did not make is someone else's, for my name."""
    logged = ledger.keys_logged_for(user_id)
    checked = [MonitoredKey(key, bool(keyring and keyring.find(key.fingerprint)),
                            ledger.verify_key(key.fingerprint, user_id=user_id)) for key in logged]
    listed = {key.fingerprint for key in logged}
    unlogged = [key.fingerprint for key in keyring.keys if key.status == "active"
                and key.fingerprint not in listed] if keyring else []
    return KeyMonitor(checked, unlogged)


# --- small helpers -------------------------------------------------------------------------------

def _field(answer: Any, name: str, kind: type) -> Any:
    """A field of a JSON answer, of the type expected (a malformed answer does not verify)."""
    value = answer.get(name) if isinstance(answer, Mapping) else None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise LedgerVerificationError(f"the ledger's answer has no valid {name!r}")
    return value


def _hashes(values: list, what: str) -> list[bytes]:
    if not all(isinstance(value, str) for value in values):
        raise LedgerVerificationError(f"{what} is not a list of base64 hashes")
    return [_unb64(value, what) for value in values]


def _unb64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise LedgerVerificationError(f"{what} is not base64") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
