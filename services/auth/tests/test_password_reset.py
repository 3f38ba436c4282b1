"""Password reset: start (same answer for any name), verify (TOTP/recovery code or a delivered code), confirm."""
import dataclasses
import datetime as dt
import time
import types
import uuid

import pyotp
import pytest
from servicekit.context import context_of
from servicekit.testing import wait_until
from sqlalchemy import select, update

from auth.models import LoginAttempt, PasswordReset, SentCode

NEW_PASSWORD = "a new and rather long passphrase"


@pytest.fixture(autouse=True)
def settings(app, monkeypatch):
    """Codes go to the `sent_codes` outbox the tests read; `settings.change(...)` adjusts others."""
    ctx = context_of(app)

    def change(**values):
        monkeypatch.setattr(ctx, "settings", dataclasses.replace(ctx.settings, **values))

    change(password_reset_code_sender="outbox")
    return types.SimpleNamespace(change=change)


@pytest.fixture
def source():
    """This test's own client address, so throttling counts never leak between tests."""
    a, b, c = uuid.uuid4().bytes[:3]
    return {"REMOTE_ADDR": f"10.{a}.{b}.{c or 1}"}


@pytest.fixture
def reset(client, source):
    """Calls of the reset resources from this test's address."""
    def start(name):
        return client.post("/api/auth/password-reset", json={"username_or_email": name}, environ_base=source)

    def verify(reset_id, code):
        return client.post(f"/api/auth/password-reset/{reset_id}/verify", json={"code": code}, environ_base=source)

    def confirm(reset_id, password=NEW_PASSWORD):
        return client.post(f"/api/auth/password-reset/{reset_id}/confirm", json={"new_password": password},
                           environ_base=source)
    return types.SimpleNamespace(start=start, verify=verify, confirm=confirm)


def sent_codes(session, user):
    session.expire_all()
    return session.scalars(select(SentCode).where(SentCode.user_id == uuid.UUID(user.id)).order_by(SentCode.id)).all()


def log_in(client, login, password):
    return client.post("/api/auth/login", json={"username": login, "password": password})


def enable_2fa(client, user):
    """Turn 2FA on with the previous step's code, early enough in a step that the current one's code
    stays current while the test runs; returns the secret and the recovery codes."""
    wait_until(lambda: 30 - time.time() % 30 > 5, timeout=6, message="a fresh TOTP step")
    secret = client.post("/api/auth/2fa/setup", json={"password": user.password}, headers=user.headers).json["secret"]
    confirmed = client.post("/api/auth/2fa/confirm", headers=user.headers,
                            json={"code": pyotp.TOTP(secret).at(time.time() - 30)})
    assert confirmed.status_code == 200, confirmed.json
    return secret, confirmed.json["recovery_codes"]


# --- start ---------------------------------------------------------------------------------

def test_starting_a_reset_answers_alike_for_existing_and_unknown_accounts(new_user, reset, session):
    user = new_user()

    answers = [reset.start(name) for name in (user.username, user.email, "nobody-here", "nobody@example.org")]

    assert [a.status_code for a in answers] == [202] * 4
    assert [sorted(a.json) for a in answers] == [["expires_at", "reset_id"]] * 4
    assert len({a.json["reset_id"] for a in answers}) == 4
    assert [(c.channel, c.destination, c.purpose) for c in sent_codes(session, user)] == \
        [("email", user.email, "password_reset")] * 2  # the two starts for the real account


def test_an_account_with_2fa_gets_the_same_answer_and_no_code_is_sent(client, new_user, reset, session):
    user, other = new_user(), new_user()
    enable_2fa(client, user)

    started, without_2fa = reset.start(user.username), reset.start(other.username)

    assert started.status_code == without_2fa.status_code == 202
    assert sorted(started.json) == sorted(without_2fa.json)  # 2FA or not is not told
    assert sent_codes(session, user) == []


# --- verify and confirm --------------------------------------------------------------------

def test_without_2fa_the_code_sent_to_the_account_resets_the_password(client, new_user, reset, session):
    user = new_user()
    reset_id = reset.start(user.email).json["reset_id"]
    code = sent_codes(session, user)[-1].code

    assert len(code) == 8 and code.isdigit()
    wrong = reset.verify(reset_id, f"{(int(code) + 1) % 10 ** 8:08d}")
    assert wrong.status_code == 422 and wrong.mimetype == "application/problem+json"
    verified = reset.verify(reset_id, code)
    assert verified.status_code == 200, verified.json
    assert verified.json["verified"] is True
    assert reset.confirm(reset_id).status_code == 204

    assert log_in(client, user.username, user.password).status_code == 401
    assert "access_token" in log_in(client, user.username, NEW_PASSWORD).json


