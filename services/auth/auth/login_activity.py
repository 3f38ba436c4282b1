"""Login activity: every attempt recorded, throttling and lockout from it, and the staff's view of it.

Failures slow answers down, then lock an account (or a source address) for a
while. A lock is never announced: a locked login gets the same answer as a bad
password, and the real reason is only in the log.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from servicekit.pagination import keyset_page
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from auth.config import Config
from auth.models import LoginAttempt

# Failure reasons, as recorded.
UNKNOWN_USER, BAD_PASSWORD, BAD_2FA_CODE, LOCKED, BANNED = (
    "unknown_user", "bad_password", "bad_2fa_code", "locked", "banned")

SLOWDOWN_STEP_SECONDS = 0.2
SLOWDOWN_MAX_SECONDS = 2.0


def record_attempt(db: Session, *, username: str, ip: str | None, user_agent: str | None,
                   kind: str = "login", user_id: uuid.UUID | None = None) -> LoginAttempt:
    """Add an attempt to the log, outcome still open (the caller commits it before checking anything)."""
    attempt = LoginAttempt(username=username[:254], user_id=user_id, ip=ip,
                           user_agent=user_agent[:512] if user_agent else None, kind=kind)
    db.add(attempt)
    db.flush()
    return attempt


def complete_attempt(attempt: LoginAttempt, *, user_id: uuid.UUID | None, failure_reason: str | None = None,
                     session_id: uuid.UUID | None = None) -> None:
    attempt.user_id = user_id
    attempt.success = failure_reason is None
    attempt.failure_reason = failure_reason
    attempt.session_id = session_id


# --- throttling and lockout ------------------------------------------------------------------

@dataclass(frozen=True)
class Standing:
    """What recent failures mean for the next attempt."""

    delay_seconds: float
    locked: bool


def standing(db: Session, settings: Config, *, username: str, user_id: uuid.UUID | None, ip: str | None) -> Standing:
    """How to treat an attempt on an account (by id when it exists, else by the name typed) from `ip`."""
    account = LoginAttempt.user_id == user_id if user_id else func.lower(LoginAttempt.username) == username.lower()
    source = LoginAttempt.ip == ip if ip else None
    window_start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.login_failure_window_seconds)
    recent = max(_failures_since(db, account, window_start),
                 _failures_since(db, source, window_start) if source is not None else 0)
    extra = recent - settings.login_slowdown_after + 1
    delay = min(SLOWDOWN_MAX_SECONDS, SLOWDOWN_STEP_SECONDS * extra) if extra > 0 else 0.0
    locked = (_is_locked(db, account, settings.login_lockout_after, settings)
              or (source is not None and _is_locked(db, source, settings.login_source_lockout_after, settings)))
    return Standing(delay_seconds=delay, locked=locked)


def _failures_since(db: Session, who: ColumnElement[bool], since: dt.datetime) -> int:
    return db.execute(select(func.count()).select_from(LoginAttempt).where(
        who, LoginAttempt.success.is_(False), LoginAttempt.occurred_at >= since)).scalar_one()


def _is_locked(db: Session, who: ColumnElement[bool], threshold: int, settings: Config) -> bool:
    """Locked while the latest `threshold` counted failures fell within one window and the last is recent.

    Attempts refused because of a lock do not count, so a lock ends LOGIN_LOCKOUT_SECONDS
    after the failure that started it, however often someone knocks meanwhile.
    """
    times = db.execute(select(LoginAttempt.occurred_at).where(
        who, LoginAttempt.success.is_(False), LoginAttempt.failure_reason != LOCKED)
        .order_by(LoginAttempt.occurred_at.desc()).limit(threshold)).scalars().all()
    if len(times) < threshold:
        return False
    newest, oldest = times[0], times[-1]
    now = dt.datetime.now(dt.UTC)
    return (newest - oldest <= dt.timedelta(seconds=settings.login_failure_window_seconds)
            and newest > now - dt.timedelta(seconds=settings.login_lockout_seconds))


# --- the staff's view ------------------------------------------------------------------------

def list_attempts(db: Session, *, username: str | None = None, ip: str | None = None,
                  since: dt.datetime | None = None, until: dt.datetime | None = None, success: bool | None = None,
                  limit: int = 50, cursor: list | None = None) -> dict:
    """Attempts matching the filters, newest first, a page at a time."""
    conditions = _period(since, until)
    if username:
        conditions.append(func.lower(LoginAttempt.username) == username.lower())
    if ip:
        conditions.append(LoginAttempt.ip == str(ip))
    if success is not None:
        conditions.append(LoginAttempt.success.is_(success))
    # The id grows with every attempt, so it alone orders them newest first.
    return keyset_page(db, select(LoginAttempt).where(*conditions), keys=[LoginAttempt.id], descending=True,
                       limit=limit, cursor=cursor)


def activity_stats(db: Session, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                   top: int = 10, recent: int = 20) -> dict:
    """Totals, unique users and sources, the most failed usernames and addresses, the latest failures."""
    period = and_(True, *_period(since, until))
    failed = and_(period, LoginAttempt.success.is_(False))
    totals = db.execute(select(
        func.count(),
        func.count().filter(LoginAttempt.success.is_(True)),
        func.count().filter(LoginAttempt.success.is_(False)),
        func.count(LoginAttempt.user_id.distinct()),
        func.count(LoginAttempt.ip.distinct()),
    ).where(period)).one()
    return {
        "total": totals[0], "successes": totals[1], "failures": totals[2],
        "unique_users": totals[3], "unique_ips": totals[4],
        "most_failed_usernames": _most_failed(db, func.lower(LoginAttempt.username), failed, top, "username"),
        "most_failed_ips": _most_failed(db, LoginAttempt.ip, and_(failed, LoginAttempt.ip.is_not(None)), top, "ip"),
        "recent_failures": db.execute(select(LoginAttempt).where(failed)
                                      .order_by(LoginAttempt.id.desc()).limit(recent)).scalars().all(),
    }


def _most_failed(db: Session, column, where, top: int, name: str) -> list[dict]:
    count = func.count().label("failures")
    rows = db.execute(select(column.label(name), count).where(where).group_by(column)
                      .order_by(count.desc(), column).limit(top)).all()
    return [{name: row[0], "failures": row[1]} for row in rows]


def _period(since: dt.datetime | None, until: dt.datetime | None) -> list[ColumnElement[bool]]:
    conditions = []
    if since is not None:
        conditions.append(LoginAttempt.occurred_at >= since)
    if until is not None:
        conditions.append(LoginAttempt.occurred_at < until)
    return conditions
