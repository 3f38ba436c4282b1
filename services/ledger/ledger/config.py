"""Every setting of the ledger service, read from the environment (see README, Configuration)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from servicekit.config import ConfigError, Settings


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(Settings):
    service: ClassVar[str] = "ledger"

    # The log's name (the checkpoint's origin line and the signing key's name) and its Ed25519 key:
    # SIGNING_KEY is base64 of the 32-byte seed (required; no usable default). Changing either makes a
    # different log to every verifier that pinned the old one.
    log_origin: str = "beyou.example/ledger"
    signing_key: str

    # Leaves are sealed into a block (and a checkpoint signed) once this many wait, or once the oldest
    # unsealed one is this old. The sequencer runs this often, moving at most `sequence_batch` leaves per run.
    block_max_leaves: int = 1000
    block_max_age_seconds: float = 1.0
    sequence_interval_seconds: float = 0.2
    sequence_batch: int = 10_000
    # "Mining": a block's header hash must start with this many zero bits (2**difficulty tries on average).
    block_difficulty: int = 8

    # The consumer's batches (servicekit's setting, larger here): a message event costs the ledger's consumer one
    # queued row, so bigger batches ingest faster (one transaction, one INSERT, per batch).
    consumer_prefetch: int = 500

    # The worker's scheduled incremental audit; an audit asked for over HTTP stops after about this long (within
    # the API's request timeout) and the next one continues.
    audit_interval_seconds: float = 60.0
    audit_request_seconds: float = 20.0

    def __post_init__(self) -> None:
        if not 0 <= self.block_difficulty <= 32:  # beyond 32 bits a block would take hours to mine
            raise ConfigError("BLOCK_DIFFICULTY must be between 0 and 32")
        if self.block_max_leaves < 1 or self.sequence_batch < 1:
            raise ConfigError("BLOCK_MAX_LEAVES and SEQUENCE_BATCH must be at least 1")