def test_with_2fa_a_reset_needs_a_totp_code_and_the_delivered_kind_of_code_does_not_do(client, new_user, reset):
    user = new_user()
    secret, _ = enable_2fa(client, user)
    reset_id = reset.start(user.username).json["reset_id"]

    assert reset.verify(reset_id, "12345678").status_code == 422
    assert reset.verify(reset_id, pyotp.TOTP(secret).at(time.time() - 30)).status_code == 422  # used by confirm
    assert reset.verify(reset_id, pyotp.TOTP(secret).now()).status_code == 200
    assert reset.confirm(reset_id).status_code == 204
    assert log_in(client, user.username, NEW_PASSWORD).json["mfa_required"] is True  # 2FA stays on


def test_with_2fa_a_recovery_code_verifies_a_reset_once(client, new_user, reset):
    user = new_user()
    _, recovery_codes = enable_2fa(client, user)
    first, second = (reset.start(user.username).json["reset_id"] for _ in range(2))

    assert reset.verify(first, recovery_codes[0]).status_code == 200
    assert reset.verify(second, recovery_codes[0]).status_code == 422  # used already
    assert reset.verify(second, recovery_codes[1]).status_code == 200


def test_a_reset_of_an_unknown_account_refuses_every_code_like_a_wrong_one(new_user, reset):
    user = new_user()
    real = reset.start(user.username).json["reset_id"]
    unknown = reset.start("no-such-user").json["reset_id"]

    answers = [reset.verify(reset_id, "12345678") for reset_id in (real, unknown)]

    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json["errors"] == answers[1].json["errors"]
    assert reset.confirm(unknown).status_code == 409


def test_a_reset_cannot_be_confirmed_before_it_is_verified(client, new_user, reset):
    user = new_user()
    reset_id = reset.start(user.username).json["reset_id"]

    response = reset.confirm(reset_id)

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert log_in(client, user.username, NEW_PASSWORD).status_code == 401


