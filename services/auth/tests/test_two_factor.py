"""TOTP 2FA: setup, confirm, the second factor at sign-in (no replay), recovery codes, disable."""
import base64
import datetime as dt
import hashlib
import time
import types
import urllib.parse
import uuid

import pyotp
import pytest
from servicekit.errors import Unauthorized
from servicekit.testing import wait_until
from sqlalchemy import select, update

from auth.models import LoginAttempt, RecoveryCode, User
from auth.totp import verify_second_factor

STEP = 30  # seconds per TOTP step


def code_at(secret, offset_steps=0):
    """The TOTP code of the step `offset_steps` away from now (the server accepts one step either side)."""
    return pyotp.TOTP(secret).at(time.time() + offset_steps * STEP)


def early_in_a_step(margin=5):
    """Wait (at most a few seconds) until `margin` seconds of the current step remain, so a test's codes
    for "previous", "current" and "next" step still mean that when the server checks them."""
    wait_until(lambda: STEP - time.time() % STEP > margin, timeout=margin + 1, message="a fresh TOTP step")


@pytest.fixture
def user_with_2fa(client, new_user):
    """A signed-in user who has turned 2FA on; the confirming code was the previous step's, so the
    current and next steps' codes are still unused."""
    user = new_user()
    early_in_a_step()
    secret = client.post("/api/auth/2fa/setup", json={"password": user.password}, headers=user.headers).json["secret"]
    confirmed = client.post("/api/auth/2fa/confirm", headers=user.headers, json={"code": code_at(secret, -1)})
    assert confirmed.status_code == 200, confirmed.json
    return types.SimpleNamespace(user=user, secret=secret, recovery_codes=confirmed.json["recovery_codes"])


def log_in(client, user, password=None):
    return client.post("/api/auth/login", json={"username": user.username, "password": password or user.password})


def account(session, user) -> User:
    session.expire_all()
    return session.get(User, user.id)


# --- setup and confirm -------------------------------------------------------------------

def test_setup_returns_a_secret_an_otpauth_uri_and_a_qr_code_while_2fa_stays_off(client, new_user, session, cipher):
    user = new_user()

    response = client.post("/api/auth/2fa/setup", json={"password": user.password}, headers=user.headers)

    assert response.status_code == 200, response.json
    secret, uri = response.json["secret"], response.json["otpauth_uri"]
    assert len(base64.b32decode(secret)) >= 16  # at least 128 bits
    parsed = urllib.parse.urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(parsed.path) == f"/BeYou:{user.username}"
    assert urllib.parse.parse_qs(parsed.query) == {"secret": [secret], "issuer": ["BeYou"]}
    assert base64.b64decode(response.json["qr_png_base64"]).startswith(b"\x89PNG\r\n\x1a\n")
    stored = account(session, user)
    assert stored.totp_enabled is False
    assert secret.encode() not in stored.totp_secret  # encrypted at rest
    assert cipher.decrypt(stored.totp_secret) == secret.encode()
    assert "access_token" in log_in(client, user).json  # sign-in still needs no second factor


def test_confirming_with_a_wrong_code_is_refused_and_2fa_stays_off(client, new_user, session):
    user = new_user()
    secret = client.post("/api/auth/2fa/setup", json={"password": user.password}, headers=user.headers).json["secret"]
    wrong = f"{(int(code_at(secret)) + 1) % 1_000_000:06d}"

    response = client.post("/api/auth/2fa/confirm", headers=user.headers, json={"code": wrong})

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "code" in response.json["errors"]
    assert account(session, user).totp_enabled is False


def test_confirming_without_a_setup_is_a_conflict(client, new_user):
    user = new_user()

    response = client.post("/api/auth/2fa/confirm", headers=user.headers, json={"code": "123456"})

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"


def test_confirming_turns_2fa_on_and_returns_ten_one_time_recovery_codes_stored_only_hashed(user_with_2fa, session):
    codes = user_with_2fa.recovery_codes

    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(code.replace("-", "")) == 10 for code in codes)
    stored = account(session, user_with_2fa.user)
    assert stored.totp_enabled is True
    hashes = set(session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == stored.id)))
    assert hashes == {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}


def test_setup_needs_the_password_so_a_stolen_token_cannot_enrol_an_authenticator(client, new_user, session):
    user = new_user()

    without = client.post("/api/auth/2fa/setup", json={}, headers=user.headers)
    wrong = client.post("/api/auth/2fa/setup", json={"password": "not the password"}, headers=user.headers)

    assert without.status_code == 422 and "password" in without.json["errors"]
    assert wrong.status_code == 422 and "password" in wrong.json["errors"]
    assert account(session, user).totp_secret is None


