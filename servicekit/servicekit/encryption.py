"""Encryption of data at rest (auth: TOTP secrets, signing keys, identity documents; messaging: standard
messages and attachments).

MultiFernet over DATA_KEYS: the first key encrypts, every key decrypts, so a
new key is rolled in by putting it first and `rotate`-ing stored values.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DataCipher:
    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("DATA_KEYS needs at least one Fernet key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        """The plaintext; raises `InvalidToken` if no key opens it or it was altered."""
        return self._fernet.decrypt(token)

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the newest key."""
        return self._fernet.rotate(token)


__all__ = ["DataCipher", "InvalidToken"]
