"""Re-encrypting messaging's data at rest under the newest DATA_KEYS key (`flask --app messaging rotate-data-key`).

Standard messages' text and attachments' bytes are Fernet tokens under one of
DATA_KEYS (e2e envelopes are the clients' ciphertext, never re-encrypted here). Once a
new key is first in DATA_KEYS and every process runs with it, re-encrypting moves
every value still under an older key to it, so the old key can be dropped. Fernet
tokens carry no key id: a value the newest key alone opens is already current and is
skipped, so a second run does only what is left (idempotent) and an interrupted run is
finished by running it again (resumable).

Values are rewritten a batch per transaction, in key order, each row only if it still
holds the token read: a message removed by moderation meanwhile (its content wiped)
stays wiped. The service keeps running throughout.
"""
from __future__ import annotations

from servicekit.db import Database
from servicekit.encryption import DataCipher, Reencryption, reencrypt_column

from messaging.models import Attachment, Message

__all__ = ["Reencryption", "reencrypt"]


def reencrypt(database: Database, cipher: DataCipher, *, newest_key: str,
              batch_size: int = 500) -> dict[str, Reencryption]:
    """Re-encrypt standard messages and attachments under `newest_key` (the first of `cipher`'s keys)."""
    newest = DataCipher((newest_key,))
    return {
        "messages": reencrypt_column(database, cipher, newest, Message.seq, Message.content,
                                     Message.kind == "standard", batch_size=batch_size),
        "attachments": reencrypt_column(database, cipher, newest, Attachment.id, Attachment.data,
                                        batch_size=batch_size),
    }
