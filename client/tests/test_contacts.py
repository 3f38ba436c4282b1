"""Contacts' keys: pinned on first use; a change warns, keeps the old key and unverifies the contact; a key the
ledger does not prove is pinned all the same, with a warning and a flag, until a later check proves it."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests

from beyou import keys
from beyou.contacts import Contacts, KeyMismatch
from beyou.ledger import KeyRevoked, LedgerVerificationError, Verdict

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


# --- the ledger check before first use of a key --------------------------------------------------------

class Ledger:
    """A key ledger that gives the verdict (or the error) each test sets per fingerprint; by default the
    key is missing. It records what it was asked."""

    def __init__(self) -> None:
        self.answers: dict[str, Verdict | Exception] = {}
        self.asked: list[tuple[str, str | None, str | None]] = []

    def verify_key(self, fingerprint: str, *, user_id: str | None = None, purpose: str | None = None) -> Verdict:
        self.asked.append((fingerprint, user_id, purpose))
        answer = self.answers.get(fingerprint, Verdict("key", fingerprint, "missing", "no record of this key"))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def proves(self, *keys_: keys.KeyPair) -> None:
        for key in keys_:
            self.answers[key.fingerprint] = Verdict("key", key.fingerprint, "verified")


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def checked_book(tmp_path, ledger) -> Contacts:
    return Contacts(tmp_path / "contacts.json", owner_id="b0b00000-0000-4000-8000-000000000002", ledger=ledger)


def test_without_a_ledger_keys_are_pinned_unchecked(book, alice_keys):
    book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    alice = book.get(ALICE)
    assert alice.signing.ledger is None and alice.signing.in_ledger is None and alice.not_in_ledger == []


def test_a_key_the_ledger_proves_is_pinned_without_warning_and_not_checked_again(checked_book, ledger, alice_keys):
    ledger.proves(*alice_keys.values())
    check = checked_book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    assert check.status == "new" and check.warning is None
    assert sorted(ledger.asked) == sorted((k.fingerprint, ALICE, p) for p, k in alice_keys.items())
    checked_book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    assert len(ledger.asked) == 2 and checked_book.get(ALICE).signing.in_ledger


def test_a_key_missing_from_the_ledger_is_pinned_all_the_same_with_a_warning_and_a_flag(tmp_path, checked_book,
                                                                                        ledger, alice_keys):
    ledger.proves(alice_keys["signing"])
    check = checked_book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    assert check.status == "new"
    assert "alice's encryption key" in check.warning and "is not proven in the ledger (no record of this key)" \
        in check.warning and "used all the same" in check.warning
    checked_book.save()
    alice = Contacts(tmp_path / "contacts.json").get(ALICE)
    assert alice.encryption.fingerprint == alice_keys["encryption"].fingerprint
    assert [key.purpose for key in alice.not_in_ledger] == ["encryption"] and alice.encryption.ledger == "missing"


def test_a_flagged_key_is_checked_again_and_a_later_proof_clears_the_flag(checked_book, ledger, alice_keys):
    checked_book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    assert len(checked_book.get(ALICE).not_in_ledger) == 2
    ledger.proves(*alice_keys.values())
    again = checked_book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    assert again.status == "unchanged" and again.warning is None and checked_book.get(ALICE).not_in_ledger == []


def test_every_contacts_keys_can_be_checked_again_at_once(checked_book, ledger, alice_keys):
    checked_book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    ledger.proves(alice_keys["signing"])
    warnings = checked_book.recheck_ledger()
    assert len(warnings) == 1 and "encryption key" in warnings[0]
    assert [key.purpose for key in checked_book.get(ALICE).not_in_ledger] == ["encryption"]


def test_a_ledger_that_cannot_be_reached_or_does_not_verify_does_not_stop_pinning(checked_book, ledger, alice_keys):
    ledger.answers[alice_keys["signing"].fingerprint] = requests.ConnectionError("refused")
    ledger.answers[alice_keys["encryption"].fingerprint] = LedgerVerificationError("the note is not signed")
    check = checked_book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    alice = checked_book.get(ALICE)
    assert check.status == "new" and alice.signing.ledger == alice.encryption.ledger == "unreachable"
    assert "the ledger could not be checked: refused" in check.warning


def test_a_key_the_ledger_has_as_revoked_is_warned_about(checked_book, ledger, alice_keys):
    ledger.proves(*alice_keys.values())
    signing = alice_keys["signing"].fingerprint
    ledger.answers[signing] = Verdict("key", signing, "verified", revocation=KeyRevoked(
        uuid.UUID(ALICE), signing, "signing", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    check = checked_book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    assert "alice's signing key" in check.warning and "revoked at 2026-01-01T00:00:00+00:00" in check.warning
    assert "still hands it out" in check.warning


def test_a_changed_key_warns_of_the_change_and_of_the_ledger(checked_book, ledger, alice_keys):
    ledger.proves(*alice_keys.values())
    checked_book.observe(ALICE, "alice", {p: published(k) for p, k in alice_keys.items()})
    new_signing = keys.generate("signing")
    check = checked_book.observe(ALICE, "alice", {"signing": published(new_signing),
                                                  "encryption": published(alice_keys["encryption"])})
    assert check.status == "changed" and check.warning.startswith("alice's signing key changed.")
    assert "is not proven in the ledger" in check.warning
