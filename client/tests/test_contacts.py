"""Contacts' keys: pinned on first use; a change warns, keeps the old key and unverifies the contact."""
from __future__ import annotations

import pytest

from beyou import keys
from beyou.contacts import Contacts, KeyMismatch

ALICE = "a11ce000-0000-4000-8000-000000000001"


def published(key: keys.KeyPair) -> dict:
    return {"fingerprint": key.fingerprint, "algorithm": key.algorithm, "pem": key.public_pem}


@pytest.fixture
def alice_keys() -> dict[str, keys.KeyPair]:
    return {purpose: keys.generate(purpose) for purpose in keys.PURPOSES}


@pytest.fixture
def book(tmp_path) -> Contacts:
    return Contacts(tmp_path / "contacts.json", owner_id="b0b00000-0000-4000-8000-000000000002")


def test_keys_seen_for_the_first_time_are_pinned(book, alice_keys):
    check = book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    assert check.status == "new" and check.warning is None
    assert book.get(ALICE).signing.fingerprint == alice_keys["signing"].fingerprint
    assert not book.get(ALICE).verified


def test_the_same_keys_again_change_nothing(book, alice_keys):
    book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    book.mark_verified(ALICE)
    check = book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    assert check.status == "unchanged" and book.get(ALICE).verified


def test_a_changed_key_warns_keeps_the_old_one_and_unverifies_the_contact(book, alice_keys):
    book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    book.mark_verified(ALICE)
    new_encryption = keys.generate("encryption")
    check = book.observe(ALICE, "alice", {"signing": published(alice_keys["signing"]),
                                          "encryption": published(new_encryption)})
    assert (check.status, check.changed, check.was_verified) == ("changed", ("encryption",), True)
    assert "alice's encryption key changed" in check.warning and "beyou keys verify alice" in check.warning
    contact = book.get(ALICE)
    assert not contact.verified and contact.encryption.fingerprint == new_encryption.fingerprint
    assert contact.known_key(alice_keys["encryption"].fingerprint) is not None


def test_pins_and_verification_survive_a_reload(tmp_path, book, alice_keys):
    book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    book.mark_verified(ALICE)
    book.save()
    reloaded = Contacts(tmp_path / "contacts.json")
    assert reloaded.owner_id == book.owner_id
    assert reloaded.find("@Alice").verified
    assert reloaded.get(ALICE).safety_number().splitlines()[0] == keys.grouped(alice_keys["signing"].fingerprint)


def test_a_key_whose_pem_is_not_its_fingerprints_is_refused(book, alice_keys):
    forged = {**published(alice_keys["signing"]), "pem": alice_keys["encryption"].public_pem}
    with pytest.raises(KeyMismatch):
        book.observe(ALICE, "alice", {"signing": forged})
    assert book.get(ALICE) is None
