"""Contacts' keys, pinned on first use (TOFU), and verified out of band.

The server tells the client which keys to encrypt for. The first time the client
sees a user's keys it pins them; from then on a different key for that user is a
*change*: the client warns, pins the new key (the old one is kept, to verify that
user's old messages) and resets the contact to unverified, until the user compares
fingerprints with the contact in person or over another channel and runs
`beyou keys verify USER` again. A key change is what a compromised or lying server
would have to do to read along, and also what a contact's legitimate key rotation
looks like: only the out-of-band comparison tells them apart.

The file (contacts.json, 0600) is not secret but its integrity matters: it is the
record of what the user trusts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

from beyou import keys as keylib
from beyou.home import read_json, write_json


class KeyMismatch(Exception):
    """A key's PEM does not have the fingerprint it was given with: the server answered nonsense."""


@dataclass
class PinnedKey:
    purpose: str
    fingerprint: str
    algorithm: str
    pem: str
    pinned_at: str


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

    @property
    def warning(self) -> str | None:
        if self.status != "changed":
            return None
        who = self.contact.username or self.contact.user_id
        lost = " It was verified; it is not any more." if self.was_verified else ""
        return (f"{who}'s {' and '.join(self.changed)} key changed. This happens when they set up new keys, "
                f"or when someone is trying to read along.{lost} Compare fingerprints with them "
                f"(beyou keys verify {who}).")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Contacts:
    """The pinned keys of everyone this client has talked to, stored in one file."""

    def __init__(self, path: Path, owner_id: str | None = None) -> None:
        self.path = path
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
        `previous`, and makes the contact unverified. Call save() afterwards.
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
        if new:
            return KeyCheck("new", contact)
        if not changed:
            return KeyCheck("unchanged", contact)
        was_verified = contact.verified
        contact.verified, contact.verified_at = False, None
        return KeyCheck("changed", contact, tuple(changed), was_verified)

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