def test_setup_and_confirm_are_refused_once_2fa_is_on(client, user_with_2fa):
    headers, secret = user_with_2fa.user.headers, user_with_2fa.secret

    assert client.post("/api/auth/2fa/setup", json={"password": user_with_2fa.user.password}, headers=headers).status_code == 409
    again = client.post("/api/auth/2fa/confirm", headers=headers, json={"code": code_at(secret)})
    assert again.status_code == 409
    assert "recovery_codes" not in again.json  # the codes are shown once only


def test_2fa_resources_need_a_signed_in_user(client):
    for path in ("setup", "confirm", "disable", "recovery-codes"):
        response = client.post(f"/api/auth/2fa/{path}", json={"code": "123456", "password": "x"})
        assert response.status_code == 401, path
        assert response.mimetype == "application/problem+json"


# --- the second factor: each code once ----------------------------------------------------

def test_a_totp_code_is_accepted_once_and_never_an_older_one_after_it(user_with_2fa, session, cipher):
    user, secret = account(session, user_with_2fa.user), user_with_2fa.secret

    assert verify_second_factor(session, cipher, user, code_at(secret)) == "totp"
    with pytest.raises(Unauthorized):
        verify_second_factor(session, cipher, user, code_at(secret))  # the same code again: replay
    with pytest.raises(Unauthorized):
        verify_second_factor(session, cipher, user, code_at(secret, -1))  # an earlier step than the one accepted
    assert verify_second_factor(session, cipher, user, code_at(secret, +1)) == "totp"  # a later step is fine


def test_a_recovery_code_is_accepted_once(user_with_2fa, session, cipher):
    user = account(session, user_with_2fa.user)
    first, second = user_with_2fa.recovery_codes[:2]

    assert verify_second_factor(session, cipher, user, first) == "recovery"
    with pytest.raises(Unauthorized):
        verify_second_factor(session, cipher, user, first)
    assert verify_second_factor(session, cipher, user, second.lower().replace("-", " ")) == "recovery"  # as typed


def test_a_wrong_code_is_refused_as_401(user_with_2fa, session, cipher):
    user = account(session, user_with_2fa.user)

    for wrong in ("000000x", "", "ABCDE-FGHIJ", f"{(int(code_at(user_with_2fa.secret)) + 1) % 1_000_000:06d}"):
        with pytest.raises(Unauthorized) as refused:
            verify_second_factor(session, cipher, user, wrong)
        assert refused.value.status == 401


def test_the_codes_of_a_setup_never_confirmed_are_no_second_factor(client, new_user, session, cipher):
    user = new_user()
    early_in_a_step()
    secret = client.post("/api/auth/2fa/setup", json={"password": user.password}, headers=user.headers).json["secret"]

    with pytest.raises(Unauthorized):
        verify_second_factor(session, cipher, account(session, user), code_at(secret))


def test_sign_in_asks_for_the_second_factor_and_refuses_the_code_that_confirmed_setup(client, user_with_2fa):
    user, secret = user_with_2fa.user, user_with_2fa.secret

    first = log_in(client, user)
    assert first.status_code == 200 and first.json["mfa_required"] is True
    replayed = client.post("/api/auth/login/2fa", json={"mfa_token": first.json["mfa_token"],
                                                        "code": code_at(secret, -1)})
    assert replayed.status_code == 401

    fresh = client.post("/api/auth/login/2fa", json={"mfa_token": first.json["mfa_token"], "code": code_at(secret)})
    assert fresh.status_code == 200, fresh.json
    assert "access_token" in fresh.json

    second = log_in(client, user)
    replayed = client.post("/api/auth/login/2fa", json={"mfa_token": second.json["mfa_token"],
                                                        "code": code_at(secret)})
    assert replayed.status_code == 401  # accepted once, a moment ago


def test_sign_in_accepts_a_recovery_code_once(client, user_with_2fa):
    user, code = user_with_2fa.user, user_with_2fa.recovery_codes[0]

    first = log_in(client, user)
    assert client.post("/api/auth/login/2fa", json={"mfa_token": first.json["mfa_token"],
                                                    "code": code}).status_code == 200
    second = log_in(client, user)
    assert client.post("/api/auth/login/2fa", json={"mfa_token": second.json["mfa_token"],
                                                    "code": code}).status_code == 401


