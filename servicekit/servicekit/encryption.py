"""Encryption of data at rest (auth: TOTP secrets, signing keys, identity documents; messaging: standard
messages and attachments).

MultiFernet over DATA_KEYS: the first key encrypts, every key decrypts, so a
new key is rolled in by putting it first and `rotate`-ing stored values.

`reencrypt_column` is that rotation for one column, as each service's
`rotate-data-key` command runs it. Fernet tokens carry no key id: a value the
newest key alone opens is already current and is skipped, so a second run does
only what is left (idempotent) and an interrupted run is finished by running it
again (resumable).
"""
from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update

if TYPE_CHECKING:
    from sqlalchemy.orm import InstrumentedAttribute

    from servicekit.db import Database

log = logging.getLogger(__name__)


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


@dataclasses.dataclass
class Reencryption:
    """What a run did with one kind of value."""

    reencrypted: int = 0  # moved under the newest key now
    current: int = 0      # already under the newest key
    unreadable: int = 0   # no key of DATA_KEYS opens it: logged, left as it is


def under_newest_key(cipher: DataCipher, newest: DataCipher, token: bytes) -> bytes | None:
    """`token` re-encrypted under the newest key (`newest`'s only one, `cipher`'s first), or None if it is under it
    already; `InvalidToken` if no key of `cipher` opens it."""
    try:
        newest.decrypt(token)  # a wrong key fails on the HMAC, before any decryption: cheap
        return None
    except InvalidToken:
        return cipher.rotate(token)


def reencrypt_column(database: Database, cipher: DataCipher, newest: DataCipher, key: InstrumentedAttribute,
                     value: InstrumentedAttribute, *where: Any, batch_size: int) -> Reencryption:
    """Move every `value` (of the rows `where` selects) under the newest key, a batch of rows per transaction in
    the order of `key` (unique), while the service keeps running."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    counts = Reencryption()
    model = key.class_
    after: Any = None
    while True:
        with database.transaction() as session:
            query = select(key, value).where(value.is_not(None), *where).order_by(key).limit(batch_size)
            rows = session.execute(query if after is None else query.where(key > after)).all()
            for row_key, token in rows:
                try:
                    fresh = under_newest_key(cipher, newest, token)
                except InvalidToken:
                    log.warning("no data key opens a stored value", extra={"table": model.__tablename__,
                                                                           "row": str(row_key)})
                    counts.unreadable += 1
                    continue
                if fresh is None:
                    counts.current += 1
                    continue
                # Only if unchanged since read: a value written (or wiped) meanwhile is left as it now is.
                counts.reencrypted += session.execute(update(model).where(key == row_key, value == token)
                                                      .values({value: fresh})
                                                      .execution_options(synchronize_session=False)).rowcount
        if len(rows) < batch_size:
            return counts
        after = rows[-1][0]


__all__ = ["DataCipher", "InvalidToken", "Reencryption", "reencrypt_column", "under_newest_key"]
