"""The client's own ledger checks: the RFC 9162 vectors, signed notes, leaves, and the verdicts of
`beyou.ledger` and `beyou ledger` against a log built here from first principles (a small Merkle tree
by RFC 9162's definitions, checkpoints signed with a test key), served through the client's HTTP layer
by an in-process server, or handed to `LedgerClient` as its fetch function."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import stat
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from beyou import keys as keylib
from beyou import ledger
from beyou.api import ProblemError, Session
from beyou.cli import cli
from beyou.contacts import Contacts
from beyou.home import Home
from beyou.keystore import Argon2Parameters, Keyring
from beyou.keystore import save as save_keyring
from beyou.ledger import LedgerClient, LedgerState, LedgerVerificationError, LogForked, VerifierKey

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "rfc9162"
ORIGIN = "beyou.test/ledger"
ME = "a11ce000-0000-4000-8000-000000000001"
BOB = "b0b00000-0000-4000-8000-000000000002"
PASSPHRASE = "a long passphrase"

EXAMPLE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
EXAMPLE_TEXT = "This is an example message.\n"
EXAMPLE_SIGNATURE = ("\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmR"
                     "KuwHjG1Yu72IneyaQM=\n")
EXAMPLE_NOTE = EXAMPLE_TEXT + "\n" + EXAMPLE_SIGNATURE


# --- a log from first principles (RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1) ------------------------------

def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def split_point(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return sha256(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = split_point(len(hashes))
    return sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:]))


def inclusion_path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = split_point(len(hashes))
    if m < k:
        return inclusion_path(m, hashes[:k]) + [mth(hashes[k:])]
    return inclusion_path(m - k, hashes[k:]) + [mth(hashes[:k])]


def consistency_proof(m: int, hashes: list[bytes], complete: bool = True) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [mth(hashes)]
    k = split_point(n)
    if m <= k:
        return consistency_proof(m, hashes[:k], complete) + [mth(hashes[k:])]
    return consistency_proof(m - k, hashes[k:], False) + [mth(hashes[:k])]


def hashes_of(leaves: list[bytes]) -> list[bytes]:
    return [sha256(b"\x00" + leaf) for leaf in leaves]


class Signer:
    """An Ed25519 note signer: its verifier key, and notes it signs (C2SP signed-note)."""

    def __init__(self, name: str = ORIGIN) -> None:
        self.name, self.key = name, Ed25519PrivateKey.generate()
        public = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = sha256(name.encode() + b"\n\x01" + public)[:4]
        self.vkey = f"{name}+{self.key_id.hex()}+{b64(bytes([1]) + public)}"

    def line(self, text: str) -> str:
        return f"\u2014 {self.name} {b64(self.key_id + self.key.sign(text.encode()))}\n"

    def sign(self, text: str) -> str:
        return text + "\n" + self.line(text)


def micros(moment: float = 1767225600.0) -> bytes:
    return int(moment * 1_000_000).to_bytes(8, "big")


def message_leaf(message_id: str, *, sender: str = BOB, conversation: str = "c0000000-0000-4000-8000-000000000003",
                 signed_by: str | None = None) -> bytes:
    signature = b"\x01" + bytes.fromhex(signed_by) if signed_by else b"\x00"
    return (b"\x01\x01" + uuid.UUID(message_id).bytes + uuid.UUID(conversation).bytes + uuid.UUID(sender).bytes
            + sha256(b"the stored content") + signature + micros())


def der_of(key: keylib.KeyPair) -> bytes:
    return key.public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


PURPOSE_CODES, ALGORITHM_CODES = {"signing": 1, "encryption": 2}, {"rsa": 1, "ed25519": 2, "x25519": 3}


def key_leaf(user_id: str, key: keylib.KeyPair) -> bytes:
    der = der_of(key)
    return (b"\x02\x01" + uuid.UUID(user_id).bytes + sha256(der) + bytes([PURPOSE_CODES[key.purpose]])
            + bytes([ALGORITHM_CODES[key.algorithm]]) + micros() + len(der).to_bytes(2, "big") + der)


def revocation_leaf(user_id: str, key: keylib.KeyPair) -> bytes:
    return (b"\x03\x01" + uuid.UUID(user_id).bytes + bytes.fromhex(key.fingerprint)
            + bytes([PURPOSE_CODES[key.purpose]]) + micros(1767229200.0))


class FakeLog:
    """The ledger's public API (the contract the client is written to) over a list of leaves.

    `seal()` closes a block and signs a checkpoint at the current size; `rewrite()` plays a log that changes
    its history and signs it again; `lies` makes the entries endpoint serve other bytes for a leaf, and
    `misstated` changes the plain fields served with a checkpoint (not its note).
    """

    def __init__(self) -> None:
        self.signer = Signer()
        self.leaves: list[bytes] = []
        self.block_of: dict[int, int] = {}
        self.messages: dict[str, int] = {}
        self.keys: dict[str, dict] = {}
        self.checkpoints: dict[int, str] = {}
        self.latest: int | None = None           # the checkpoint served as the latest
        self.integrity = "ok"
        self.lies: dict[int, bytes] = {}
        self.misstated: dict[str, object] = {}

    def add_message(self, message_id: str | None = None, **fields) -> str:
        message_id = message_id or str(uuid.uuid4())
        self.messages[message_id] = self._append(message_leaf(message_id, **fields))
        return message_id

    def add_key(self, user_id: str, key: keylib.KeyPair) -> str:
        self.keys[key.fingerprint] = {"user_id": user_id, "key": key, "index": self._append(key_leaf(user_id, key)),
                                      "revocation": None}
        return key.fingerprint

    def revoke_key(self, key: keylib.KeyPair) -> None:
        logged = self.keys[key.fingerprint]
        logged["revocation"] = self._append(revocation_leaf(logged["user_id"], key))

    def _append(self, leaf: bytes) -> int:
        self.leaves.append(leaf)
        return len(self.leaves) - 1

    def seal(self) -> int:
        size = len(self.leaves)
        height = len(self.checkpoints)
        for index in range(size):
            self.block_of.setdefault(index, height)
        self.checkpoints[size] = self.signer.sign(self.body(size))
        self.latest = size
        return size

    def body(self, size: int) -> str:
        return f"{ORIGIN}\n{size}\n{b64(mth(hashes_of(self.leaves[:size])))}\n"

    def rewrite(self, index: int, leaf: bytes) -> None:
        """Change a leaf and sign every checkpoint again over the changed history."""
        self.leaves[index] = leaf
        for size in self.checkpoints:
            self.checkpoints[size] = self.signer.sign(self.body(size))

    # --- the API -----------------------------------------------------------------------------------

    def fetch(self, path: str, query: dict | None) -> dict:
        status, body = self.answer(path, {name: str(value) for name, value in (query or {}).items()})
        if status >= 400:
            raise ProblemError(status, body["title"], body.get("detail"))
        return body

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict]:
        try:
            return 200, self._route(path, query)
        except LookupError as error:
            return 404, {"status": 404, "title": "Not Found", "detail": str(error)}
        except ValueError as error:
            return 400, {"status": 400, "title": "Bad Request", "detail": str(error)}

    def _route(self, path: str, query: dict[str, str]) -> dict:
        if path == "verifier-key":
            return {"vkey": self.signer.vkey}
        if path == "checkpoint":
            if self.latest is None:
                raise LookupError("no checkpoint yet")
            return {**self._checkpoint(self.latest), "integrity": self.integrity}
        if path == "entries/keys":
            return self._keys_page(query["user_id"], int(query.get("cursor", 0)))
        if path.startswith("entries/keys/"):
            logged = self.keys.get(path.removeprefix("entries/keys/"))
            if logged is None:
                raise LookupError("never logged")
            revocation = logged["revocation"]
            return {**self._entry(logged["index"]),
                    "revocation": None if revocation is None else self._entry(revocation)}
        if path.startswith("entries/"):
            index = self.messages.get(path.removeprefix("entries/"))
            if index is None:
                raise LookupError("not in the log")
            return {**self._entry(index), "removed": False}
        if path == "proofs/inclusion":
            return self._inclusion(query)
        if path == "proofs/consistency":
            return self._consistency(int(query["first"]), int(query["second"]))
        raise LookupError(path)

    def _checkpoint(self, size: int) -> dict:
        return {"origin": ORIGIN, "tree_size": size, "root_hash": b64(mth(hashes_of(self.leaves[:size]))),
                "note": self.checkpoints[size], **self.misstated}

    def _entry(self, index: int) -> dict:
        leaf = self.lies.get(index, self.leaves[index])
        return {"leaf_index": index, "leaf": b64(leaf), "leaf_hash": b64(sha256(b"\x00" + leaf)),
                "block_height": self.block_of.get(index)}

    def _inclusion(self, query: dict[str, str]) -> dict:
        if "message_id" in query:
            index = self.messages[query["message_id"]]
        elif "fingerprint" in query:
            index = self.keys[query["fingerprint"]]["index"]
        else:
            index = int(query["leaf_index"])
        size = int(query.get("tree_size", self.latest or 0))
        if size not in self.checkpoints or size <= index:
            raise ValueError(f"no checkpoint of size {size} covers leaf {index}")
        hashes = hashes_of(self.leaves[:size])
        served = sha256(b"\x00" + self.lies[index]) if index in self.lies else hashes[index]   # a liar that agrees
        return {"leaf_index": index, "tree_size": size, "leaf_hash": b64(served),
                "audit_path": [b64(node) for node in inclusion_path(index, hashes)],
                "checkpoint": self._checkpoint(size)}

    def _consistency(self, first: int, second: int) -> dict:
        if not 0 <= first <= second or second not in self.checkpoints:
            raise ValueError("not a checkpointed range")
        hashes = hashes_of(self.leaves[:second])
        proof = [] if first in (0, second) else consistency_proof(first, hashes)
        return {"first": first, "second": second, "proof": [b64(node) for node in proof]}

    def _keys_page(self, user_id: str, offset: int, page: int = 2) -> dict:
        mine = [(fingerprint, logged) for fingerprint, logged in self.keys.items() if logged["user_id"] == user_id]
        items = [{"fingerprint": fingerprint, "purpose": logged["key"].purpose, "algorithm": logged["key"].algorithm,
                  "created_at": "2026-01-01T00:00:00+00:00",
                  "revoked_at": "2026-01-01T01:00:00+00:00" if logged["revocation"] is not None else None,
                  "leaf_index": logged["index"], "block_height": self.block_of.get(logged["index"])}
                 for fingerprint, logged in mine[offset:offset + page]]
        more = offset + page < len(mine)
        return {"items": items, "next_cursor": str(offset + page) if more else None}


@pytest.fixture
def log() -> FakeLog:
    return FakeLog()


@pytest.fixture
def state(tmp_path) -> LedgerState:
    return LedgerState(tmp_path / "home" / "ledger.json")


@pytest.fixture
def client(log, state) -> LedgerClient:
    return LedgerClient(log.fetch, state)


# --- the RFC 9162 vectors, and proofs of trees built here ---------------------------------------------

def vectors(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def test_the_shared_vectors_are_there_to_check():
    assert len(vectors("inclusion")) > 50 and len(vectors("consistency")) > 50


def unb64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def accepted(check: Callable[[], None]) -> bool:
    try:
        check()
    except LedgerVerificationError:
        return False
    return True


@pytest.mark.parametrize("vector", vectors("inclusion"), ids=lambda path: str(path.relative_to(VECTORS)))
def test_inclusion_vectors_are_accepted_exactly_when_they_are_valid(vector):
    case = json.loads(vector.read_text())
    proof = [unb64(node) for node in case["proof"] or []]
    assert accepted(lambda: ledger.verify_inclusion(case["leafIdx"], case["treeSize"], unb64(case["leafHash"]),
                                                    proof, unb64(case["root"]))) is not case["wantErr"]


@pytest.mark.parametrize("vector", vectors("consistency"), ids=lambda path: str(path.relative_to(VECTORS)))
def test_consistency_vectors_are_accepted_exactly_when_they_are_valid(vector):
    case = json.loads(vector.read_text())
    proof = [unb64(node) for node in case["proof"] or []]
    assert accepted(lambda: ledger.verify_consistency(case["size1"], case["size2"], unb64(case["root1"]),
                                                      unb64(case["root2"]), proof)) is not case["wantErr"]


def test_the_hashes_are_rfc_9162s():
    leaves = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                         "606162636465666768696a6b6c6d6e6f")]
    assert ledger.leaf_hash(b"") == sha256(b"\x00")
    assert mth(hashes_of(leaves)).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert ledger.node_hash(b"a" * 32, b"b" * 32) == sha256(b"\x01" + b"a" * 32 + b"b" * 32)


def test_every_leaf_of_trees_of_many_sizes_is_proven_included():
    leaves = [f"leaf {i}".encode() for i in range(70)]
    for size in range(1, 71):
        hashes = hashes_of(leaves[:size])
        root = mth(hashes)
        for index in range(size):
            ledger.verify_inclusion(index, size, hashes[index], inclusion_path(index, hashes), root)


def test_every_pair_of_sizes_is_proven_consistent_and_a_changed_leaf_is_not():
    leaves = [f"leaf {i}".encode() for i in range(40)]
    hashes = hashes_of(leaves)
    for second in range(1, 41):
        for first in range(1, second + 1):
            proof = consistency_proof(first, hashes[:second]) if first < second else []
            ledger.verify_consistency(first, second, mth(hashes[:first]), mth(hashes[:second]), proof)
    rewritten = hashes_of([b"another history", *leaves[1:]])
    with pytest.raises(LedgerVerificationError):
        ledger.verify_consistency(5, 13, mth(hashes[:5]), mth(rewritten[:13]), consistency_proof(5, rewritten[:13]))


def test_a_proof_node_that_is_not_a_hash_is_refused():
    hashes = hashes_of([b"a", b"b"])
    with pytest.raises(LedgerVerificationError, match="not a SHA-256 hash"):
        ledger.verify_inclusion(0, 2, hashes[0], [hashes[1] + b"\x00"], mth(hashes))


# --- signed notes and checkpoints ------------------------------------------------------------------------

def test_the_signed_note_example_verifies_with_its_verifier_key():
    key = VerifierKey.parse(EXAMPLE_VKEY)
    assert (key.name, key.key_id.hex()) == ("example.com/foo", "530d903a")
    assert ledger.verify_note(EXAMPLE_NOTE, key) == EXAMPLE_TEXT
    assert ledger.verify_note(EXAMPLE_NOTE.encode(), key) == EXAMPLE_TEXT


@pytest.mark.parametrize("tampered", [
    EXAMPLE_NOTE.replace("example message", "exemplary message"),            # the text changed
    EXAMPLE_NOTE.replace("Uw2QOkn8", "Uw2QOkn9"),                             # the signature changed
    EXAMPLE_NOTE.replace("\u2014 example.com/foo", "\u2014 example.com/bar"),  # another signer's name
    EXAMPLE_NOTE.replace("Uw2QOkn8", "Uw3QOkn8"),                             # another key id
    EXAMPLE_NOTE.replace("\u2014 ", "-- "),                                   # not an em dash
    EXAMPLE_NOTE.rstrip("\n"),                                                # no final newline
    EXAMPLE_TEXT + EXAMPLE_SIGNATURE,                                         # no blank line
    EXAMPLE_NOTE.replace("message.", "message.\x07"),                         # a control character
    EXAMPLE_TEXT + "\n",                                                      # no signature at all
], ids=["text", "signature", "name", "key-id", "dash", "final-newline", "blank-line", "control", "unsigned"])
def test_a_tampered_note_is_refused(tampered):
    with pytest.raises(LedgerVerificationError):
        ledger.verify_note(tampered, VerifierKey.parse(EXAMPLE_VKEY))


def test_other_signers_lines_are_ignored_up_to_a_hundred_signatures():
    others = [Signer(f"witness{i}.example") for i in range(100)]
    key = VerifierKey.parse(EXAMPLE_VKEY)
    cosigned = EXAMPLE_NOTE + "".join(other.line(EXAMPLE_TEXT) for other in others[:99])
    assert ledger.verify_note(cosigned, key) == EXAMPLE_TEXT
    with pytest.raises(LedgerVerificationError, match="more than 100"):
        ledger.verify_note(cosigned + others[99].line(EXAMPLE_TEXT), key)
    with pytest.raises(LedgerVerificationError, match="not signed by example.com/foo"):
        ledger.verify_note(EXAMPLE_TEXT + "\n" + others[0].line(EXAMPLE_TEXT), key)


def test_only_the_first_line_by_the_known_key_decides():
    key, forged = VerifierKey.parse(EXAMPLE_VKEY), EXAMPLE_SIGNATURE.replace("srV1", "srV2")
    assert ledger.verify_note(EXAMPLE_NOTE + forged, key) == EXAMPLE_TEXT
    with pytest.raises(LedgerVerificationError, match="does not verify"):
        ledger.verify_note(EXAMPLE_TEXT + "\n" + forged + EXAMPLE_SIGNATURE, key)


@pytest.mark.parametrize("text", [
    "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",     # the id is not the key's
    "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",     # nor the name's
    "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",     # not Ed25519 (0x02...)
    "example.com/foo+530d903a",
    "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
])
def test_a_verifier_key_that_is_not_one_is_refused(text):
    with pytest.raises(LedgerVerificationError):
        VerifierKey.parse(text)


def test_a_checkpoint_is_the_origin_size_and_root_its_log_signed():
    signer, root = Signer(), sha256(b"root")
    note = signer.sign(f"{ORIGIN}\n42\n{b64(root)}\nan extension line\n")
    checkpoint = ledger.verify_checkpoint(note, VerifierKey.parse(signer.vkey))
    assert (checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash, checkpoint.note) == (ORIGIN, 42, root, note)


@pytest.mark.parametrize("body", [
    f"another.example/log\n42\n{b64(sha256(b'root'))}\n",       # another log's origin
    f"{ORIGIN}\n042\n{b64(sha256(b'root'))}\n",                 # not a canonical decimal
    f"{ORIGIN}\n-1\n{b64(sha256(b'root'))}\n",
    f"{ORIGIN}\n42\n{b64(b'short')}\n",                          # the root is not a hash
    f"{ORIGIN}\n42\n",
])
def test_a_checkpoint_that_is_not_one_of_this_log_is_refused(body):
    signer = Signer()
    with pytest.raises(LedgerVerificationError):
        ledger.verify_checkpoint(signer.sign(body), VerifierKey.parse(signer.vkey))


# --- leaves ------------------------------------------------------------------------------------------------

def test_a_message_leaf_decodes_to_its_record():
    message_id, signing = str(uuid.uuid4()), keylib.generate("signing")
    unsigned = ledger.decode_leaf(message_leaf(message_id))
    signed = ledger.decode_leaf(message_leaf(message_id, signed_by=signing.fingerprint))
    assert str(unsigned.message_id) == message_id and str(unsigned.sender_id) == BOB
    assert unsigned.content_sha256 == sha256(b"the stored content").hex() and unsigned.signature_fingerprint is None
    assert unsigned.created_at.isoformat() == "2026-01-01T00:00:00+00:00"
    assert signed.signature_fingerprint == signing.fingerprint


def test_a_key_leaf_decodes_to_the_key_its_fingerprint_names():
    key = keylib.generate("encryption")
    registered = ledger.decode_leaf(key_leaf(ME, key))
    assert (str(registered.user_id), registered.fingerprint, registered.purpose, registered.algorithm) == (
        ME, key.fingerprint, "encryption", "x25519")
    assert registered.der == der_of(key)
    revoked = ledger.decode_leaf(revocation_leaf(ME, key))
    assert (revoked.fingerprint, revoked.purpose, revoked.deactivated_at.hour) == (key.fingerprint, "encryption", 1)


def test_a_key_leaf_whose_der_is_another_key_is_refused():
    key, other = keylib.generate("signing"), keylib.generate("signing")
    forged = key_leaf(ME, key).replace(der_of(key), der_of(other))
    with pytest.raises(LedgerVerificationError, match="not the key its fingerprint names"):
        ledger.decode_leaf(forged)


@pytest.mark.parametrize("damage", [
    lambda leaf: leaf + b"\x00",                        # trailing bytes
    lambda leaf: leaf[:-1],                             # too short
    lambda leaf: b"\x09" + leaf[1:],                    # unknown kind
    lambda leaf: leaf[:1] + b"\x02" + leaf[2:],         # unknown version
    lambda leaf: leaf[:82] + b"\x02" + leaf[83:],       # a signature marker that is neither 0 nor 1
    lambda leaf: b"",
], ids=["trailing", "short", "kind", "version", "marker", "empty"])
def test_a_leaf_that_is_not_canonical_is_refused(damage):
    with pytest.raises(LedgerVerificationError):
        ledger.decode_leaf(damage(message_leaf(str(uuid.uuid4()))))


def test_a_key_leaf_with_an_unknown_purpose_is_refused():
    leaf = bytearray(key_leaf(ME, keylib.generate("signing")))
    leaf[50] = 7
    with pytest.raises(LedgerVerificationError, match="purpose"):
        ledger.decode_leaf(bytes(leaf))


# --- verdicts on messages -------------------------------------------------------------------------------

def test_a_logged_message_is_verified_and_the_ledgers_key_is_pinned_on_first_use(log, client, state):
    message_id = log.add_message()
    log.add_message()
    log.seal()
    verdict = client.verify_message(message_id)
    assert verdict.verified and verdict.status == "verified"
    assert (verdict.leaf_index, verdict.block_height, verdict.checkpoint.tree_size) == (0, 0, 2)
    assert verdict.checkpoint.origin == ORIGIN and verdict.previous_size is None
    assert verdict.trust.source == "tofu" and verdict.trust.key.text == log.signer.vkey
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600
    reloaded = LedgerState(state.path)
    assert reloaded.vkey == log.signer.vkey and reloaded.checkpoint().tree_size == 2
    again = LedgerClient(log.fetch, reloaded).verify_message(message_id)
    assert again.verified and again.trust.source == "pinned" and again.previous_size == 2


def test_each_new_checkpoint_is_proven_consistent_with_the_last_one_verified(log, client, state):
    first = log.add_message()
    log.seal()
    assert client.verify_message(first).previous_size is None
    for _ in range(5):
        log.add_message()
    log.seal()
    later = log.add_message()
    log.seal()
    verdict = client.verify_message(later)
    assert verdict.verified and verdict.previous_size == 1 and verdict.checkpoint.tree_size == 7
    assert state.checkpoint().tree_size == 7


def test_an_older_checkpoint_served_again_is_fine_when_the_newer_one_extends_it(log, client, state):
    message_id = log.add_message()
    log.seal()
    log.add_message()
    log.add_message()
    log.seal()
    assert client.verify_message(message_id).checkpoint.tree_size == 3
    log.latest = 1                      # a stale cache or a replica behind
    verdict = client.verify_message(message_id)
    assert verdict.verified and verdict.checkpoint.tree_size == 1 and verdict.previous_size == 3
    assert state.checkpoint().tree_size == 3


def test_a_log_that_rewrote_its_history_is_a_loud_error_and_the_evidence_is_kept(log, client, state):
    message_id = log.add_message()
    log.add_message()
    log.seal()
    assert client.verify_message(message_id).verified
    trusted = state.checkpoint()
    log.rewrite(1, message_leaf(str(uuid.uuid4())))
    log.add_message()
    log.seal()
    with pytest.raises(LogForked) as fork:
        client.verify_message(message_id)
    assert "forked or rewrote its history" in str(fork.value)
    assert state.checkpoint() == trusted
    evidence = LedgerState(state.path).forks
    assert [entry["verified_before"] for entry in evidence] == [trusted.note]
    assert evidence[0]["inconsistent"] == log.checkpoints[3]


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork(log, client):
    message_id = log.add_message()
    log.add_message()
    log.seal()
    client.latest_checkpoint()
    log.rewrite(1, message_leaf(str(uuid.uuid4())))
    with pytest.raises(LogForked, match="two different roots"):
        client.verify_message(message_id)


def test_a_message_not_in_the_log_or_not_sealed_yet_is_not_verified(log, client):
    log.add_message()
    log.seal()
    unsealed = log.add_message()
    assert client.verify_message(str(uuid.uuid4())).status == "missing"
    pending = client.verify_message(unsealed)
    assert pending.status == "pending" and not pending.verified and "not sealed into a block" in pending.problem


def test_a_leaf_served_other_than_the_one_in_the_tree_is_not_verified(log, client):
    message_id = log.add_message()
    log.add_message()
    log.seal()
    log.lies[0] = message_leaf(message_id, sender=ME)        # the same message id, another sender
    verdict = client.verify_message(message_id)
    assert verdict.status == "failed" and "does not lead to the checkpoint's root" in verdict.problem


def test_a_leaf_of_another_message_is_not_this_messages_record(log, client):
    message_id = log.add_message()
    log.seal()
    log.lies[0] = message_leaf(str(uuid.uuid4()))
    verdict = client.verify_message(message_id)
    assert verdict.status == "failed" and "not this message's record" in verdict.problem


def test_a_checkpoint_signed_with_another_key_after_pinning_is_an_error(log, client):
    message_id = log.add_message()
    log.seal()
    assert client.verify_message(message_id).verified
    log.signer = Signer()
    log.seal()
    with pytest.raises(ledger.VerifierKeyChanged, match="give the new one with --vkey"):
        LedgerClient(log.fetch, client.state).verify_message(message_id)


def test_a_given_verifier_key_is_trusted_instead_of_the_served_one(log, state):
    message_id = log.add_message()
    log.seal()
    verdict = LedgerClient(log.fetch, state, vkey=log.signer.vkey).verify_message(message_id)
    assert verdict.verified and verdict.trust.source == "given" and state.vkey == log.signer.vkey
    impostor = Signer()
    wrong = LedgerClient(log.fetch, LedgerState(state.path.with_name("other.json")), vkey=impostor.vkey)
    refused = wrong.verify_message(message_id)
    assert refused.status == "failed" and f"not signed by {ORIGIN}" in refused.problem


def test_a_checkpoint_whose_fields_contradict_its_note_does_not_verify(log, client):
    log.add_message()
    log.seal()
    log.misstated["tree_size"] = 2
    with pytest.raises(LedgerVerificationError, match="do not say what its signed note says"):
        client.latest_checkpoint()


# --- verdicts on keys, and monitoring my own ---------------------------------------------------------

def test_a_logged_key_is_verified_for_its_user_and_purpose(log, client):
    key = keylib.generate("signing")
    log.add_key(BOB, key)
    log.seal()
    verdict = client.verify_key(key.fingerprint, user_id=BOB, purpose="signing")
    assert verdict.verified and verdict.leaf.fingerprint == key.fingerprint and verdict.revocation is None
    someone_else = client.verify_key(key.fingerprint, user_id=ME)
    assert someone_else.status == "failed" and f"user {BOB}'s" in someone_else.problem


def test_a_key_that_was_never_logged_is_reported_unverifiable(log, client):
    log.add_message()
    log.seal()
    verdict = client.verify_key(keylib.generate("signing").fingerprint)
    assert verdict.status == "missing" and not verdict.verified


def test_a_revoked_key_is_verified_with_its_revocation(log, client):
    key = keylib.generate("encryption")
    log.add_key(BOB, key)
    log.revoke_key(key)
    log.seal()
    verdict = client.verify_key(key.fingerprint)
    assert verdict.verified and verdict.revocation.deactivated_at.isoformat() == "2026-01-01T01:00:00+00:00"


def test_every_key_logged_for_a_user_is_listed_across_pages(log, client):
    mine = [keylib.generate("signing") for _ in range(5)]
    for key in mine:
        log.add_key(ME, key)
    log.add_key(BOB, keylib.generate("signing"))
    assert [key.fingerprint for key in client.keys_logged_for(ME)] == [key.fingerprint for key in mine]


def test_monitoring_finds_a_key_logged_for_me_that_is_not_in_my_key_file(log, client):
    signing, encryption = keylib.generate("signing"), keylib.generate("encryption")
    signing.status = encryption.status = "active"
    log.add_key(ME, signing)
    planted = keylib.generate("signing")
    log.add_key(ME, planted)
    log.seal()
    report = ledger.monitor_keys(client, ME, Keyring(ME, [signing, encryption]))
    assert [(key.logged.fingerprint, key.mine) for key in report.keys] == [(signing.fingerprint, True),
                                                                          (planted.fingerprint, False)]
    assert [key.logged.fingerprint for key in report.strangers] == [planted.fingerprint]
    assert all(key.verdict.verified for key in report.keys)
    assert report.unlogged == [encryption.fingerprint]


# --- contacts' keys, checked in the ledger before first use ------------------------------------------

def published(key: keylib.KeyPair) -> dict:
    return {"fingerprint": key.fingerprint, "algorithm": key.algorithm, "pem": key.public_pem}


def test_a_contacts_key_is_checked_in_the_ledger_before_first_use(log, client, tmp_path):
    logged, unlogged = keylib.generate("signing"), keylib.generate("encryption")
    log.add_key(BOB, logged)
    log.seal()
    book = Contacts(tmp_path / "contacts.json", owner_id=ME, ledger=client)
    check = book.observe(BOB, "bob", {"signing": published(logged), "encryption": published(unlogged)})
    bob = book.get(BOB)
    assert check.status == "new" and bob.signing.in_ledger and bob.encryption.in_ledger is False
    assert "bob's encryption key" in check.warning and "is not proven in the ledger" in check.warning
    assert [key.fingerprint for key in bob.not_in_ledger] == [unlogged.fingerprint]
    log.add_key(BOB, unlogged)
    log.seal()
    again = book.observe(BOB, "bob", {"signing": published(logged), "encryption": published(unlogged)})
    assert again.status == "unchanged" and again.warning is None and not bob.not_in_ledger


# --- the command line, against the log served in-process --------------------------------------------

@pytest.fixture
def server(log):
    """The fake log behind /api/ledger/ on a loopback port, for the `beyou` command to talk to."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            query = {name: values[-1] for name, values in parse_qs(url.query).items()}
            status, body = log.answer(url.path.removeprefix("/api/ledger/"), query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/problem+json" if status >= 400 else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def beyou(server, home):
    """`beyou(*args)`: run the command in its own home against the fake log."""
    runner = CliRunner()

    def run(*args: str, vkey: str | None = None):
        return runner.invoke(cli, ["--home", str(home), "--server", server, *args],
                             env={"BEYOU_LEDGER_VKEY": vkey, "BEYOU_HOME": None, "BEYOU_SERVER": None,
                                  "BEYOU_PASSPHRASE": PASSPHRASE, "COLUMNS": "300"})
    return run


def test_ledger_verify_prints_where_the_message_is_and_says_verified(log, beyou, home):
    message_id = log.add_message()
    log.add_message()
    log.seal()
    result = beyou("ledger", "verify", message_id)
    assert result.exit_code == 0, result.output
    for shown in ("leaf index", "tree size", ORIGIN, "✔ verified"):
        assert shown in result.stdout
    assert "Trusting the ledger's verifier key on first use" in result.stderr and log.signer.vkey in result.stderr
    assert json.loads((home / "ledger.json").read_text())["vkey"] == log.signer.vkey
    again = beyou("--json", "ledger", "verify", message_id)
    verdict = json.loads(again.stdout)
    assert again.exit_code == 0 and "first use" not in again.stderr
    assert (verdict["verified"], verdict["leaf_index"], verdict["tree_size"], verdict["origin"]) == (True, 0, 2, ORIGIN)
    assert verdict["previous_tree_size"] == 2 and verdict["vkey_trust"] == "pinned"


def test_ledger_verify_exits_non_zero_when_not_verified(log, beyou):
    log.add_message()
    log.seal()
    result = beyou("ledger", "verify", str(uuid.uuid4()))
    assert result.exit_code == 1 and "✘ NOT verified" in result.stdout
    assert "no record of this message" in result.stdout


def test_ledger_verify_says_loudly_that_the_log_forked(log, beyou, home):
    message_id = log.add_message()
    log.add_message()
    log.seal()
    assert beyou("ledger", "verify", message_id).exit_code == 0
    log.rewrite(1, message_leaf(str(uuid.uuid4())))
    log.add_message()
    log.seal()
    result = beyou("ledger", "verify", message_id)
    assert result.exit_code == 1 and "THE LEDGER FORKED OR REWROTE ITS HISTORY" in result.stderr
    assert beyou("ledger", "checkpoint").exit_code == 1, "the fork is not forgotten"
    assert len(json.loads((home / "ledger.json").read_text())["forks"]) == 1


def test_a_verifier_key_from_the_environment_is_trusted_and_a_wrong_one_fails(log, beyou):
    message_id = log.add_message()
    log.seal()
    assert beyou("ledger", "verify", message_id, vkey=Signer().vkey).exit_code == 1
    given = beyou("ledger", "verify", message_id, vkey=log.signer.vkey)
    assert given.exit_code == 0 and "replaces" in given.stderr


def test_ledger_checkpoint_shows_the_verified_checkpoint_and_fails_when_the_ledger_reports_tampering(log, beyou):
    assert "no checkpoint yet" in beyou("ledger", "checkpoint").stderr
    for _ in range(3):
        log.add_message()
    log.seal()
    shown = beyou("ledger", "checkpoint")
    assert shown.exit_code == 0 and ORIGIN in shown.stdout and "✔ verified" in shown.stdout
    assert re.search(r"tree size\s+3\n", shown.stdout)
    log.integrity = "failed"
    assert beyou("ledger", "checkpoint").exit_code == 1


@pytest.fixture
def signed_in(home) -> Keyring:
    """A session for ME in the home, and a key file with two active keys."""
    Home(home).ensure().save_session(Session("unused.e30.unused", "unused", time.time() + 3600, user_id=ME,
                                             username="me"))
    keyring = Keyring(ME, [keylib.generate("signing"), keylib.generate("encryption")])
    for key in keyring.keys:
        key.status = "active"
    save_keyring(home / "keys.json", keyring, PASSPHRASE, Argon2Parameters(iterations=1, lanes=1, memory_kib=64))
    return keyring


def test_keys_monitor_passes_when_every_logged_key_is_mine(log, beyou, signed_in):
    for key in signed_in.keys:
        log.add_key(ME, key)
    log.revoke_key(signed_in.keys[0])
    log.seal()
    result = beyou("keys", "monitor")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("mine (in the key file)") == 2 and "revoked" in result.stdout


def test_keys_monitor_fails_loudly_on_a_key_that_is_not_mine(log, beyou, signed_in):
    log.add_key(ME, signed_in.keys[0])
    planted = keylib.generate("signing")
    log.add_key(ME, planted)
    log.seal()
    result = beyou("--json", "keys", "monitor")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["not_mine"] == [planted.fingerprint]
    assert planted.fingerprint in result.stderr and "NOT one of this device's keys" in result.stderr
    assert json.loads(result.stdout)["unlogged"] == [signed_in.keys[1].fingerprint]


def test_ledger_contacts_checks_contacts_keys_again_and_clears_the_flag_once_proven(log, beyou, signed_in, home):
    bob = {purpose: keylib.generate(purpose) for purpose in keylib.PURPOSES}
    book = Contacts(home / "contacts.json", owner_id=ME)
    book.observe(BOB, "bob", {purpose: published(key) for purpose, key in bob.items()})
    book.save()
    log.add_key(BOB, bob["signing"])
    log.seal()
    flagged = beyou("ledger", "contacts")
    assert flagged.exit_code == 1 and "✘ not in ledger" in flagged.stdout and "bob's encryption key" in flagged.stderr
    assert Contacts(home / "contacts.json").get(BOB).encryption.ledger == "missing"
    log.add_key(BOB, bob["encryption"])
    log.seal()
    cleared = beyou("ledger", "contacts")
    assert cleared.exit_code == 0 and "not in ledger" not in cleared.stdout
    assert Contacts(home / "contacts.json").get(BOB).not_in_ledger == []