def test_a_user_suspended_between_password_and_code_cannot_finish_signing_in(client, user_with_2fa, session):
    user = user_with_2fa.user
    started = log_in(client, user)
    session.execute(update(User).where(User.id == uuid.UUID(user.id))
                    .values(suspended_until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
    session.commit()

    finished = client.post("/api/auth/login/2fa", json={"mfa_token": started.json["mfa_token"],
                                                        "code": user_with_2fa.recovery_codes[0]})

    assert finished.status_code == 401
    assert finished.json["title"] == "Invalid credentials"
    last = session.scalars(select(LoginAttempt).where(LoginAttempt.user_id == uuid.UUID(user.id))
                           .order_by(LoginAttempt.id.desc()).limit(1)).one()
    assert (last.kind, last.failure_reason) == ("2fa", "suspended")


# --- recovery codes and disable ------------------------------------------------------------

def test_new_recovery_codes_replace_the_old_ones(client, user_with_2fa, session, cipher):
    user, old_codes = user_with_2fa.user, user_with_2fa.recovery_codes

    response = client.post("/api/auth/2fa/recovery-codes", headers=user.headers, json={"code": old_codes[0]})

    assert response.status_code == 200, response.json
    new_codes = response.json["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    with pytest.raises(Unauthorized):
        verify_second_factor(session, cipher, account(session, user), old_codes[1])
    assert verify_second_factor(session, cipher, account(session, user), new_codes[0]) == "recovery"


def test_disabling_needs_the_password_and_a_current_code(client, user_with_2fa, session):
    user, secret = user_with_2fa.user, user_with_2fa.secret

    wrong_password = client.post("/api/auth/2fa/disable", headers=user.headers,
                                 json={"password": user.password + "x", "code": code_at(secret)})
    wrong_code = client.post("/api/auth/2fa/disable", headers=user.headers,
                             json={"password": user.password, "code": "000000"})
    no_code = client.post("/api/auth/2fa/disable", headers=user.headers, json={"password": user.password})

    assert (wrong_password.status_code, wrong_code.status_code, no_code.status_code) == (422, 422, 422)
    assert "password" in wrong_password.json["errors"] and "code" in wrong_code.json["errors"]
    assert account(session, user).totp_enabled is True

    disabled = client.post("/api/auth/2fa/disable", headers=user.headers,
                           json={"password": user.password, "code": code_at(secret)})

    assert disabled.status_code == 204
    stored = account(session, user)
    assert (stored.totp_enabled, stored.totp_secret) == (False, None)
    assert session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == stored.id)).all() == []
    assert "access_token" in log_in(client, user).json  # no second factor any more


def test_disabling_accepts_a_recovery_code_instead_of_a_totp(client, user_with_2fa, session):
    user = user_with_2fa.user

    response = client.post("/api/auth/2fa/disable", headers=user.headers,
                           json={"password": user.password, "code": user_with_2fa.recovery_codes[3]})

    assert response.status_code == 204
    assert account(session, user).totp_enabled is False


def test_disabling_when_2fa_is_off_is_a_conflict(client, new_user):
    user = new_user()

    response = client.post("/api/auth/2fa/disable", headers=user.headers,
                           json={"password": user.password, "code": "123456"})

    assert response.status_code == 409


def test_guessing_codes_with_a_signed_in_token_locks_the_account_like_failed_logins(client, new_user, session):
    user = new_user()
    early_in_a_step()
    secret = client.post("/api/auth/2fa/setup", json={"password": user.password}, headers=user.headers).json["secret"]
    wrong = f"{(int(code_at(secret)) + 500_000) % 1_000_000:06d}"

    guesses = [client.post("/api/auth/2fa/confirm", headers=user.headers, json={"code": wrong}).status_code
               for _ in range(10)]  # LOGIN_LOCKOUT_AFTER
    locked = client.post("/api/auth/2fa/confirm", headers=user.headers, json={"code": code_at(secret)})

    assert guesses == [422] * 10
    assert locked.status_code == 429
    assert locked.mimetype == "application/problem+json"
    assert account(session, user).totp_enabled is False
    session.expire_all()
    reasons = session.scalars(select(LoginAttempt.failure_reason).where(  # the setup's password check succeeded
        LoginAttempt.user_id == uuid.UUID(user.id), LoginAttempt.kind == "2fa", LoginAttempt.success.is_(False))
        .order_by(LoginAttempt.id)).all()
    assert reasons == ["bad_2fa_code"] * 10 + ["locked"]
