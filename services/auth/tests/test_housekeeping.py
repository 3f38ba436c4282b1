import contextlib
import datetime as dt
import secrets
import uuid

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from servicekit.testing import wait_until

from auth import create_app
from auth.housekeeping import purge_expired, purge_task
from auth.models import (Device, LoginAttempt, MfaChallenge, PasswordReset, RefreshToken, SentCode, SpentChallenge,
                         SpentKeyChallenge, User)

RETENTION = dt.timedelta(days=1)
RESET_TTL = dt.timedelta(minutes=15)


@pytest.fixture(scope="module")
def app(migrated_app):
    """auth on a database of its own, so every dead row these tests see is one they made."""
    return migrated_app(create_app, SECRET_KEY=Fernet.generate_key().decode(), DATA_KEYS=Fernet.generate_key().decode(),
                        PURGE_RETENTION_SECONDS=int(RETENTION.total_seconds()),
                        PASSWORD_RESET_TTL_SECONDS=int(RESET_TTL.total_seconds()), PURGE_INTERVAL_SECONDS=0.2)


@pytest.fixture
def now():
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def long_ago(now):
    """Dead for longer than the retention."""
    return now - RETENTION - dt.timedelta(minutes=1)


@pytest.fixture
def lately(now):
    """Dead, but for less than the retention."""
    return now - dt.timedelta(minutes=1)


def add(database, *rows) -> list:
    """Insert `rows`; their ids."""
    with database.transaction() as session:
        session.add_all(rows)
    return [row.id for row in rows]


def kept(session, model, ids) -> set:
    """Which of `ids` are still in `model`'s table."""
    return set(session.scalars(sa.select(model.id).where(model.id.in_(ids))))


@pytest.fixture
def user_id(database):
    tag = uuid.uuid4()
    [user_id] = add(database, User(username=f"u{tag.hex[:12]}", email=f"{tag.hex[:12]}@example.test",
                                   phone=f"+1{tag.int % 10**10:010d}", password_hash="not used here"))
    return user_id


def signed_in(database, user_id, *, expires_at, revoked_at=None) -> uuid.UUID:
    [session_id] = add(database, Device(user_id=user_id, expires_at=expires_at, revoked_at=revoked_at))
    return session_id


def refresh_token(session_id, used_at=None) -> RefreshToken:
    return RefreshToken(session_id=session_id, token_hash=secrets.token_hex(32), used_at=used_at)


def mfa_challenge(user_id, *, expires_at, used_at=None) -> MfaChallenge:
    return MfaChallenge(user_id=user_id, token_hash=secrets.token_hex(32), expires_at=expires_at, used_at=used_at)


def test_a_spent_refresh_token_goes_once_past_the_retention_and_the_current_one_stays(database, session, settings,
                                                                                       user_id, now, long_ago,
                                                                                       lately):
    live = signed_in(database, user_id, expires_at=now + dt.timedelta(days=30))
    current, spent_lately, spent_long_ago = add(database, refresh_token(live), refresh_token(live, used_at=lately),
                                                refresh_token(live, used_at=long_ago))

    purge_expired(database, settings, now=now)

    assert kept(session, RefreshToken, [current, spent_lately, spent_long_ago]) == {current, spent_lately}


def test_every_token_of_a_session_that_ended_past_the_retention_goes(database, session, settings, user_id, now,
                                                                      long_ago, lately):
    later = now + dt.timedelta(days=30)
    expired_long_ago, revoked_long_ago, expired_lately, revoked_lately = (
        signed_in(database, user_id, expires_at=long_ago),
        signed_in(database, user_id, expires_at=later, revoked_at=long_ago),
        signed_in(database, user_id, expires_at=lately),
        signed_in(database, user_id, expires_at=later, revoked_at=lately))
    tokens = add(database, *(refresh_token(session_id) for session_id in
                             (expired_long_ago, revoked_long_ago, expired_lately, revoked_lately)))

    purge_expired(database, settings, now=now)

    assert kept(session, RefreshToken, tokens) == set(tokens[2:])


