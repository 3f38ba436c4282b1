"""My keys on the server: generating, registering (with proof of possession) and rotating them.

Keys are made locally and stored in the key file first ("pending"), then their
public halves are registered (docs/key-registration.md): the signing key first,
proving possession by signing its own statement, then the encryption key, vouched
for by the now active signing key. A registered key becomes "active" and the one
it replaces "retired" — kept, because old messages were sealed for it or signed
by it. `save` is called after every step, so a failure half-way leaves the key
file true to what the server has.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from beyou import keys as keylib
from beyou.api import Client, ProblemError
from beyou.keys import KeyPair
from beyou.keystore import Keyring


class KeyRegistrationError(Exception):
    """A key cannot be registered as things stand (no signing key to vouch, another user's key file)."""


def add_new_keys(keyring: Keyring, family: str, purposes: Sequence[str] = keylib.PURPOSES) -> list[KeyPair]:
    """Generate a key pair for each purpose (pending until registered)."""
    made = [keylib.generate(purpose, family) for purpose in purposes]
    for key in made:
        keyring.add(key)
    return made


def register_pending(client: Client, keyring: Keyring, save: Callable[[], None]) -> list[KeyPair]:
    """Register every pending key (signing first); the keys registered."""
    me = client.session.user_id if client.session else None
    if keyring.owner_id and me and keyring.owner_id != me:
        raise KeyRegistrationError(f"this key file belongs to user {keyring.owner_id}, and you are signed in as {me}")
    registered = []
    for purpose in ("signing", "encryption"):
        key = keyring.pending(purpose)
        if key is None:
            continue
        signer = key if purpose == "signing" else keyring.active("signing")
        if signer is None:
            raise KeyRegistrationError("an encryption key is registered with the signature of your active signing "
                                       "key, and you have none: generate a signing key first")
        answer = _register(client, key, signer)
        keyring.owner_id = keyring.owner_id or me
        keyring.activate(key, str(answer.get("created_at") or ""))
        save()
        registered.append(key)
    return registered


def _register(client: Client, key: KeyPair, signer: KeyPair) -> dict:
    try:
        return client.register_key(**keylib.registration(key, client.key_challenge(), signer))
    except ProblemError as problem:
        # Registered already (say the key file was not saved after the answer): if it is ours, it stands.
        if problem.status == 409 and not problem.errors:
            existing = client.key(key.fingerprint)
            if client.session and str(existing.get("user_id")) == client.session.user_id:
                return existing
        raise


def server_keys(client: Client) -> dict[str, dict]:
    """My active keys as the server lists them, by purpose."""
    if client.session is None or client.session.user_id is None:
        return {}
    return {key["purpose"]: key for key in client.user_keys(client.session.user_id, active=True)}
