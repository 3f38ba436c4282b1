"""The worker's periodic tasks: the sequencer (often) and the incremental audit (scheduled)."""
from __future__ import annotations

import datetime as dt

from servicekit.context import ServiceContext
from servicekit.worker import PeriodicTask

from ledger import audit, sequencer
from ledger.config import Config


def sequencing_of(context: ServiceContext) -> sequencer.Sequencing:
    settings = context.settings
    return sequencer.Sequencing(
        signer=context.resources["signer"], block_max_leaves=settings.block_max_leaves,
        block_max_age=dt.timedelta(seconds=settings.block_max_age_seconds), batch=settings.sequence_batch,
        difficulty=settings.block_difficulty)


def sequence(context: ServiceContext) -> None:
    """One sequencer run; again at once while a full batch was integrated (a backlog is drained, not trickled)."""
    sequencing = sequencing_of(context)
    cache = context.resources["tiles"]
    while True:
        try:
            with context.db.transaction() as session:
                run = sequencer.run_sequencer(session, sequencing, cache=cache)
        except BaseException:
            # Tiles this run filled were cached before its commit, which did not happen: forget them, or a later
            # run (this worker's, after another's commit) could read a tile its database never held.
            cache.clear()
            raise
        if run is None or run.integrated < sequencing.batch:
            return


def scheduled_audit(context: ServiceContext) -> None:
    with context.db.transaction() as session:
        audit.run_audit(session, context.resources["verifier"], context.settings.log_origin)


def tasks(settings: Config) -> list[PeriodicTask]:
    return [PeriodicTask("sequencer", settings.sequence_interval_seconds, sequence),
            PeriodicTask("audit", settings.audit_interval_seconds, scheduled_audit)]
