"""Purging rows nothing can use any more; the worker runs it every PURGE_INTERVAL_SECONDS.

Dead rows: spent refresh tokens and every token of a session that expired or was
revoked, used or expired MFA challenges, password resets past their expiry and
the one-time codes sent for them. Each is kept PURGE_RETENTION_SECONDS after it
died: while a spent refresh token is kept, presenting it again still revokes its
session (a stolen copy is caught), and a finished reset answers 410, not 404.
Spent proof-of-work challenges go as soon as they expire: their signed token is
refused from then on, so the row guards nothing. Login attempts are the audit
record and are not purged here.

Rows go in batches of PURGE_BATCH_SIZE, each batch its own short transaction, so a
large backlog never holds locks for long; a row a request has locked right now is
skipped (SKIP LOCKED) and goes on the next run.
"""
from __future__ import annotations

import datetime as dt
import logging

from servicekit.context import ServiceContext
from servicekit.db import Database
from servicekit.worker import PeriodicTask
from sqlalchemy import Select, delete, or_, select

from auth.config import Config
from auth.models import (Device, MfaChallenge, PasswordReset, RefreshToken, SentCode, SpentChallenge,
                         SpentKeyChallenge)

log = logging.getLogger(__name__)


def purge_expired(database: Database, settings: Config, *, now: dt.datetime | None = None,
                  batch_size: int | None = None) -> dict[str, int]:
    """Delete the dead rows past their retention, batch by batch; the number deleted per table."""
    now = now or dt.datetime.now(dt.UTC)
    batch_size = batch_size or settings.purge_batch_size
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    purged = {table: _delete_in_batches(database, model, dead, batch_size)
              for table, (model, dead) in _dead_rows(settings, now).items()}
    if any(purged.values()):
        log.info("purged dead rows", extra={"purged": purged})
    return purged


def purge_task(settings: Config) -> PeriodicTask:
    """The worker's task that runs `purge_expired` every PURGE_INTERVAL_SECONDS."""
    def purge(context: ServiceContext) -> None:
        purge_expired(context.db, context.settings)
    return PeriodicTask("purge", settings.purge_interval_seconds, purge)


def _dead_rows(settings: Config, now: dt.datetime) -> dict[str, tuple[type, Select]]:
    """Per table: its model and a query of the ids of its rows to delete."""
    cutoff = now - dt.timedelta(seconds=settings.purge_retention_seconds)
    # A sent code has no expiry of its own: it dies with the reset it was sent for.
    code_cutoff = cutoff - dt.timedelta(seconds=settings.password_reset_ttl_seconds)
    return {
        "refresh_tokens": (RefreshToken, select(RefreshToken.id).join(Device, Device.id == RefreshToken.session_id)
                           .where(or_(RefreshToken.used_at < cutoff, Device.expires_at < cutoff,
                                      Device.revoked_at < cutoff))),
        "mfa_challenges": (MfaChallenge, select(MfaChallenge.id).where(
            or_(MfaChallenge.expires_at < cutoff, MfaChallenge.used_at < cutoff))),
        "spent_challenges": (SpentChallenge, select(SpentChallenge.id).where(SpentChallenge.expires_at < now)),
        "spent_key_challenges": (SpentKeyChallenge,
                                 select(SpentKeyChallenge.id).where(SpentKeyChallenge.expires_at < now)),
        "password_resets": (PasswordReset, select(PasswordReset.id).where(PasswordReset.expires_at < cutoff)),
        "sent_codes": (SentCode, select(SentCode.id).where(SentCode.created_at < code_cutoff)),
    }


def _delete_in_batches(database: Database, model: type, dead: Select, batch_size: int) -> int:
    total = 0
    while True:
        batch = dead.limit(batch_size).with_for_update(of=model, skip_locked=True)
        with database.transaction() as session:
            deleted = session.execute(delete(model).where(model.id.in_(batch))
                                      .execution_options(synchronize_session=False)).rowcount
        total += deleted
        if deleted < batch_size:  # drained (or the rest is locked right now: next run)
            return total
