"""The client's end-to-end envelope (beyou.envelope) against the written format's test vectors
(docs/e2e-vectors.json), and sealing then opening across both key families."""
from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from beyou import envelope as e2e

DOCS = Path(__file__).resolve().parents[2] / "docs"
VECTORS = json.loads((DOCS / "e2e-vectors.json").read_text(encoding="utf-8"))
KEYS = {name: serialization.load_pem_private_key(key["private_pem"].encode(), password=None)
        for name, key in VECTORS["keys"].items()}
VALID = VECTORS["envelopes"]["valid"]
INVALID = VECTORS["envelopes"]["invalid"]
STANDARD = VECTORS["standard_messages"]
CONVERSATION = "c0de0001-5a1e-4c0a-8b1d-0000000000a1"


def names(vectors: list[dict]) -> list[str]:
    return [vector["name"] for vector in vectors]


def fingerprint_of(key_name: str) -> str:
    return VECTORS["keys"][key_name]["fingerprint"]


def recipient(key_name: str) -> tuple[str, object]:
    return fingerprint_of(key_name), KEYS[key_name].public_key()


def open_as(envelope: dict, encryption_key: str, *, signing_key: str, **where) -> e2e.Opened:
    return e2e.open_envelope(envelope, my_encryption_key=KEYS[encryption_key],
                             my_fingerprint=fingerprint_of(encryption_key),
                             sender_public_signing_key=KEYS[signing_key].public_key(), **where)


def attachment_of(vector: dict, index: int = 0) -> e2e.Attachment:
    value = vector["message"]["attachments"][index]
    return e2e.Attachment(value["id"], base64.b64decode(value["key"]), base64.b64decode(value["nonce"]),
                          value["name"], value["content_type"])


# --- the vectors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("vector", VALID, ids=names(VALID))
def test_every_participant_opens_a_valid_vector_to_its_message(vector):
    for encryption_key in vector["participants"].values():
        opened = open_as(vector["envelope"], encryption_key, signing_key=vector["sender"]["signing_key"],
                         conversation_id=vector["conversation_id"], message_id=vector["envelope"]["message_id"])

        assert opened.body == vector["message"]["body"]
        assert [a.to_json() for a in opened.attachments] == vector["message"].get("attachments", [])
        assert opened.sender_key == vector["envelope"]["sender_key"]
        assert opened.content_sha256 == vector["content_sha256"]


@pytest.mark.parametrize("vector", VALID, ids=names(VALID))
def test_the_signed_bytes_and_content_hash_are_the_vectors(vector):
    assert e2e.envelope_signed_bytes(vector["envelope"]).decode() == vector["signed_bytes"]
    assert e2e.content_sha256(vector["envelope"]) == vector["content_sha256"]
    aad = e2e.content_aad(vector["conversation_id"], vector["envelope"]["message_id"])
    assert aad.decode() == vector["content_aad"]


def test_an_attachment_of_the_vectors_decrypts_to_its_file():
    vector = VALID[0]
    file = vector["attachment_files"][0]

    data = e2e.decrypt_attachment(attachment_of(vector), base64.b64decode(file["ciphertext"]))

    assert data == base64.b64decode(file["plaintext"])


REFUSED_BY_READERS = [vector for vector in INVALID if vector["client"]]


@pytest.mark.parametrize("vector", REFUSED_BY_READERS, ids=names(REFUSED_BY_READERS))
def test_a_reader_refuses_an_invalid_vector_with_the_error_it_names(vector):
    client = vector["client"]
    error = getattr(e2e, client["error"])

    with pytest.raises(error):
        open_as(vector["envelope"], client["encryption_key"],
                signing_key=client.get("sender_signing_key", vector["sender"]["signing_key"]),
                conversation_id=client.get("conversation_id"))


def test_the_invalid_vectors_cover_every_error_a_reader_can_raise():
    raised = {vector["client"]["error"] for vector in REFUSED_BY_READERS}

    assert raised == {"MalformedEnvelope", "BadSignature", "Misplaced", "NotForMe", "TamperedCiphertext"}


