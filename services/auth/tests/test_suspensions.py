"""Suspensions decided by social's moderation: sign-in refused and sessions revoked until the
suspension ends by itself; the longer of two suspensions wins; a late or malformed one changes nothing."""
import datetime as dt
import logging
import threading
import uuid

import pytest
import sqlalchemy as sa
from servicekit.context import context_of
from servicekit.events import Event, record
from servicekit.testing import wait_until

from auth.events import on_moderation_action_taken
from auth.models import LoginAttempt, User

HOUR = 3600


def suspension(user_id, *, decided_at=None, **fields) -> Event:
    """A moderation "suspend" of a user as social publishes it, decided at `decided_at` (default: now)."""
    payload = {"action": "suspend", "target_type": "user", "target_id": str(user_id), "reason": "harassment",
               "notes": "reported 3 times", "actor_id": str(uuid.uuid4()), **fields}
    return Event(type="social.moderation.action_taken", payload=payload, producer="social",
                 occurred_at=decided_at or dt.datetime.now(dt.UTC))


def deliver(app, event):
    """What auth's worker does with a delivered event: the handler, in one transaction."""
    with context_of(app).db.transaction() as session:
        on_moderation_action_taken(session, event)


def account(app, user_id) -> User:
    with context_of(app).db.session() as session:
        return session.get(User, uuid.UUID(user_id))


def set_suspended_until(app, user_id, until):
    with context_of(app).db.transaction() as session:
        session.execute(sa.update(User).where(User.id == uuid.UUID(user_id)).values(suspended_until=until))


def log_in(client, user):
    return client.post("/api/auth/login", json={"username": user.username, "password": user.password})


def last_failure_reason(app, user):
    with context_of(app).db.session() as session:
        return session.scalars(sa.select(LoginAttempt.failure_reason).where(LoginAttempt.username == user.username)
                               .order_by(LoginAttempt.id.desc()).limit(1)).one()


def refused(client, user) -> bool:
    return client.get("/api/auth/me", headers=user.headers).status_code == 401


def test_a_suspension_from_moderation_refuses_sign_in_and_revokes_every_session(client, app, handlers, new_user,
                                                                                  sign_in, running_worker,
                                                                                  event_probe):
    running_worker(app, handlers)
    user = new_user()
    other_device = sign_in(user)
    event = suspension(user.id, duration=HOUR)
    with context_of(app).db.transaction() as session:  # stands in for social: through the outbox and the bus
        record(session, event)

    wait_until(lambda: account(app, user.id).suspended_until, timeout=60, message="the suspension to reach auth")
    assert account(app, user.id).suspended_until == event.occurred_at + dt.timedelta(seconds=HOUR)
    signing_in = log_in(client, user)
    assert signing_in.status_code == 401
    assert signing_in.json["title"] == "Invalid credentials"
    assert last_failure_reason(app, user) == "suspended"
    for device in (user, other_device):
        wait_until(lambda: refused(client, device), message="the session's access token to be refused")
        renewed = client.post("/api/auth/token/refresh", json={"refresh_token": device.refresh_token})
        assert renewed.status_code == 401
    revoked = {user.session_id, other_device.session_id}
    wait_until(lambda: {e.payload["session_id"] for e in event_probe.received(
        "auth.session.revoked", where=lambda e: e.payload["user_id"] == user.id
        and e.payload["reason"] == "suspended")} == revoked, message="a revocation event per session")
    assert not event_probe.received("auth.user.banned", where=lambda e: e.payload["user_id"] == user.id)


def test_a_suspension_ends_by_itself(client, app, new_user):
    user = new_user()
    deliver(app, suspension(user.id, duration=HOUR))
    assert log_in(client, user).status_code == 401

    set_suspended_until(app, user.id, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))  # the hour has passed

    signed_in = log_in(client, user)
    assert signed_in.status_code == 200, signed_in.json
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {signed_in.json['access_token']}"}
                      ).status_code == 200


def test_signing_in_again_and_again_while_suspended_does_not_lock_the_account_afterwards(client, app, new_user):
    user = new_user()
    set_suspended_until(app, user.id, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    for _ in range(context_of(app).settings.login_lockout_after + 2):  # the right password, refused each time
        assert log_in(client, user).status_code == 401

    set_suspended_until(app, user.id, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))

    assert log_in(client, user).status_code == 200


