"""The server's check of an end-to-end envelope and of a standard message's signature, against the
written format's test vectors (docs/e2e-vectors.json) and its limits."""
from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path

import pytest
from servicekit.errors import Invalid

from messaging.envelope import KeyRecord, check_envelope, check_message_signature

VECTORS = json.loads((Path(__file__).resolve().parents[3] / "docs" / "e2e-vectors.json").read_text(encoding="utf-8"))
VALID = VECTORS["envelopes"]["valid"]
INVALID = VECTORS["envelopes"]["invalid"]
STANDARD = VECTORS["standard_messages"]
DIRECT = VALID[0]   # Alice (Ed25519) to Carol (X25519)
RSA_ONLY = next(vector for vector in VALID if vector["name"] == "rsa-rsa-direct")


def names(vectors: list[dict]) -> list[str]:
    return [vector["name"] for vector in vectors]


def key(name: str | None) -> KeyRecord | None:
    if name is None:
        return None
    record = VECTORS["keys"][name]
    return KeyRecord(record["fingerprint"], record["algorithm"], record["public_pem"])


def user_id(name: str) -> uuid.UUID:
    return uuid.UUID(VECTORS["users"][name]["id"])


def check(vector: dict, envelope: dict | None = None, **overrides):
    arguments = {
        "conversation_id": uuid.UUID(vector["conversation_id"]),
        "sender": key(vector["sender"]["signing_key"]),
        "participants": {user_id(user): key(name) for user, name in vector["participants"].items()},
    }
    return check_envelope(vector["envelope"] if envelope is None else envelope, **{**arguments, **overrides})


def refusal(vector: dict, envelope: dict | None = None, **overrides) -> dict:
    with pytest.raises(Invalid) as refused:
        check(vector, envelope, **overrides)
    return refused.value.errors


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- the vectors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("vector", VALID, ids=names(VALID))
def test_a_valid_vector_is_accepted_with_its_signed_bytes_and_content_hash(vector):
    checked = check(vector)

    assert checked.message_id == uuid.UUID(vector["envelope"]["message_id"])
    assert checked.sender_key == vector["envelope"]["sender_key"]
    assert checked.signed_bytes.decode() == vector["signed_bytes"]
    assert checked.content_sha256 == vector["content_sha256"]


REFUSED = [vector for vector in INVALID if not vector["server"]["accepts"]]
ACCEPTED = [vector for vector in INVALID if vector["server"]["accepts"]]


@pytest.mark.parametrize("vector", REFUSED, ids=names(REFUSED))
def test_an_invalid_vector_is_refused_naming_the_members_at_fault(vector):
    assert sorted(refusal(vector)) == vector["server"]["errors"]


@pytest.mark.parametrize("vector", ACCEPTED, ids=names(ACCEPTED))
def test_what_only_a_reader_can_detect_is_accepted_by_the_server(vector):
    """The server holds no private key: a broken wrapped key or ciphertext, signed by the sender, passes."""
    assert check(vector).message_id == uuid.UUID(vector["envelope"]["message_id"])


def test_a_stale_key_is_refused_naming_the_participant_and_the_stale_key():
    vector = next(v for v in INVALID if v["name"] == "stale-key")

    messages = " ".join(refusal(vector)["recipients"])

    assert VECTORS["users"]["carol"]["id"] in messages
    assert VECTORS["keys"]["carol-encryption-old"]["fingerprint"] in messages


def test_a_removed_member_still_in_the_recipients_is_named():
    vector = next(v for v in INVALID if v["name"] == "extra-recipient")

    [message] = refusal(vector)["recipients"]

    assert VECTORS["keys"]["carol-encryption"]["fingerprint"] in message


# --- limits and types ----------------------------------------------------------------------------------

def test_a_ciphertext_of_64_kib_passes_the_limit_and_one_byte_more_does_not():
    at_limit = {**DIRECT["envelope"], "ciphertext": b64(bytes(64 * 1024))}
    over_limit = {**DIRECT["envelope"], "ciphertext": b64(bytes(64 * 1024 + 1))}

    assert set(refusal(DIRECT, at_limit)) == {"signature"}   # well formed, just not what Alice signed
    assert set(refusal(DIRECT, over_limit)) == {"ciphertext"}