def test_a_wrapped_key_the_sender_broke_still_opens_for_the_other_recipients():
    vector = next(v for v in INVALID if v["name"] == "garbage-wrapped-key-signed-by-sender")

    opened = open_as(vector["envelope"], "alice-encryption", signing_key="alice-signing")

    assert opened.body == VALID[0]["message"]["body"]


@pytest.mark.parametrize("vector", STANDARD["valid"], ids=names(STANDARD["valid"]))
def test_a_signed_standard_message_of_the_vectors_verifies(vector):
    e2e.verify_message(vector["body"], conversation_id=vector["conversation_id"], message_id=vector["message_id"],
                       sender_key=vector["sender_key"], signature=vector["signature"],
                       sender_public_signing_key=KEYS[vector["sender"]["signing_key"]].public_key())

    signed = e2e.message_signed_bytes(conversation_id=vector["conversation_id"], message_id=vector["message_id"],
                                      sender_key=vector["sender_key"], body=vector["body"])
    assert signed.decode() == vector["signed_bytes"]


def test_an_ed25519_standard_signature_is_the_vectors_byte_for_byte():
    vector = next(v for v in STANDARD["valid"] if v["name"] == "standard-ed25519")

    signed = e2e.sign_message(vector["body"], conversation_id=vector["conversation_id"],
                              message_id=vector["message_id"], sender_signing_key=KEYS["alice-signing"])

    assert signed == {"message_id": vector["message_id"], "sender_key": vector["sender_key"],
                      "signature": vector["signature"]}


@pytest.mark.parametrize("vector", STANDARD["invalid"], ids=names(STANDARD["invalid"]))
def test_a_refused_standard_message_of_the_vectors_does_not_verify(vector):
    with pytest.raises((e2e.BadSignature, e2e.MalformedEnvelope)):
        e2e.verify_message(vector["body"], conversation_id=vector["conversation_id"],
                           message_id=vector["message_id"], sender_key=vector["sender_key"],
                           signature=vector["signature"],
                           sender_public_signing_key=KEYS[vector["sender"]["signing_key"]].public_key())


def test_the_vectors_file_is_what_its_generator_writes():
    check = subprocess.run([sys.executable, str(DOCS / "e2e-vectors.py"), "--check"], capture_output=True, text=True)

    assert check.returncode == 0, check.stderr


# --- sealing ---------------------------------------------------------------------------------------

GROUP = ["alice-encryption", "bob-encryption", "carol-encryption", "dave-encryption"]


@pytest.mark.parametrize("signing_key", ["alice-signing", "bob-signing"])
def test_a_sealed_message_opens_for_every_recipient_of_either_family(signing_key):
    envelope = e2e.seal("Hello, everyone.\nSecond line.", conversation_id=CONVERSATION,
                        sender_signing_key=KEYS[signing_key], recipients=[recipient(name) for name in GROUP])

    for encryption_key in GROUP:
        opened = open_as(envelope, encryption_key, signing_key=signing_key, conversation_id=CONVERSATION)
        assert opened.body == "Hello, everyone.\nSecond line."
        assert opened.attachments == ()
    assert [entry["alg"] for entry in envelope["recipients"]].count(e2e.ALG_RSA) == 2
    assert uuid.UUID(envelope["message_id"]).version == 4


def test_sealing_the_same_message_twice_draws_fresh_keys_and_nonces():
    def sealed() -> dict:
        return e2e.seal("same", conversation_id=CONVERSATION, message_id="3f2b8c1e-6d4a-4b9e-8f7c-1a2b3c4d5e6f",
                        sender_signing_key=KEYS["alice-signing"], recipients=[recipient("carol-encryption")])

    first, second = sealed(), sealed()

    assert first["nonce"] != second["nonce"]
    assert first["ciphertext"] != second["ciphertext"]
    assert first["recipients"][0]["ephemeral_key"] != second["recipients"][0]["ephemeral_key"]


