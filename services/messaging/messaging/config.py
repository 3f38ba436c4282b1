"""Every setting of the messaging service, read from the environment (see README, Configuration)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from servicekit.config import Settings


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(Settings):
    service: ClassVar[str] = "messaging"

    # Fernet keys (comma-separated, newest first) encrypting standard messages and attachments at rest;
    # `flask --app messaging rotate-data-key` moves what is stored under the newest.
    data_keys: tuple[str, ...]

    attachment_max_bytes: int = 9 * 1024 * 1024
    max_body_bytes: int = 10 * 1024 * 1024  # a maximal attachment plus the form around it: the gateway's 10 MB

    # The live stream (GET /stream): a comment line this often keeps proxies and clients from timing out,
    # and notices are kept this long for a client resuming with Last-Event-ID.
    stream_heartbeat_seconds: float = 15.0
    stream_retention_seconds: int = 24 * 3600
