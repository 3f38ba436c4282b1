"""The ledger's own metrics, served by its worker beside servicekit's (servicekit.metrics).

Read from the database at scrape time, so every replica reports the log as it is, whichever one sequences:
the tree's size, the sealed part of it and what waits to be sequenced, the latest block's height, how long
ago the latest checkpoint was signed, and whether the audit's standing verdict is a failure (the state that
published `ledger.integrity.failed` and keeps /readyz degraded).
"""
from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from servicekit.context import ServiceContext
from servicekit.db import Database

from ledger.models import AuditState, Block, LogState, PendingEntry

log = logging.getLogger(__name__)


class LedgerCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self):
        try:
            with self.db.session() as session:
                state = session.get(LogState, 1)
                audit = session.get(AuditState, 1)
                pending = session.scalar(sa.select(sa.func.count()).select_from(PendingEntry))
                last_checkpoint = session.scalar(sa.select(Block.timestamp).order_by(Block.height.desc()).limit(1))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("ledger metrics unavailable", extra={"error": str(exc).splitlines()[0]})
            return
        yield _gauge("ledger_tree_size", "Leaves in the log (sequenced).", state.tree_size)
        yield _gauge("ledger_sealed_tree_size", "Leaves sealed into blocks (the latest checkpoint's tree size).",
                     state.sealed_size)
        yield _gauge("ledger_unsealed_entries", "Entries not yet under a checkpoint: pending and unsealed leaves.",
                     pending + state.tree_size - state.sealed_size)
        yield _gauge("ledger_integrity_failed", "1 while the audit's verdict is a failure, else 0.",
                     int(audit.status == "failed"))
        if state.height:  # before the first block there is no height and no checkpoint
            yield _gauge("ledger_block_height", "Height of the latest block.", state.height - 1)
            yield _gauge("ledger_last_checkpoint_timestamp_seconds", "When the latest checkpoint was signed.",
                         last_checkpoint.timestamp())
            yield _gauge("ledger_seconds_since_last_checkpoint", "Seconds since the latest checkpoint was signed.",
                         (dt.datetime.now(dt.UTC) - last_checkpoint).total_seconds())


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def collectors(context: ServiceContext) -> list[Collector]:
    return [LedgerCollector(context.db)]