def test_more_than_a_thousand_recipients_are_refused():
    entry = DIRECT["envelope"]["recipients"][0]
    envelope = {**DIRECT["envelope"], "recipients": [entry] * 1001}

    assert set(refusal(DIRECT, envelope)) == {"recipients"}


@pytest.mark.parametrize("version", [True, 1.0, "1", None])
def test_a_version_that_is_not_the_integer_1_is_refused(version):
    assert set(refusal(DIRECT, {**DIRECT["envelope"], "v": version})) == {"v"}


def test_a_missing_member_is_named():
    envelope = {name: value for name, value in DIRECT["envelope"].items() if name != "nonce"}

    assert refusal(DIRECT, envelope) == {"nonce": ["Missing."]}


def test_what_is_not_an_object_is_refused():
    assert set(refusal(DIRECT, ["not", "an", "envelope"])) == {"envelope"}


def test_a_sender_without_an_active_signing_key_is_refused():
    assert set(refusal(DIRECT, sender=None)) == {"sender_key"}


def test_a_participant_without_an_encryption_key_is_named():
    participants = {user_id("alice"): key("alice-encryption"), user_id("carol"): key("carol-encryption"),
                    user_id("dave"): None}

    [message] = refusal(DIRECT, participants=participants)["recipients"]

    assert VECTORS["users"]["dave"]["id"] in message and "no active encryption key" in message


def test_an_rsa_wrapped_key_of_the_wrong_length_is_refused():
    envelope = copy.deepcopy(RSA_ONLY["envelope"])
    dave = next(e for e in envelope["recipients"] if e["key"] == VECTORS["keys"]["dave-encryption"]["fingerprint"])
    dave["wrapped_key"] = b64(bytes(256))   # a 2048-bit length for Dave's 3072-bit key

    [message] = refusal(RSA_ONLY, envelope)["recipients"]

    assert "must be 384 bytes" in message


def test_an_rsa_signature_of_the_wrong_length_is_refused():
    envelope = {**RSA_ONLY["envelope"], "signature": b64(bytes(64))}

    assert set(refusal(RSA_ONLY, envelope)) == {"signature"}


# --- standard messages --------------------------------------------------------------------------------

def check_standard(vector: dict, **overrides):
    arguments = {
        "body": vector["body"], "conversation_id": uuid.UUID(vector["conversation_id"]),
        "message_id": uuid.UUID(vector["message_id"]), "sender_key": vector["sender_key"],
        "signature": vector["signature"], "sender": key(vector["sender"]["signing_key"]),
    }
    return check_message_signature(**{**arguments, **overrides})


@pytest.mark.parametrize("vector", STANDARD["valid"], ids=names(STANDARD["valid"]))
def test_a_signed_standard_message_of_the_vectors_is_accepted(vector):
    checked = check_standard(vector)

    assert checked.signed_bytes.decode() == vector["signed_bytes"]
    assert checked.sender_key == vector["sender_key"]


@pytest.mark.parametrize("vector", STANDARD["invalid"], ids=names(STANDARD["invalid"]))
def test_a_refused_standard_message_of_the_vectors_is_refused_naming_the_member(vector):
    with pytest.raises(Invalid) as refused:
        check_standard(vector)

    assert sorted(refused.value.errors) == vector["errors"]


def test_a_body_that_is_not_unicode_text_cannot_carry_a_signature():
    with pytest.raises(Invalid) as refused:
        check_standard(STANDARD["valid"][0], body="broken \ud800 surrogate")

    assert set(refused.value.errors) == {"body"}


def test_a_signed_standard_message_needs_a_random_message_id():
    with pytest.raises(Invalid) as refused:
        check_standard(STANDARD["valid"][0], message_id=uuid.uuid1())

    assert set(refused.value.errors) == {"message_id"}
