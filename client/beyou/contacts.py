"""Contacts' keys, pinned on first use (TOFU), and verified out of band.

The server tells the client which keys to encrypt for. The first time the client
sees a user's keys it pins them; from then on a different key for that user is a
*change*: the client warns, pins the new key (the old one is kept, to verify that
user's old messages) and resets the contact to unverified, until the user compares
fingerprints with the contact in person or over another channel and runs
`beyou keys verify USER` again. A key change is what a compromised or lying server
would have to do to read along, and also what a contact's legitimate key rotation
looks like: only the out-of-band comparison tells them apart.

Before a key is first used, the client checks that the server published it: that its
registration is in the ledger (key transparency, `beyou.ledger`), so the server
cannot hand out a key for someone without leaving a public record of it. A key the
ledger does not show, or whose proof does not verify, is pinned all the same (the
ledger logs in blocks, so a brand-new key may not be in it yet) but warned about and
flagged "not in ledger"; the check is repeated whenever that contact's keys are seen
again, and a later success clears the flag.

The file (contacts.json, 0600) is not secret but its integrity matters: it is the
record of what the user trusts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import requests

from beyou import keys as keylib
from beyou.api import ProblemError
from beyou.home import read_json, write_json
from beyou.ledger import LedgerVerificationError, Verdict


class KeyMismatch(Exception):
    """A key's PEM does not have the fingerprint it was given with: the server answered nonsense."""


class KeyLedger(Protocol):
    """Where keys' registrations are proven (beyou.ledger.LedgerClient)."""

    def verify_key(self, fingerprint: str, *, user_id: str | None = None,
                   purpose: str | None = None) -> Verdict: ...


@dataclass
class PinnedKey:
    purpose: str
    fingerprint: str
    algorithm: str
    pem: str
    pinned_at: str
    # The ledger's answer when the key was last checked: None (not checked: no ledger at hand), "verified"
    # (its registration is proven in a signed checkpoint), or why not: "missing", "pending", "failed",
    # "unreachable" (and ledger_problem says it in words).
    ledger: str | None = None
    ledger_checked_at: str | None = None
    ledger_problem: str | None = None

    @property
    def in_ledger(self) -> bool | None:
        """True once proven in the ledger, False if the last check did not prove it, None if never checked."""
        return None if self.ledger is None else self.ledger == "verified"


@dataclass
class Contact:
    user_id: str
    username: str | None = None
    signing: PinnedKey | None = None
    encryption: PinnedKey | None = None
    verified: bool = False
    verified_at: str | None = None
    # Keys pinned before the current ones: they still verify that contact's old messages.
    previous: list[PinnedKey] = field(default_factory=list)

    def current(self, purpose: str) -> PinnedKey | None:
        return self.signing if purpose == "signing" else self.encryption

    @property
    def not_in_ledger(self) -> list[PinnedKey]:
        """The current keys whose last ledger check did not prove them logged."""
        return [key for key in (self.signing, self.encryption) if key is not None and key.in_ledger is False]

    def known_key(self, fingerprint: str) -> PinnedKey | None:
        """A key this contact has been seen with, current or previous."""
        for key in (self.signing, self.encryption, *self.previous):
            if key is not None and key.fingerprint == fingerprint:
                return key
        return None

    def safety_number(self) -> str:
        """What two people compare: the signing and encryption fingerprints, in groups."""
        parts = [key.fingerprint for key in (self.signing, self.encryption) if key]
        return "\n".join(keylib.grouped(part) for part in parts)


