"""The leaves' bytes (docs/ledger-formats.md §2): the worked example, round trips, and every refusal."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa, x25519

from ledger.leaves import (KIND_KEY_REGISTERED, KIND_KEY_REVOKED, KIND_MESSAGE, MAX_LEAF_BYTES, KeyRegisteredLeaf,
                           KeyRevokedLeaf, LeafError, MessageLeaf, decode_leaf, encode_leaf, key_der_from_pem)

UTC = dt.timezone.utc
ALICE = uuid.UUID("a11ce000-0000-4000-8000-000000000001")
# RFC 8032 §7.1 test 1: Alice's signing key in docs/e2e-envelope.md §12.
ALICE_SIGNING_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
ALICE_SIGNING_FINGERPRINT = "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9"

EXAMPLE_MESSAGE = MessageLeaf(
    message_id=uuid.UUID("3f2b8c1e-6d4a-4b9e-8f7c-1a2b3c4d5e6f"),
    conversation_id=uuid.UUID("c0de0001-5a1e-4c0a-8b1d-0000000000a1"),
    sender_id=ALICE,
    content_sha256="111aebc7c2ab9aa14a020934cdd1b73764a07693931fd51ddf4c85cdea3f19f6",
    signature_fingerprint=ALICE_SIGNING_FINGERPRINT,
    created_at=dt.datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC),
)
EXAMPLE_MESSAGE_HEX = (
    "0101" "3f2b8c1e6d4a4b9e8f7c1a2b3c4d5e6f" "c0de00015a1e4c0a8b1d0000000000a1" "a11ce000000040008000000000000001"
    "111aebc7c2ab9aa14a020934cdd1b73764a07693931fd51ddf4c85cdea3f19f6"
    "01" "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9" "00064752550dd240")
EXAMPLE_MESSAGE_LEAF_HASH = "4dc7806daaec1348ae8eac8e009e189e9afcf68a01487b775702802f1e67d4c2"
EXAMPLE_KEY_HEX = (
    "0201" "a11ce000000040008000000000000001" "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9"
    "01" "02" "0006473c1ec37600"
    "002c" "302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


def der_of(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def pem_of(public_key) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def der_sequence(body: bytes) -> bytes:
    return b"\x30" + der_length(len(body)) + body


def registration(public_key, purpose: str, algorithm: str) -> KeyRegisteredLeaf:
    der = der_of(public_key)
    return KeyRegisteredLeaf(ALICE, hashlib.sha256(der).hexdigest(), purpose, algorithm,
                             dt.datetime(2025, 12, 31, 9, 30, tzinfo=UTC), der)


ALICE_KEY = registration(ed25519.Ed25519PrivateKey.from_private_bytes(ALICE_SIGNING_SEED).public_key(),
                         "signing", "ed25519")


# --- the worked example ---------------------------------------------------------------------

def test_the_example_message_leaf_has_the_documented_bytes_and_leaf_hash():
    leaf = encode_leaf(EXAMPLE_MESSAGE)

    assert leaf.hex() == EXAMPLE_MESSAGE_HEX
    assert len(leaf) == 123
    assert hashlib.sha256(b"\x00" + leaf).hexdigest() == EXAMPLE_MESSAGE_LEAF_HASH


def test_the_example_key_registration_leaf_has_the_documented_bytes():
    assert encode_leaf(ALICE_KEY).hex() == EXAMPLE_KEY_HEX
    assert ALICE_KEY.fingerprint == ALICE_SIGNING_FINGERPRINT


# --- round trips ----------------------------------------------------------------------------

def test_a_signed_message_leaf_decodes_to_the_same_record():
    assert decode_leaf(bytes.fromhex(EXAMPLE_MESSAGE_HEX)) == EXAMPLE_MESSAGE


def test_an_unsigned_message_leaf_is_32_bytes_shorter_and_round_trips():
    unsigned = dataclasses.replace(EXAMPLE_MESSAGE, signature_fingerprint=None)

    leaf = encode_leaf(unsigned)

    assert len(leaf) == 91
    assert leaf[82] == 0x00
    assert decode_leaf(leaf) == unsigned


@pytest.mark.parametrize("purpose, algorithm, make_key", [
    ("signing", "ed25519", lambda: ed25519.Ed25519PrivateKey.generate()),
    ("encryption", "x25519", lambda: x25519.X25519PrivateKey.generate()),
    ("signing", "rsa", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ("encryption", "rsa", lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072)),
], ids=["ed25519", "x25519", "rsa-2048-signing", "rsa-3072-encryption"])
def test_a_key_registration_round_trips_for_every_algorithm(purpose, algorithm, make_key):
    leaf = registration(make_key().public_key(), purpose, algorithm)

    data = encode_leaf(leaf)

    assert data[:2] == bytes((KIND_KEY_REGISTERED, 1))
    assert decode_leaf(data) == leaf


def test_a_key_revocation_round_trips():
    leaf = KeyRevokedLeaf(ALICE, ALICE_SIGNING_FINGERPRINT, "signing", dt.datetime(2026, 2, 1, tzinfo=UTC))

    data = encode_leaf(leaf)

    assert data[:2] == bytes((KIND_KEY_REVOKED, 1))
    assert len(data) == 59
    assert decode_leaf(data) == leaf


def test_the_der_from_auths_pem_has_auths_fingerprint():
    key = ed25519.Ed25519PrivateKey.from_private_bytes(ALICE_SIGNING_SEED).public_key()

    der = key_der_from_pem(pem_of(key))

    assert hashlib.sha256(der).hexdigest() == ALICE_SIGNING_FINGERPRINT


def test_a_private_key_or_garbage_is_not_a_public_key_pem():
    private_pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()

    for pem in (private_pem, "not a key", ""):
        with pytest.raises(LeafError):
            key_der_from_pem(pem)


# --- times ----------------------------------------------------------------------------------

def test_a_time_in_another_zone_is_stored_as_the_same_instant_and_read_back_in_utc():
    paris = dt.timezone(dt.timedelta(hours=1))
    leaf = dataclasses.replace(EXAMPLE_MESSAGE, created_at=dt.datetime(2026, 1, 1, 13, 0, 0, 123456, tzinfo=paris))

    decoded = decode_leaf(encode_leaf(leaf))

    assert encode_leaf(leaf) == bytes.fromhex(EXAMPLE_MESSAGE_HEX)
    assert decoded.created_at == EXAMPLE_MESSAGE.created_at
    assert decoded.created_at.tzinfo == UTC


def test_the_epoch_itself_is_a_valid_time():
    leaf = dataclasses.replace(EXAMPLE_MESSAGE, created_at=dt.datetime(1970, 1, 1, tzinfo=UTC))

    assert encode_leaf(leaf)[-8:] == bytes(8)
    assert decode_leaf(encode_leaf(leaf)) == leaf


@pytest.mark.parametrize("created_at", [
    dt.datetime(2026, 1, 1, 12, 0),                                # naive
    dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),     # before the epoch
    "2026-01-01T12:00:00Z",
], ids=["naive", "before-1970", "a-string"])
def test_a_time_that_is_naive_before_1970_or_not_a_datetime_is_refused(created_at):
    with pytest.raises(LeafError, match="created_at"):
        encode_leaf(dataclasses.replace(EXAMPLE_MESSAGE, created_at=created_at))


def test_a_time_beyond_year_9999_does_not_decode():
    leaf = bytes.fromhex(EXAMPLE_MESSAGE_HEX)[:-8] + b"\xff" * 8

    with pytest.raises(LeafError):
        decode_leaf(leaf)


# --- what encode refuses --------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"content_sha256": EXAMPLE_MESSAGE.content_sha256.upper()},
    {"content_sha256": EXAMPLE_MESSAGE.content_sha256[:-2]},
    {"signature_fingerprint": "zz" * 32},
    {"message_id": str(EXAMPLE_MESSAGE.message_id)},
    {"sender_id": None},
], ids=["uppercase-hex", "short-hash", "not-hex", "id-as-string", "no-sender"])
def test_a_message_with_a_malformed_field_is_refused(change):
    with pytest.raises(LeafError):
        encode_leaf(dataclasses.replace(EXAMPLE_MESSAGE, **change))


def test_a_registration_whose_fingerprint_is_not_the_hash_of_its_key_is_refused():
    other = hashlib.sha256(b"another key").hexdigest()

    with pytest.raises(LeafError, match="fingerprint"):
        encode_leaf(dataclasses.replace(ALICE_KEY, fingerprint=other))


def test_a_registration_whose_key_is_not_of_its_algorithm_is_refused():
    with pytest.raises(LeafError, match="not an rsa key"):
        encode_leaf(dataclasses.replace(ALICE_KEY, algorithm="rsa"))


@pytest.mark.parametrize("purpose, algorithm", [("encryption", "ed25519"), ("signing", "x25519")])
def test_a_key_cannot_be_registered_for_a_purpose_its_algorithm_cannot_serve(purpose, algorithm):
    with pytest.raises(LeafError, match="cannot be used"):
        encode_leaf(dataclasses.replace(ALICE_KEY, purpose=purpose, algorithm=algorithm))


@pytest.mark.parametrize("change", [{"purpose": "authentication"}, {"algorithm": "ecdsa"}])
def test_an_unknown_purpose_or_algorithm_is_refused(change):
    with pytest.raises(LeafError):
        encode_leaf(dataclasses.replace(ALICE_KEY, **change))


def test_der_that_is_not_a_key_is_refused_even_with_a_matching_fingerprint():
    der = b"\x30\x03\x02\x01\x00"

    with pytest.raises(LeafError, match="DER"):
        encode_leaf(dataclasses.replace(ALICE_KEY, der=der, fingerprint=hashlib.sha256(der).hexdigest()))


def test_something_that_is_not_a_leaf_is_refused():
    with pytest.raises(LeafError):
        encode_leaf(ALICE)


# --- what decode refuses --------------------------------------------------------------------

def test_every_truncation_of_a_leaf_is_refused():
    for data in (bytes.fromhex(EXAMPLE_MESSAGE_HEX), bytes.fromhex(EXAMPLE_KEY_HEX), encode_leaf(
            KeyRevokedLeaf(ALICE, ALICE_SIGNING_FINGERPRINT, "signing", dt.datetime(2026, 2, 1, tzinfo=UTC)))):
        for length in range(len(data)):
            with pytest.raises(LeafError):
                decode_leaf(data[:length])


def test_a_byte_after_the_end_of_a_leaf_is_refused():
    for data in (bytes.fromhex(EXAMPLE_MESSAGE_HEX), bytes.fromhex(EXAMPLE_KEY_HEX)):
        with pytest.raises(LeafError, match="after the end"):
            decode_leaf(data + b"\x00")


@pytest.mark.parametrize("kind", [0, 4, 255])
def test_an_unknown_kind_is_refused(kind):
    with pytest.raises(LeafError, match="kind"):
        decode_leaf(bytes((kind,)) + bytes.fromhex(EXAMPLE_MESSAGE_HEX)[1:])


@pytest.mark.parametrize("version", [0, 2])
def test_an_unknown_version_is_refused(version):
    for kind in (KIND_MESSAGE, KIND_KEY_REGISTERED, KIND_KEY_REVOKED):
        with pytest.raises(LeafError, match="version"):
            decode_leaf(bytes((kind, version)) + bytes.fromhex(EXAMPLE_MESSAGE_HEX)[2:])


def test_a_signature_flag_other_than_0_or_1_is_refused():
    data = bytearray.fromhex(EXAMPLE_MESSAGE_HEX)
    data[82] = 2

    with pytest.raises(LeafError, match="flag"):
        decode_leaf(bytes(data))


@pytest.mark.parametrize("offset, value", [(50, 0), (50, 3), (51, 0), (51, 4)],
                         ids=["purpose-0", "purpose-3", "algorithm-0", "algorithm-4"])
def test_an_unknown_purpose_or_algorithm_code_is_refused(offset, value):
    data = bytearray.fromhex(EXAMPLE_KEY_HEX)
    data[offset] = value

    with pytest.raises(LeafError, match="code"):
        decode_leaf(bytes(data))


def test_a_registration_leaf_whose_key_was_changed_is_refused():
    data = bytearray.fromhex(EXAMPLE_KEY_HEX)
    data[-1] ^= 0x01

    with pytest.raises(LeafError, match="fingerprint"):
        decode_leaf(bytes(data))


def test_a_registration_leaf_naming_another_algorithm_is_refused():
    data = bytearray.fromhex(EXAMPLE_KEY_HEX)
    data[51] = 3   # x25519, but the key is Ed25519

    with pytest.raises(LeafError):
        decode_leaf(bytes(data))


def test_an_rsa_key_under_the_rsassa_pss_identifier_is_refused():
    # The DER loads as an RSA key, but auth's fingerprints are of the rsaEncryption form
    # (docs/key-registration.md §2): a leaf holds a key's canonical DER only.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    rsa_public_key = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    pss_identifier = der_sequence(bytes.fromhex("06092a864886f70d01010a"))
    der = der_sequence(pss_identifier + b"\x03" + der_length(len(rsa_public_key) + 1) + b"\x00" + rsa_public_key)
    leaf = KeyRegisteredLeaf(ALICE, hashlib.sha256(der).hexdigest(), "signing", "rsa",
                             dt.datetime(2025, 12, 31, 9, 30, tzinfo=UTC), der)

    with pytest.raises(LeafError, match="canonical"):
        encode_leaf(leaf)


def test_more_than_the_largest_leaf_is_refused_before_it_is_read():
    with pytest.raises(LeafError, match="at most"):
        decode_leaf(bytes.fromhex(EXAMPLE_MESSAGE_HEX) + bytes(MAX_LEAF_BYTES))
