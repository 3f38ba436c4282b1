"""The local key file: every private key of the user, encrypted with a passphrase.

Format (JSON, `"format": "beyou-keyfile", "version": 1`):

    {"format": "beyou-keyfile", "version": 1,
     "kdf": {"name": "argon2id", "salt": <b64, 16 bytes>, "iterations": 3, "lanes": 4, "memory_kib": 65536},
     "cipher": {"name": "aes-256-gcm", "nonce": <b64, 12 bytes>},
     "ciphertext": <b64>}

The passphrase is stretched with Argon2id (RFC 9106; these are its second
recommended parameter set, 64 MiB) into a 256-bit key, and AES-256-GCM encrypts
the keys (JSON with each private key as PKCS#8 PEM). Everything but the
ciphertext is the GCM associated data, so a file whose header was altered — its
KDF cost lowered, say — does not open. A fresh salt and nonce are drawn on every
save. Nothing in the file is readable without the passphrase, not even how many
keys there are or whose they are.

Why not encrypted PKCS#8 (cryptography's BestAvailableEncryption)? It is the
interoperable format for one key, but cryptography encrypts it with PBKDF2 at a
fixed 2,048 iterations (a few hundred times below today's guidance), and a user
has several keys with status and history to keep together: one authenticated
file for the lot, with a memory-hard KDF, is what age and password managers do.
"""
from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from beyou.home import write_private
from beyou.keys import KeyPair, load_private_pem

FORMAT, VERSION = "beyou-keyfile", 1


class KeyFileError(Exception):
    """The key file cannot be used: missing, damaged, of an unknown format."""


class WrongPassphrase(KeyFileError):
    """The passphrase does not open the key file (or the file was altered)."""


@dataclass(frozen=True)
class Argon2Parameters:
    iterations: int = 3
    lanes: int = 4
    memory_kib: int = 64 * 1024

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        return Argon2id(salt=salt, length=32, iterations=self.iterations, lanes=self.lanes,
                        memory_cost=self.memory_kib).derive(passphrase.encode())


@dataclass
class Keyring:
    """The opened key file: whose keys, and the keys (active, pending and retired)."""

    owner_id: str | None
    keys: list[KeyPair]

    def active(self, purpose: str) -> KeyPair | None:
        return next((key for key in self.keys if key.purpose == purpose and key.status == "active"), None)

    def pending(self, purpose: str) -> KeyPair | None:
        return next((key for key in reversed(self.keys) if key.purpose == purpose and key.status == "pending"), None)

    def find(self, fingerprint: str) -> KeyPair | None:
        return next((key for key in self.keys if key.fingerprint == fingerprint), None)

    def add(self, key: KeyPair) -> None:
        """A new key, pending until registered (an older pending key of that purpose is dropped: never used)."""
        self.keys = [k for k in self.keys if not (k.purpose == key.purpose and k.status == "pending")]
        self.keys.append(key)

    def activate(self, key: KeyPair, registered_at: str) -> None:
        """`key` is registered: it becomes the active key, and the one it replaces is retired (kept)."""
        for other in self.keys:
            if other.purpose == key.purpose and other.status == "active" and other is not key:
                other.status, other.retired_at = "retired", registered_at
        key.status, key.registered_at = "active", registered_at

    def decryption_keys(self) -> list[KeyPair]:
        """Every encryption key ever held, newest first: old messages were wrapped for old keys."""
        return [key for key in reversed(self.keys) if key.purpose == "encryption"]


def save(path: Path, keyring: Keyring, passphrase: str,
         parameters: Argon2Parameters = Argon2Parameters()) -> None:
    if not passphrase:
        raise ValueError("a key file needs a passphrase")
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {"format": FORMAT, "version": VERSION,
              "kdf": {"name": "argon2id", "salt": _b64(salt), "iterations": parameters.iterations,
                      "lanes": parameters.lanes, "memory_kib": parameters.memory_kib},
              "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce)}}
    plaintext = json.dumps({"owner_id": keyring.owner_id, "keys": [_stored(key) for key in keyring.keys]}).encode()
    ciphertext = AESGCM(parameters.derive(passphrase, salt)).encrypt(nonce, plaintext, _associated_data(header))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, (json.dumps({**header, "ciphertext": _b64(ciphertext)}, indent=2) + "\n").encode())


def load(path: Path, passphrase: str) -> Keyring:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise KeyFileError(f"no key file at {path}: generate keys first (beyou keys generate)") from None
    except ValueError:
        raise KeyFileError(f"{path} is not a key file (not JSON)") from None
    try:
        if document.get("format") != FORMAT or document.get("version") != VERSION:
            raise KeyFileError(f"{path}: not a version {VERSION} {FORMAT}")
        kdf, cipher = document["kdf"], document["cipher"]
        if kdf["name"] != "argon2id" or cipher["name"] != "aes-256-gcm":
            raise KeyFileError(f"{path}: unsupported KDF or cipher")
        parameters = Argon2Parameters(int(kdf["iterations"]), int(kdf["lanes"]), int(kdf["memory_kib"]))
        key = parameters.derive(passphrase, _unb64(kdf["salt"]))
        header = {name: value for name, value in document.items() if name != "ciphertext"}
        plaintext = AESGCM(key).decrypt(_unb64(cipher["nonce"]), _unb64(document["ciphertext"]),
                                        _associated_data(header))
    except InvalidTag:
        raise WrongPassphrase(f"wrong passphrase for {path} (or the file was altered)") from None
    except (KeyError, TypeError, ValueError) as error:
        raise KeyFileError(f"{path} is damaged: {error}") from None
    content = json.loads(plaintext)
    return Keyring(content.get("owner_id"), [_loaded(stored) for stored in content["keys"]])


def change_passphrase(path: Path, old: str, new: str) -> None:
    save(path, load(path, old), new)


def _stored(key: KeyPair) -> dict:
    return {"purpose": key.purpose, "algorithm": key.algorithm, "private_pem": key.private_pem(),
            "created_at": key.created_at, "status": key.status, "registered_at": key.registered_at,
            "retired_at": key.retired_at}


def _loaded(stored: dict) -> KeyPair:
    return KeyPair(stored["purpose"], stored["algorithm"], load_private_pem(stored["private_pem"]),
                   created_at=stored["created_at"], status=stored["status"],
                   registered_at=stored.get("registered_at"), retired_at=stored.get("retired_at"))


def _associated_data(header: dict) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