def test_used_and_expired_mfa_challenges_go_past_the_retention(database, session, settings, user_id, now, long_ago,
                                                               lately):
    challenges = add(database, mfa_challenge(user_id, expires_at=now + dt.timedelta(minutes=5)),
                     mfa_challenge(user_id, expires_at=lately),
                     mfa_challenge(user_id, expires_at=long_ago),
                     # used at once, so it expired less long ago than the retention: its use counts
                     mfa_challenge(user_id, used_at=long_ago, expires_at=long_ago + dt.timedelta(minutes=5)))

    purge_expired(database, settings, now=now)

    assert kept(session, MfaChallenge, challenges) == set(challenges[:2])


def test_a_spent_proof_of_work_challenge_goes_as_soon_as_it_expires(database, session, settings, now):
    valid, expired = add(database, SpentChallenge(id=uuid.uuid4(), expires_at=now + dt.timedelta(minutes=5)),
                         SpentChallenge(id=uuid.uuid4(), expires_at=now - dt.timedelta(seconds=1)))

    purge_expired(database, settings, now=now)

    assert kept(session, SpentChallenge, [valid, expired]) == {valid}


def test_a_spent_key_registration_challenge_goes_as_soon_as_it_expires(database, session, settings, now):
    valid, expired = add(database, SpentKeyChallenge(id=uuid.uuid4(), expires_at=now + dt.timedelta(minutes=5)),
                         SpentKeyChallenge(id=uuid.uuid4(), expires_at=now - dt.timedelta(seconds=1)))

    purge_expired(database, settings, now=now)

    assert kept(session, SpentKeyChallenge, [valid, expired]) == {valid}


def test_password_resets_and_their_codes_go_past_expiry_and_retention(database, session, settings, user_id, now,
                                                                       long_ago, lately):
    resets = add(database, *(PasswordReset(user_id=user_id, method="code", expires_at=expires_at)
                             for expires_at in (now + RESET_TTL, lately, long_ago)))
    codes = add(database, *(SentCode(user_id=user_id, channel="email", destination="someone@example.test",
                                     purpose="password_reset", code="12345678", created_at=created_at)
                            for created_at in (lately - RESET_TTL, long_ago - RESET_TTL)))

    purge_expired(database, settings, now=now)

    assert kept(session, PasswordReset, resets) == set(resets[:2])
    assert kept(session, SentCode, codes) == {codes[0]}


def test_login_activity_is_never_purged(database, session, settings, now):
    attempts = add(database, LoginAttempt(username="someone", occurred_at=now - dt.timedelta(days=3650),
                                          success=False, failure_reason="bad_password"))

    purge_expired(database, settings, now=now)

    assert kept(session, LoginAttempt, attempts) == set(attempts)


@contextlib.contextmanager
def deletes_per_transaction(engine, table: str):
    """Collects, per transaction on `engine`, the row counts of the DELETEs from `table`."""
    transactions: list[list[int]] = []

    def began(_connection):
        transactions.append([])

    def executed(_connection, cursor, statement, *_args):
        if statement.startswith(f"DELETE FROM {table} "):
            transactions[-1].append(cursor.rowcount)

    sa.event.listen(engine, "begin", began)
    sa.event.listen(engine, "after_cursor_execute", executed)
    try:
        yield transactions
    finally:
        sa.event.remove(engine, "begin", began)
        sa.event.remove(engine, "after_cursor_execute", executed)


def test_a_backlog_goes_in_bounded_batches_each_in_its_own_transaction(database, session, settings, user_id, now,
                                                                       long_ago):
    purge_expired(database, settings, now=now)  # what earlier tests left
    backlog = add(database, *(mfa_challenge(user_id, expires_at=long_ago) for _ in range(5)))

    with deletes_per_transaction(database.engine, "mfa_challenges") as transactions:
        purged = purge_expired(database, settings, now=now, batch_size=2)

    assert purged == {"refresh_tokens": 0, "mfa_challenges": 5, "spent_challenges": 0, "spent_key_challenges": 0,
                      "password_resets": 0, "sent_codes": 0}
    assert [deletes for deletes in transactions if deletes] == [[2], [2], [1]]
    assert kept(session, MfaChallenge, backlog) == set()


def test_the_worker_purges_every_interval(app, handlers, running_worker, database, session, settings, user_id,
                                          long_ago):
    [dead] = add(database, mfa_challenge(user_id, expires_at=long_ago))

    running_worker(app, handlers, tasks=[purge_task(settings)])

    assert wait_until(lambda: not kept(session, MfaChallenge, [dead]), message="the worker's purge")
