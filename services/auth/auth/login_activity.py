"""Login activity: every attempt recorded, throttling and lockout from it, and the staff's view of it.

Failures first throttle an account — an attempt too soon after its last failure
is refused at once, without a check — then lock it (or the source address) for a
while. Neither is announced: such a login gets the same answer as a bad password,
and the real reason is only in the log. No request waits: a throttle is a refusal.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from servicekit.context import ClientOrigin
from servicekit.db import own_transaction
from servicekit.errors import DomainError, Invalid, TooManyRequests
from servicekit.pagination import keyset_page
from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from auth.config import Config
from auth.models import LoginAttempt

# Failure reasons, as recorded. THROTTLED and LOCKED are refusals without a check of the credentials.
UNKNOWN_USER, BAD_PASSWORD, BAD_2FA_CODE, LOCKED, BANNED, SUSPENDED, THROTTLED = (
    "unknown_user", "bad_password", "bad_2fa_code", "locked", "banned", "suspended", "throttled")
# Refusals that are no wrong guess — they checked nothing (locked, throttled), or came after the right
# password (banned, suspended) — neither count towards a lock nor extend one: a user retrying during a
# short suspension is not locked out after it.
NOT_GUESSES = (LOCKED, THROTTLED, BANNED, SUSPENDED)


def record_attempt(session: Session, *, username: str, client: ClientOrigin, kind: str = "login",
                   user_id: uuid.UUID | None = None) -> int:
    """Put an attempt on record before anything is checked; its id.

    Written in a short transaction of its own and committed at once, so it stays on
    record whatever happens next (a crash, a refusal, a rollback of the caller's work).
    The caller settles its outcome with `settle_attempt` in its own transaction.
    """
    with own_transaction(session) as record:
        attempt = LoginAttempt(username=username[:254], user_id=user_id, ip=client.ip, user_agent=client.user_agent,
                               kind=kind)
        record.add(attempt)
        record.flush()
        return attempt.id


def settle_attempt(session: Session, attempt_id: int, *, user_id: uuid.UUID | None,
                   failure_reason: str | None = None, session_id: uuid.UUID | None = None) -> None:
    """Write an attempt's outcome in the caller's transaction (committed with the command's work)."""
    session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(
        user_id=user_id, success=failure_reason is None, failure_reason=failure_reason, session_id=session_id))


# --- throttling and lockout ------------------------------------------------------------------

@dataclass(frozen=True)
class Standing:
    """What recent failures mean for the next attempt.

    `throttled`: too soon after the last failure (the pause grows with the failures); the
    attempt is refused at once, without checking anything, as a bad password would be.
    `locked`: refused until the lock ends.
    """

    throttled: bool
    locked: bool

    @property
    def refusal(self) -> str | None:
        return LOCKED if self.locked else THROTTLED if self.throttled else None


def standing(session: Session, settings: Config, *, username: str, user_id: uuid.UUID | None,
             ip: str | None) -> Standing:
    """How to treat an attempt on an account (by id when it exists, else by the name typed) from `ip`."""
    now = dt.datetime.now(dt.UTC)
    window_start = now - dt.timedelta(seconds=settings.login_failure_window_seconds)
    account = LoginAttempt.user_id == user_id if user_id else func.lower(LoginAttempt.username) == username.lower()
    locked = (_is_locked(session, account, settings.login_lockout_after, settings)
              or (ip is not None and _is_locked(session, LoginAttempt.ip == ip, settings.login_source_lockout_after,
                                                settings)))
    # Throttled per account only: a source trying many accounts is stopped by the source lock.
    return Standing(throttled=_too_soon(session, settings, account, window_start, now), locked=locked)


def pause_after(settings: Config, failures: int) -> float:
    """How long after the last failure the next attempt on the account must wait (0 below the threshold)."""
    extra = failures - settings.login_slowdown_after + 1
    return min(settings.login_throttle_max_seconds, settings.login_throttle_step_seconds * extra) if extra > 0 else 0.0


def _too_soon(session: Session, settings: Config, who: ColumnElement[bool], since: dt.datetime,
              now: dt.datetime) -> bool:
    failures, last = session.execute(select(func.count(), func.max(LoginAttempt.occurred_at)).where(
        who, LoginAttempt.success.is_(False), LoginAttempt.failure_reason.not_in(NOT_GUESSES),
        LoginAttempt.occurred_at >= since)).one()
    pause = pause_after(settings, failures)
    return pause > 0 and last is not None and now - last < dt.timedelta(seconds=pause)


def _is_locked(session: Session, who: ColumnElement[bool], threshold: int, settings: Config) -> bool:
    """Locked while the latest `threshold` counted failures fell within one window and the last is recent.

    Attempts refused without a check (locked, throttled) do not count, so a lock ends
    LOGIN_LOCKOUT_SECONDS after the failure that started it, however often someone knocks meanwhile.
    """
    times = session.execute(select(LoginAttempt.occurred_at).where(
        who, LoginAttempt.success.is_(False), LoginAttempt.failure_reason.not_in(NOT_GUESSES))
        .order_by(LoginAttempt.occurred_at.desc()).limit(threshold)).scalars().all()
    if len(times) < threshold:
        return False
    newest, oldest = times[0], times[-1]
    now = dt.datetime.now(dt.UTC)
    return (newest - oldest <= dt.timedelta(seconds=settings.login_failure_window_seconds)
            and newest > now - dt.timedelta(seconds=settings.login_lockout_seconds))


# --- the staff's view ------------------------------------------------------------------------

def list_attempts(session: Session, *, username: str | None = None, ip: str | None = None,
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
    return keyset_page(session, select(LoginAttempt).where(*conditions), keys=[LoginAttempt.id], descending=True,
                       limit=limit, cursor=cursor)


def activity_stats(session: Session, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                   top: int = 10, recent: int = 20) -> dict:
    """Totals, unique users and sources, the most failed usernames and addresses, the latest failures."""
    period = and_(True, *_period(since, until))
    failed = and_(period, LoginAttempt.success.is_(False))
    totals = session.execute(select(
        func.count(),
        func.count().filter(LoginAttempt.success.is_(True)),
        func.count().filter(LoginAttempt.success.is_(False)),
        func.count(LoginAttempt.user_id.distinct()),
        func.count(LoginAttempt.ip.distinct()),
    ).where(period)).one()
    return {
        "total": totals[0], "successes": totals[1], "failures": totals[2],
        "unique_users": totals[3], "unique_ips": totals[4],
        "most_failed_usernames": _most_failed(session, func.lower(LoginAttempt.username), failed, top, "username"),
        "most_failed_ips": _most_failed(session, LoginAttempt.ip, and_(failed, LoginAttempt.ip.is_not(None)), top, "ip"),
        "recent_failures": session.execute(select(LoginAttempt).where(failed)
                                      .order_by(LoginAttempt.id.desc()).limit(recent)).scalars().all(),
    }


def _most_failed(session: Session, column, where, top: int, name: str) -> list[dict]:
    count = func.count().label("failures")
    rows = session.execute(select(column.label(name), count).where(where).group_by(column)
                      .order_by(count.desc(), column).limit(top)).all()
    return [{name: row[0], "failures": row[1]} for row in rows]


def _period(since: dt.datetime | None, until: dt.datetime | None) -> list[ColumnElement[bool]]:
    conditions = []
    if since is not None:
        conditions.append(LoginAttempt.occurred_at >= since)
    if until is not None:
        conditions.append(LoginAttempt.occurred_at < until)
    return conditions


# --- a credential check on record (2FA changes, password change) ----------------------------

# The wrong field: (the problem's detail, the field's message).
WRONG_FIELD_MESSAGES = {"password": ("the password is not correct", "the password is not correct"),
                        "current_password": ("the current password is wrong", "is wrong"),
                        "code": ("the code is not valid or was already used",) * 2}


def check_on_record(session: Session, settings: Config, *, user, client: ClientOrigin, kind: str,
                    check: Callable[[], str | None]) -> DomainError | None:
    """Run `check` (it returns the name of the wrong field, or None) as an attempt of `kind` on record.

    Wrong values count towards the account's lock like failed logins, so a stolen access token
    is no way to guess codes or passwords: while locked the answer is 429. A wrong value is a
    field error (422), not a 401 a client would take for an expired session. The outcome is
    settled in the caller's transaction; the error (or None) is returned for the caller to
    raise after its commit, so the refusal stays on record.
    """
    attempt = record_attempt(session, username=user.username, client=client, kind=kind, user_id=user.id)
    if standing(session, settings, username=user.username, user_id=user.id, ip=client.ip).locked:
        settle_attempt(session, attempt, user_id=user.id, failure_reason=LOCKED)
        return TooManyRequests("too many wrong codes or passwords; try again later")
    wrong = check()
    if wrong is not None:
        settle_attempt(session, attempt, user_id=user.id,
                       failure_reason=BAD_2FA_CODE if wrong == "code" else BAD_PASSWORD)
        detail, message = WRONG_FIELD_MESSAGES[wrong]
        return Invalid(detail, errors={wrong: [message]})
    settle_attempt(session, attempt, user_id=user.id)
    return None