def test_a_longer_suspension_replaces_a_shorter_one_and_a_shorter_one_changes_nothing(app, new_user):
    user = new_user()
    decided_at = dt.datetime.now(dt.UTC)
    a_week_later = decided_at + dt.timedelta(days=7)

    deliver(app, suspension(user.id, duration=HOUR, decided_at=decided_at))
    deliver(app, suspension(user.id, duration=7 * 24 * HOUR, decided_at=decided_at))
    assert account(app, user.id).suspended_until == a_week_later

    deliver(app, suspension(user.id, duration=2 * HOUR))
    assert account(app, user.id).suspended_until == a_week_later


def test_a_late_suspension_ends_when_it_would_have_ended_had_it_arrived_on_time(app, new_user):
    user = new_user()
    decided_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)

    deliver(app, suspension(user.id, duration=2 * HOUR, decided_at=decided_at))

    assert account(app, user.id).suspended_until == decided_at + dt.timedelta(hours=2)


def test_a_suspension_delivered_after_its_end_changes_nothing(client, app, new_user):
    user = new_user()

    deliver(app, suspension(user.id, duration=HOUR, decided_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)))

    assert account(app, user.id).suspended_until is None
    assert client.get("/api/auth/me", headers=user.headers).status_code == 200
    assert log_in(client, user).status_code == 200


@pytest.mark.parametrize("duration", [{}, {"duration": None}, {"duration": 0}, {"duration": -60},
                                      {"duration": 10**15}],
                         ids=["absent", "null", "zero", "negative", "beyond-the-calendar"])
def test_a_suspend_without_a_usable_duration_is_ignored_with_a_warning(client, app, new_user, caplog, duration):
    user = new_user()

    with caplog.at_level(logging.WARNING, logger="auth.events"):
        deliver(app, suspension(user.id, **duration))  # returns: the queue moves on instead of retrying

    assert "suspend without a usable duration" in caplog.text
    assert account(app, user.id).suspended_until is None
    assert client.get("/api/auth/me", headers=user.headers).status_code == 200


def test_suspending_an_unknown_user_changes_nothing(app, caplog):
    with caplog.at_level(logging.WARNING, logger="auth.events"):
        deliver(app, suspension(uuid.uuid4(), duration=HOUR))

    assert "unknown user" in caplog.text


def test_suspending_a_banned_user_leaves_the_ban_and_outlasts_an_unban(client, app, new_user, new_staff):
    user, staff = new_user(), new_staff()
    banned = client.post(f"/api/auth/admin/users/{user.id}/ban", headers=staff.headers,
                         json={"reason": "scam"}).json

    deliver(app, suspension(user.id, duration=HOUR))

    suspended = account(app, user.id)
    assert (suspended.banned_at, suspended.ban_reason) == (dt.datetime.fromisoformat(banned["banned_at"]), "scam")
    unbanned = client.post(f"/api/auth/admin/users/{user.id}/unban", headers=staff.headers)
    assert unbanned.json["banned"] is False
    assert dt.datetime.fromisoformat(unbanned.json["suspended_until"]) == suspended.suspended_until
    assert log_in(client, user).status_code == 401
    assert last_failure_reason(app, user) == "suspended"


def lock_waits(app) -> int:
    """How many connections to this test's database are waiting for a lock."""
    with context_of(app).db.session() as session:
        return session.scalar(sa.text("SELECT count(*) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND wait_event_type = 'Lock'"))


def test_a_sign_in_racing_a_suspension_leaves_no_session_behind(app, new_user):
    user = new_user()
    answers = []
    with context_of(app).db.transaction() as session:  # the suspension, applied but not yet committed
        on_moderation_action_taken(session, suspension(user.id, duration=HOUR))
        racing = threading.Thread(target=lambda: answers.append(log_in(app.test_client(), user)))
        racing.start()
        wait_until(lambda: lock_waits(app), message="the sign-in to wait for the suspension")
    racing.join(timeout=30)

    assert [answer.status_code for answer in answers] == [401]