@dataclass(frozen=True)
class KeyCheck:
    """What observing a user's keys found: "new" (pinned now), "unchanged", or "changed"."""

    status: str
    contact: Contact
    changed: tuple[str, ...] = ()        # the purposes whose key changed
    was_verified: bool = False           # the contact had been verified before this change
    ledger_warnings: tuple[str, ...] = ()   # keys the ledger did not prove (used all the same)

    @property
    def warning(self) -> str | None:
        warnings = list(self.ledger_warnings)
        if self.status == "changed":
            who = self.contact.username or self.contact.user_id
            lost = " It was verified; it is not any more." if self.was_verified else ""
            warnings.insert(0, f"{who}'s {' and '.join(self.changed)} key changed. This happens when they set up "
                               f"new keys, or when someone is trying to read along.{lost} Compare fingerprints "
                               f"with them (beyou keys verify {who}).")
        return " ".join(warnings) or None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Contacts:
    """The pinned keys of everyone this client has talked to, stored in one file."""

    def __init__(self, path: Path, owner_id: str | None = None, *, ledger: KeyLedger | None = None) -> None:
        self.path = path
        self.ledger = ledger            # without one, keys are pinned unchecked (ledger None)
        stored = read_json(path) or {}
        self.owner_id = stored.get("owner_id") or owner_id
        self._contacts = {user_id: _contact(data) for user_id, data in (stored.get("contacts") or {}).items()}

    def save(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_json(self.path, {"owner_id": self.owner_id,
                               "contacts": {user_id: asdict(contact) for user_id, contact in self._contacts.items()}})

    def get(self, user_id: str) -> Contact | None:
        return self._contacts.get(str(user_id))

    def find(self, name: str) -> Contact | None:
        """A contact by username (any case) or user id."""
        name = name.lstrip("@")
        return self.get(name) or next(
            (c for c in self._contacts.values() if c.username and c.username.lower() == name.lower()), None)

    def all(self) -> list[Contact]:
        return sorted(self._contacts.values(), key=lambda contact: (contact.username or "", contact.user_id))

    def observe(self, user_id: str, username: str | None, keys: dict[str, dict]) -> KeyCheck:
        """Check a user's current keys (`{purpose: {fingerprint, algorithm, pem}}`) against the pinned ones.

        Pins them the first time; a different key replaces the pinned one, keeps the old one in
        `previous`, and makes the contact unverified. With a ledger, each key pinned now, and each current
        key not proven in the ledger yet, is checked there (a failure warns and flags, never refuses).
        Call save() afterwards.
        """
        user_id = str(user_id)
        contact = self._contacts.get(user_id)
        new = contact is None
        if contact is None:
            contact = Contact(user_id=user_id)
        # Every key is checked before anything changes: a bad one pins nothing.
        incoming = {purpose: _pinned(purpose, key) for purpose, key in keys.items()
                    if key and (contact.current(purpose) is None
                                or contact.current(purpose).fingerprint != key["fingerprint"])}
        self._contacts[user_id] = contact
        if username:
            contact.username = username
        changed = []
        for purpose, key in incoming.items():
            pinned = contact.current(purpose)
            if pinned is not None:
                changed.append(purpose)
                contact.previous.append(pinned)
            setattr(contact, purpose, key)
        warnings = tuple(self._check_in_ledger(contact, key) for key in self._unproven(contact))
        warnings = tuple(warning for warning in warnings if warning)
        if new:
            return KeyCheck("new", contact, ledger_warnings=warnings)
        if not changed:
            return KeyCheck("unchanged", contact, ledger_warnings=warnings)
        was_verified = contact.verified
        contact.verified, contact.verified_at = False, None
        return KeyCheck("changed", contact, tuple(changed), was_verified, warnings)

    def recheck_ledger(self) -> list[str]:
        """Check every contact's current keys in the ledger again (a later success clears the flag); the
        warnings for those it still does not prove. Call save() afterwards."""
        if self.ledger is None:
            raise ValueError("no ledger to check keys in")
        warnings = [self._check_in_ledger(contact, key) for contact in self.all()
                    for key in (contact.signing, contact.encryption) if key is not None]
        return [warning for warning in warnings if warning]

    def _unproven(self, contact: Contact) -> list[PinnedKey]:
        if self.ledger is None:
            return []
        return [key for key in (contact.signing, contact.encryption) if key is not None and key.in_ledger is not True]

    def _check_in_ledger(self, contact: Contact, key: PinnedKey) -> str | None:
        """Ask the ledger to prove the key's registration as this contact's; record the answer on the key,
        and say what is wrong if it is not proven (or was revoked)."""
        try:
            verdict = self.ledger.verify_key(key.fingerprint, user_id=contact.user_id, purpose=key.purpose)
        except (LedgerVerificationError, ProblemError, requests.RequestException) as error:
            # Even a ledger that forked, or cannot be reached, does not stop the conversation: it is flagged.
            verdict = Verdict("key", key.fingerprint, "unreachable", f"the ledger could not be checked: {error}")
        revoked = verdict.revocation
        key.ledger, key.ledger_checked_at = verdict.status, _now()
        key.ledger_problem = f"revoked at {revoked.deactivated_at.isoformat(timespec='seconds')}" if revoked \
            else verdict.problem
        who = contact.username or contact.user_id
        if not verdict.verified:
            return (f"{who}'s {key.purpose} key {key.fingerprint[:16]}… is not proven in the ledger "
                    f"({key.ledger_problem}). A new key may not be logged yet (the ledger logs in blocks); a key "
                    "never logged is one the server did not publish. It is used all the same, and checked again "
                    "next time.")
        if revoked:
            return (f"{who}'s {key.purpose} key {key.fingerprint[:16]}… was {key.ledger_problem} by the ledger's "
                    "record, yet the server still hands it out.")
        return None

    def mark_verified(self, user_id: str) -> Contact:
        contact = self._contacts[str(user_id)]
        contact.verified, contact.verified_at = True, _now()
        return contact


def _pinned(purpose: str, key: dict) -> PinnedKey:
    """The key as pinned, once its PEM is checked to be the key its fingerprint names."""
    public_key = keylib.load_public_pem(key["pem"])
    actual = keylib.fingerprint(public_key)
    if actual != key["fingerprint"]:
        raise KeyMismatch(f"the {purpose} key given as {key['fingerprint']} has the fingerprint {actual}")
    return PinnedKey(purpose, actual, keylib.algorithm_of(public_key), key["pem"], _now())


def _contact(data: dict) -> Contact:
    def key(value: dict | None) -> PinnedKey | None:
        return PinnedKey(**value) if value else None
    return Contact(user_id=data["user_id"], username=data.get("username"), signing=key(data.get("signing")),
                   encryption=key(data.get("encryption")), verified=bool(data.get("verified")),
                   verified_at=data.get("verified_at"), previous=[PinnedKey(**k) for k in data.get("previous", [])])