def test_an_attachment_sealed_with_a_message_opens_and_another_file_is_detected():
    menu, other = e2e.encrypt_attachment(b"Soup of the day"), e2e.encrypt_attachment(b"Something else")
    attachment = e2e.Attachment(str(uuid.uuid4()), menu.key, menu.nonce, "menu.txt", "text/plain")
    envelope = e2e.seal("The menu", [attachment], conversation_id=CONVERSATION,
                        sender_signing_key=KEYS["alice-signing"],
                        recipients=[recipient("alice-encryption"), recipient("carol-encryption")])

    opened = open_as(envelope, "carol-encryption", signing_key="alice-signing")

    assert opened.attachments == (attachment,)
    assert e2e.decrypt_attachment(opened.attachments[0], menu.ciphertext) == b"Soup of the day"
    with pytest.raises(e2e.TamperedCiphertext):
        e2e.decrypt_attachment(opened.attachments[0], other.ciphertext)


def test_a_reader_the_message_was_not_sealed_for_is_told_so():
    envelope = e2e.seal("not for Dave", conversation_id=CONVERSATION, sender_signing_key=KEYS["alice-signing"],
                        recipients=[recipient("alice-encryption"), recipient("carol-encryption")])

    with pytest.raises(e2e.NotForMe):
        open_as(envelope, "dave-encryption", signing_key="alice-signing")


def test_a_reader_who_holds_another_key_for_the_sender_sees_a_bad_signature():
    envelope = e2e.seal("from Alice", conversation_id=CONVERSATION, sender_signing_key=KEYS["alice-signing"],
                        recipients=[recipient("carol-encryption")])

    with pytest.raises(e2e.BadSignature):
        open_as(envelope, "carol-encryption", signing_key="carol-signing")


def test_an_envelope_served_as_another_message_is_misplaced():
    envelope = e2e.seal("first", conversation_id=CONVERSATION, sender_signing_key=KEYS["alice-signing"],
                        recipients=[recipient("carol-encryption")])

    with pytest.raises(e2e.Misplaced):
        open_as(envelope, "carol-encryption", signing_key="alice-signing", message_id=str(uuid.uuid4()))


def test_a_ciphertext_changed_after_sealing_is_caught_by_the_signature_before_any_decryption():
    envelope = e2e.seal("original", conversation_id=CONVERSATION, sender_signing_key=KEYS["bob-signing"],
                        recipients=[recipient("dave-encryption")])
    changed = copy.deepcopy(envelope)
    ciphertext = bytearray(base64.b64decode(changed["ciphertext"]))
    ciphertext[0] ^= 1
    changed["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()

    with pytest.raises(e2e.BadSignature):
        open_as(changed, "dave-encryption", signing_key="bob-signing")


def test_seal_refuses_a_fingerprint_that_is_not_its_keys():
    with pytest.raises(ValueError, match="not this key's fingerprint"):
        e2e.seal("hi", conversation_id=CONVERSATION, sender_signing_key=KEYS["alice-signing"],
                 recipients=[(fingerprint_of("alice-encryption"), KEYS["carol-encryption"].public_key())])


def test_seal_refuses_a_recipient_listed_twice():
    with pytest.raises(ValueError, match="listed twice"):
        e2e.seal("hi", conversation_id=CONVERSATION, sender_signing_key=KEYS["alice-signing"],
                 recipients=[recipient("carol-encryption"), recipient("carol-encryption")])


def test_seal_refuses_a_message_larger_than_an_envelope_carries():
    with pytest.raises(ValueError, match="too large"):
        e2e.seal("x" * e2e.MAX_CIPHERTEXT_BYTES, conversation_id=CONVERSATION,
                 sender_signing_key=KEYS["alice-signing"], recipients=[recipient("alice-encryption")])


def test_a_signed_standard_message_verifies_and_a_changed_body_does_not():
    signed = e2e.sign_message("Meet at noon", conversation_id=CONVERSATION, sender_signing_key=KEYS["bob-signing"])

    def verify(body: str) -> None:
        e2e.verify_message(body, conversation_id=CONVERSATION,
                           sender_public_signing_key=KEYS["bob-signing"].public_key(), **signed)

    verify("Meet at noon")
    with pytest.raises(e2e.BadSignature):
        verify("Meet at one")
