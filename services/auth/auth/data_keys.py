"""Re-encrypting data at rest under the newest DATA_KEYS key (`flask --app auth rotate-data-key`).

TOTP secrets, signing keys and identity documents are Fernet tokens under one of
DATA_KEYS. Once a new key is first in DATA_KEYS (and every process runs with it),
rotating re-encrypts every value still under an older key, so the old key can be
dropped. Fernet tokens carry no key id: a value the newest key alone opens is
already current and is skipped, so a re-run only does what is left (idempotent),
and an interrupted run is finished by running it again (resumable).

Column values are rewritten a batch per transaction, each row only if it still
holds the value read (a user who set 2FA up again meanwhile keeps the new secret).
A document is written under a new store key first, the request then points at it
(committed), and only then is the old file deleted: whenever it stops, no request
points at a missing or half-written file. At worst an interruption leaves one
unreferenced file behind.
"""
from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from typing import Any

from cryptography.fernet import InvalidToken
from servicekit.db import Database
from servicekit.encryption import DataCipher, reencrypt_column, under_newest_key
from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute

from auth.documents import DocumentStore
from auth.models import SigningKey, User, VerificationRequest

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Rotation:
    """What a rotation did with one kind of value."""

    rotated: int = 0     # re-encrypted under the newest key now
    current: int = 0     # already under the newest key
    unreadable: int = 0  # no key of DATA_KEYS opens it (or its document is missing): logged, left as is


def rotate_data_key(database: Database, cipher: DataCipher, store: DocumentStore, *, newest_key: str,
                    batch_size: int = 100) -> dict[str, Rotation]:
    """Re-encrypt TOTP secrets, signing keys and documents under `newest_key` (the first of `cipher`'s keys)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    newest = DataCipher((newest_key,))
    return {
        "totp_secrets": _rotate_column(database, cipher, newest, User.id, User.totp_secret, batch_size),
        "signing_keys": _rotate_column(database, cipher, newest, SigningKey.kid, SigningKey.private_key,
                                       batch_size),
        "documents": _rotate_documents(database, cipher, newest, store, batch_size),
    }


def _rotate_column(database: Database, cipher: DataCipher, newest: DataCipher, key: InstrumentedAttribute,
                   value: InstrumentedAttribute, batch_size: int) -> Rotation:
    counts = reencrypt_column(database, cipher, newest, key, value, batch_size=batch_size)
    return Rotation(rotated=counts.reencrypted, current=counts.current, unreadable=counts.unreadable)


def _rotate_documents(database: Database, cipher: DataCipher, newest: DataCipher, store: DocumentStore,
                      batch_size: int) -> Rotation:
    outcomes: Counter[str] = Counter()
    after = None
    while True:
        with database.session() as session:
            query = (select(VerificationRequest.id, VerificationRequest.document_key)
                     .order_by(VerificationRequest.id).limit(batch_size))
            rows = session.execute(query if after is None else query.where(VerificationRequest.id > after)).all()
        outcomes.update(_rotate_document(database, cipher, newest, store, request_id, old_key)
                        for request_id, old_key in rows)
        if len(rows) < batch_size:
            return Rotation(rotated=outcomes["rotated"], current=outcomes["current"],
                            unreadable=outcomes["unreadable"])
        after = rows[-1].id


def _rotate_document(database: Database, cipher: DataCipher, newest: DataCipher, store: DocumentStore,
                     request_id: Any, old_key: str) -> str:
    """Move one request's document under the newest key: rotated, current, unreadable or gone."""
    try:
        fresh = under_newest_key(cipher, newest, store.get(old_key))
    except (KeyError, InvalidToken):
        log.warning("a verification document cannot be read with any data key",
                    extra={"verification_request": str(request_id)})
        return "unreadable"
    if fresh is None:
        return "current"
    new_key = store.put(fresh)
    # If this transaction fails, the new file stays unreferenced: deleting it could break a row
    # whose commit did reach the database before the connection broke.
    with database.transaction() as session:
        moved = session.execute(update(VerificationRequest)
                                .where(VerificationRequest.id == request_id,
                                       VerificationRequest.document_key == old_key)
                                .values(document_key=new_key)
                                .execution_options(synchronize_session=False)).rowcount
    if not moved:  # the request is gone, or was pointed elsewhere meanwhile: the copy is not needed
        store.delete(new_key)
        return "gone"
    store.delete(old_key)
    return "rotated"
