"""Key pairs and the proof of possession, checked against docs/key-registration.md's worked example."""
from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa, x25519

from beyou import keys

# docs/key-registration.md, "Worked example" (RFC 8032 §7.1 test 1 and RFC 7748 §6.1 Alice).
SIGNING_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
ENCRYPTION_KEY = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
SIGNING_CHALLENGE = (".eJwVyksKwzAMBcC7aF2BrMh-UW7jjwzZlZZCIeTuSWY9B-2DNlqmdG1rcK6W2AaCvS-FZerILcVaAXrR7xufe6N7lAJnmGY2"
                     "Gfc2axyC2dN0qfHs-L9pSyhQzS5yXhZ8HDQ.p-k1XDWX8QyJWySCocTdhbqWKPs")
ENCRYPTION_CHALLENGE = (".eJwNyksKQlEIANC9OE5Q8-rz7eZ-FN4siiCI9t6dHs4XrgUnDF6a1AVt3gu1jsSjN0ZJn7GodLDBDd6vfO69Lc080FUaKq3E"
                        "UB2Y5DW5gnr63vl5wMluLtLC6PcHJmQcZQ.MJBiKFrChzD9ZQROFNS01IxTk8Y")


@pytest.fixture
def signing_key() -> keys.KeyPair:
    return keys.KeyPair("signing", "ed25519", ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SIGNING_SEED)))


@pytest.fixture
def encryption_key() -> keys.KeyPair:
    return keys.KeyPair("encryption", "x25519",
                        x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(ENCRYPTION_KEY)))


def test_a_signing_key_registers_with_the_signature_of_its_own_statement(signing_key):
    body = keys.registration(signing_key, SIGNING_CHALLENGE, signing_key)
    assert signing_key.fingerprint == "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9"
    assert body == {
        "purpose": "signing", "algorithm": "ed25519", "challenge": SIGNING_CHALLENGE,
        "pem": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
               "-----END PUBLIC KEY-----\n",
        "signature": "wNZi6SkV/EMn/qwCQ1wXIGxQLZYGe9rQhSZu10vq8rzJgZs5SGMwJ4RFKj4bjnAT7QecLkviWnkk4jA8F3z0BA=="}


def test_an_encryption_key_registers_with_the_signing_keys_signature(signing_key, encryption_key):
    body = keys.registration(encryption_key, ENCRYPTION_CHALLENGE, signing_key)
    assert encryption_key.fingerprint == "291c5293e030452a599851a7c7298f3f16c3ff1bdfafcb598927f2631f9fa641"
    assert body["signature"] == ("duYpH7CJHkjwkFnDqqGT1dURB5gJqbrPsI7vgmfrQp6EmazszVt9Al7iNlTKVOJzw6PSu23R1yubJBmQA7tQDg==")


def test_an_encryption_key_cannot_vouch_and_a_signing_key_proves_only_itself(signing_key, encryption_key):
    other = keys.generate("signing")
    with pytest.raises(ValueError):
        keys.registration(signing_key, SIGNING_CHALLENGE, encryption_key)
    with pytest.raises(ValueError):
        keys.registration(signing_key, SIGNING_CHALLENGE, other)


def test_the_default_family_is_ed25519_for_signing_and_x25519_for_encryption():
    assert isinstance(keys.generate("signing").private_key, ed25519.Ed25519PrivateKey)
    assert isinstance(keys.generate("encryption").private_key, x25519.X25519PrivateKey)


def test_rsa_keys_have_3072_bits_and_sign_with_pss_as_the_registry_checks():
    key = keys.generate("signing", "rsa")
    assert isinstance(key.private_key, rsa.RSAPrivateKey) and key.private_key.key_size == 3072
    statement = keys.registration_statement("challenge", "signing", key.fingerprint)
    signature = base64.b64decode(keys.registration(key, "challenge", key)["signature"])
    assert keys.verify(key.public_key, signature, statement)
    assert not keys.verify(key.public_key, signature, statement + b".")


def test_a_fingerprint_is_shown_in_groups_of_four():
    assert keys.grouped("06e3fd8fda29bb60") == "06e3 fd8f da29 bb60"
