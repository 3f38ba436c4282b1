"""Reading messages offline: what the client can and cannot trust in a message as the server serves it.

Alice's keys are pinned in Bob's contacts beforehand, so no verdict here needs the network (the
client points at a port where nothing listens: any request would fail the test).
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid

import pytest

from beyou import envelope, keys
from beyou.api import Client
from beyou.contacts import Contacts
from beyou.keystore import Keyring
from beyou.messages import read_message

ALICE, BOB = str(uuid.uuid4()), str(uuid.uuid4())
CONVERSATION = str(uuid.uuid4())


def published(key: keys.KeyPair) -> dict:
    return {"fingerprint": key.fingerprint, "algorithm": key.algorithm, "pem": key.public_pem}


def active_pair() -> dict[str, keys.KeyPair]:
    pair = {purpose: keys.generate(purpose) for purpose in keys.PURPOSES}
    for key in pair.values():
        key.status = "active"
    return pair


@pytest.fixture
def alice() -> dict[str, keys.KeyPair]:
    return active_pair()


@pytest.fixture
def bob() -> Keyring:
    return Keyring(BOB, list(active_pair().values()))


@pytest.fixture
def contacts(tmp_path, alice) -> Contacts:
    book = Contacts(tmp_path / "contacts.json", owner_id=BOB)
    book.observe(ALICE, "alice", {purpose: published(key) for purpose, key in alice.items()})
    return book


@pytest.fixture
def client() -> Client:
    return Client("http://127.0.0.1:9")


def e2e_message(alice: dict, recipients: list[keys.KeyPair], body: str = "hello Bob", *,
                conversation_id: str = CONVERSATION) -> dict:
    sealed = envelope.seal(body, conversation_id=conversation_id, sender_signing_key=alice["signing"].private_key,
                           recipients=[(key.fingerprint, key.public_key) for key in recipients])
    return {"id": sealed["message_id"], "seq": 1, "conversation_id": conversation_id, "sender_id": ALICE,
            "kind": "e2e", "envelope": sealed, "content_sha256": envelope.content_sha256(sealed),
            "body": None, "attachment_ids": []}


def standard_message(alice: dict | None, body: str) -> dict:
    salt = b"0123456789abcdef"
    message = {"id": str(uuid.uuid4()), "seq": 2, "conversation_id": CONVERSATION, "sender_id": ALICE,
               "kind": "standard", "body": body, "content_salt": base64.b64encode(salt).decode(),
               "content_sha256": hashlib.sha256(salt + body.encode()).hexdigest(), "sender_key": None,
               "signature": None, "attachment_ids": []}
    if alice:
        message.update(envelope.sign_message(body, conversation_id=CONVERSATION, message_id=message["id"],
                                             sender_signing_key=alice["signing"].private_key))
        message.pop("message_id")
    return message


def read(client, message, bob, contacts):
    return read_message(client, message, keyring=bob, contacts=contacts, me=BOB)


def test_a_message_sealed_for_me_and_signed_by_the_pinned_key_reads_as_signed(client, alice, bob, contacts):
    message = e2e_message(alice, [alice["encryption"], bob.active("encryption")])
    result = read(client, message, bob, contacts)
    assert (result.trust, result.body, result.problem) == ("signed", "hello Bob", None)


def test_once_the_sender_is_verified_out_of_band_their_messages_read_as_verified(client, alice, bob, contacts):
    contacts.mark_verified(ALICE)
    message = e2e_message(alice, [alice["encryption"], bob.active("encryption")])
    assert read(client, message, bob, contacts).trust == "verified"


def test_a_stored_envelope_altered_after_sending_is_detected_and_not_decrypted(client, alice, bob, contacts):
    message = e2e_message(alice, [alice["encryption"], bob.active("encryption")])
    ciphertext = bytearray(base64.b64decode(message["envelope"]["ciphertext"]))
    ciphertext[3] ^= 0x01
    message["envelope"]["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    result = read(client, message, bob, contacts)
    assert result.trust == "bad-signature" and result.body is None
    assert "changed after it was signed" in result.problem


def test_a_message_not_sealed_for_any_of_my_keys_says_so(client, alice, bob, contacts):
    result = read(client, e2e_message(alice, [alice["encryption"]]), bob, contacts)
    assert result.trust == "not-for-me" and result.body is None


def test_an_envelope_served_in_another_conversation_is_misplaced(client, alice, bob, contacts):
    message = e2e_message(alice, [alice["encryption"], bob.active("encryption")], conversation_id=str(uuid.uuid4()))
    message["conversation_id"] = CONVERSATION
    assert read(client, message, bob, contacts).trust == "misplaced"


def test_after_the_sender_rotates_their_old_messages_still_verify_with_the_key_kept(client, alice, bob, contacts):
    old_message = e2e_message(alice, [alice["encryption"], bob.active("encryption")])
    rotated = {**alice, "signing": keys.generate("signing")}
    check = contacts.observe(ALICE, "alice", {purpose: published(key) for purpose, key in rotated.items()})
    assert check.status == "changed"
    assert read(client, old_message, bob, contacts).trust == "signed"
    assert read(client, e2e_message(rotated, [bob.active("encryption")]), bob, contacts).trust == "signed"


def test_a_signed_standard_message_verifies_and_an_unsigned_one_says_only_the_server_vouches(
        client, alice, bob, contacts):
    assert read(client, standard_message(alice, "plain hello"), bob, contacts).trust == "signed"
    assert read(client, standard_message(None, "plain hello"), bob, contacts).trust == "unsigned"


def test_a_standard_text_changed_by_the_server_fails_its_hash_or_its_signature(client, alice, bob, contacts):
    changed = {**standard_message(alice, "pay Bob 10"), "body": "pay Eve 10"}
    assert read(client, changed, bob, contacts).trust == "tampered"
    salt = base64.b64decode(changed["content_salt"])
    rehashed = {**changed, "content_sha256": hashlib.sha256(salt + b"pay Eve 10").hexdigest()}
    result = read(client, rehashed, bob, contacts)
    assert result.trust == "bad-signature" and "does not verify" in result.problem


def test_the_verdict_is_reported_in_json_with_the_sealed_attachment_names(client, alice, bob, contacts):
    attachment = envelope.Attachment(str(uuid.uuid4()), b"k" * 32, b"n" * 12, "photo.png", "image/png")
    sealed = envelope.seal("see the photo", [attachment], conversation_id=CONVERSATION,
                           sender_signing_key=alice["signing"].private_key,
                           recipients=[(bob.active("encryption").fingerprint, bob.active("encryption").public_key)])
    message = {**e2e_message(alice, [bob.active("encryption")]), "id": sealed["message_id"], "envelope": sealed,
               "content_sha256": envelope.content_sha256(sealed), "attachment_ids": [attachment.id]}
    reported = json.loads(json.dumps(read(client, message, bob, contacts).as_dict()))
    assert reported["trust"] == "signed" and reported["body"] == "see the photo"
    assert reported["attachments"] == [{"id": attachment.id, "name": "photo.png", "content_type": "image/png"}]