def test_an_expired_reset_is_refused(new_user, reset, session):
    user = new_user()
    reset_id = reset.start(user.username).json["reset_id"]
    code = sent_codes(session, user)[-1].code
    verified_id = reset.start(user.username).json["reset_id"]
    assert reset.verify(verified_id, sent_codes(session, user)[-1].code).status_code == 200
    session.execute(update(PasswordReset).where(PasswordReset.id.in_([uuid.UUID(reset_id), uuid.UUID(verified_id)]))
               .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    session.commit()

    assert reset.verify(reset_id, code).status_code == 410
    assert reset.confirm(verified_id).status_code == 410


def test_a_reset_dies_after_too_many_wrong_codes(new_user, reset, session):
    user = new_user()
    reset_id = reset.start(user.username).json["reset_id"]
    code = sent_codes(session, user)[-1].code

    wrong = [reset.verify(reset_id, "00000000" if code != "00000000" else "11111111").status_code for _ in range(5)]

    assert wrong == [422] * 5
    assert reset.verify(reset_id, code).status_code == 410


def test_a_weak_new_password_is_refused_and_the_reset_stays_usable(new_user, reset, session):
    user = new_user()
    reset_id = reset.start(user.username).json["reset_id"]
    reset.verify(reset_id, sent_codes(session, user)[-1].code)

    weak = reset.confirm(reset_id, "password")

    assert weak.status_code == 422 and "password" in weak.json["errors"]
    assert reset.confirm(reset_id).status_code == 204


def test_a_reset_is_used_once(new_user, reset, session):
    user = new_user()
    reset_id = reset.start(user.username).json["reset_id"]
    code = sent_codes(session, user)[-1].code
    reset.verify(reset_id, code)
    assert reset.confirm(reset_id).status_code == 204

    assert reset.confirm(reset_id, "yet another long passphrase").status_code == 410
    assert reset.verify(reset_id, code).status_code == 410


def test_an_unknown_reset_is_404(reset):
    assert reset.verify(uuid.uuid4(), "12345678").status_code == 404
    assert reset.confirm(uuid.uuid4()).status_code == 404


def test_a_completed_reset_signs_the_account_out_everywhere(app, handlers, client, new_user, reset, session,
                                                            event_probe, running_worker):
    user = new_user()
    other_device = log_in(client, user.username, user.password).json
    running_worker(app, handlers)
    reset_id = reset.start(user.username).json["reset_id"]
    reset.verify(reset_id, sent_codes(session, user)[-1].code)

    assert reset.confirm(reset_id).status_code == 204

    for session_id in (user.session_id, other_device["session_id"]):
        event = event_probe.wait_for("auth.session.revoked", where=lambda e, sid=session_id:
                                     e.payload["session_id"] == str(sid))
        assert event.payload["user_id"] == user.id
    refused = client.get("/api/auth/me", headers=user.headers)
    assert refused.status_code == 401
    assert client.post("/api/auth/token/refresh",
                       json={"refresh_token": other_device["refresh_token"]}).status_code == 401


# --- login activity and throttling -----------------------------------------------------------

def test_reset_attempts_are_recorded_in_the_login_activity(client, new_user, reset, source, session):
    user = new_user()
    reset_id = reset.start(user.email).json["reset_id"]
    reset.verify(reset_id, "99999999" if sent_codes(session, user)[-1].code != "99999999" else "88888888")
    reset.start("someone-unknown")

    session.expire_all()
    rows = session.scalars(select(LoginAttempt).where(LoginAttempt.kind == "reset", LoginAttempt.ip == source["REMOTE_ADDR"])
                      .order_by(LoginAttempt.id)).all()
    assert [(r.username, str(r.user_id) if r.user_id else None, r.success, r.failure_reason) for r in rows] == [
        (user.email, user.id, True, None),
        (user.email, user.id, False, "bad_code"),
        ("someone-unknown", None, False, "unknown_user"),
    ]
    assert all(r.user_agent for r in rows)


def test_reset_attempts_on_an_account_are_throttled_alike_whether_it_exists_or_not(new_user, reset, settings):
    settings.change(login_lockout_after=3)
    user = new_user()

    known = [reset.start(user.username).status_code for _ in range(4)]
    unknown = [reset.start("ghost-account").status_code for _ in range(4)]

    assert known == unknown == [202, 202, 202, 429]
    refused = reset.start(user.email)  # the same account by its other name
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert "Retry-After" in refused.headers


def test_wrong_codes_count_towards_the_reset_throttle(new_user, reset, settings, session):
    settings.change(login_lockout_after=3)
    user = new_user()
    reset_id = reset.start(user.username).json["reset_id"]
    code = sent_codes(session, user)[-1].code

    reset.verify(reset_id, "00000000" if code != "00000000" else "11111111")
    reset.verify(reset_id, "00000000" if code != "00000000" else "11111111")

    assert reset.verify(reset_id, code).status_code == 429


def test_reset_attempts_from_one_address_are_throttled(reset, settings, client, source):
    settings.change(login_source_lockout_after=5)

    answers = [reset.start(f"someone-{i}").status_code for i in range(6)]

    assert answers == [202] * 5 + [429]
    elsewhere = client.post("/api/auth/password-reset", json={"username_or_email": "someone-0"},
                            environ_base={"REMOTE_ADDR": "192.0.2.77"})
    assert elsewhere.status_code == 202


def test_with_the_log_sender_the_code_goes_to_the_service_log(new_user, reset, settings, session, caplog):
    settings.change(password_reset_code_sender="log")
    user = new_user()

    with caplog.at_level("INFO", logger="auth.code_senders"):
        assert reset.start(user.username).status_code == 202

    [line] = [r for r in caplog.records if r.name == "auth.code_senders"]
    assert (line.destination, line.purpose) == (user.email, "password_reset")
    assert len(line.code) == 8 and line.code.isdigit()
    assert sent_codes(session, user) == []


def test_turning_2fa_on_ends_a_reset_opened_with_an_emailed_code(client, new_user, reset, session):
    user = new_user()
    reset_id = reset.start(user.username).json["reset_id"]
    code = sent_codes(session, user)[-1].code

    enable_2fa(client, user)

    assert reset.verify(reset_id, code).status_code == 410


def test_an_unknown_code_sender_is_refused_when_the_service_starts():
    from auth.config import Config
    from servicekit.config import ConfigError

    with pytest.raises(ConfigError, match="PASSWORD_RESET_CODE_SENDER"):
        Config.load({"DATABASE_URL": "postgresql+psycopg2://x@h/session", "AMQP_URL": "amqp://h", "SECRET_KEY": "s",
                     "DATA_KEYS": "k", "PASSWORD_RESET_CODE_SENDER": "carrier-pigeon"}, environ={})
