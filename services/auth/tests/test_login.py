import datetime as dt
import types
import uuid

import jwt
import pyotp
import pytest
import sqlalchemy as sa
from servicekit.context import context_of
from servicekit.tokens import JWKSClient, TokenVerifier

from auth.models import LoginAttempt, User


class ThroughTheTestClient:
    """What servicekit's JWKS client needs of `requests`, answered by the auth app itself."""

    def __init__(self, client):
        self.client = client

    def get(self, url, timeout):
        response = self.client.get(url.removeprefix("http://auth"))
        assert response.status_code == 200
        return types.SimpleNamespace(raise_for_status=lambda: None, json=lambda: response.json)


def log_in(client, username, password, **environ):
    return client.post("/api/auth/login", json={"username": username, "password": password}, environ_base=environ)


def answer(response):
    """What a client sees, less what differs on every request."""
    return response.status_code, response.mimetype, {k: v for k, v in response.json.items() if k != "request_id"}


def attempts_of(app, username):
    with context_of(app).db.session() as session:
        return session.execute(sa.select(LoginAttempt).where(LoginAttempt.username == username)
                               .order_by(LoginAttempt.id)).scalars().all()


def set_user(app, user_id, **values):
    with context_of(app).db.transaction() as session:
        session.execute(sa.update(User).where(User.id == uuid.UUID(user_id)).values(**values))


# --- tokens ----------------------------------------------------------------------------------

def test_a_login_answers_an_access_token_that_servicekit_verifies_with_the_right_claims(client, app, new_user):
    user = new_user()
    settings = context_of(app).settings
    verifier = TokenVerifier(JWKSClient("http://auth/api/auth/.well-known/jwks.json", http=ThroughTheTestClient(client)),
                             issuer=settings.token_issuer, audience=settings.token_audience)

    principal = verifier.verify(user.access_token)

    assert principal.user_id == uuid.UUID(user.id)
    assert principal.session_id == uuid.UUID(user.session_id)
    assert principal.roles == {"user"}
    assert principal.verified is False
    header, claims = jwt.get_unverified_header(user.access_token), jwt.decode(user.access_token,
                                                                             options={"verify_signature": False})
    assert header["alg"] == "EdDSA" and header["kid"]
    assert claims["aud"] == "beyou" and claims["iss"] == "beyou-auth" and claims["jti"]
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds
    assert claims["nbf"] <= claims["iat"] + 1


def test_a_login_answers_a_token_pair_of_a_new_session(client, new_user):
    user = new_user()

    response = log_in(client, user.username, user.password)

    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer"
    assert response.json["expires_in"] == 900
    assert response.json["session_id"] != user.session_id
    assert len(response.json["refresh_token"]) >= 43  # 256 bits, base64url


def test_the_verified_flag_and_roles_come_from_the_account(client, app, new_user, sign_in):
    user = new_user()
    set_user(app, user.id, verified=True)

    claims = jwt.decode(sign_in(user).access_token, options={"verify_signature": False})

    assert claims["verified"] is True
    assert claims["roles"] == ["user"]


# --- refusals look alike ---------------------------------------------------------------------

def test_unknown_user_bad_password_locked_banned_and_suspended_all_get_the_same_answer(client, app, new_user):
    bad_password_user, locked_user, banned_user, suspended_user = new_user(), new_user(), new_user(), new_user()
    set_user(app, banned_user.id, banned_at=dt.datetime.now(dt.UTC), ban_reason="spam")
    set_user(app, suspended_user.id, suspended_until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    lockout_after = context_of(app).settings.login_lockout_after
    for _ in range(lockout_after):
        assert log_in(client, locked_user.username, "wrong password").status_code == 401

    answers = {
        "unknown_user": answer(log_in(client, f"nobody{uuid.uuid4().hex[:8]}", "whatever password")),
        "bad_password": answer(log_in(client, bad_password_user.username, "wrong password")),
        "locked": answer(log_in(client, locked_user.username, locked_user.password)),
        "banned": answer(log_in(client, banned_user.username, banned_user.password)),
        "suspended": answer(log_in(client, suspended_user.username, suspended_user.password)),
    }

    assert answers["unknown_user"][0] == 401
    assert answers["unknown_user"][2]["detail"] == "invalid credentials"
    assert all(seen == answers["unknown_user"] for seen in answers.values()), answers
    assert attempts_of(app, locked_user.username)[-1].failure_reason == "locked"
    assert attempts_of(app, banned_user.username)[-1].failure_reason == "banned"
    assert attempts_of(app, suspended_user.username)[-1].failure_reason == "suspended"
    assert attempts_of(app, bad_password_user.username)[-1].failure_reason == "bad_password"


def test_a_login_is_recorded_with_the_address_the_request_came_from(client, app, new_user):
    user = new_user()

    log_in(client, user.username, user.password, REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="probe/1.0")

    attempt = attempts_of(app, user.username)[-1]
    assert (attempt.ip, attempt.user_agent, attempt.success, attempt.kind) == ("198.51.100.23", "probe/1.0", True,
                                                                                "login")


# --- 2FA -------------------------------------------------------------------------------------

@pytest.fixture
def two_factor_user(client, new_user):
    """A user who turned 2FA on through the API, with their recovery codes."""
    user = new_user()
    secret = client.post("/api/auth/2fa/setup", json={"password": user.password}, headers=user.headers).json["secret"]
    confirmed = client.post("/api/auth/2fa/confirm", headers=user.headers, json={"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200, confirmed.json
    user.recovery_codes = confirmed.json["recovery_codes"]
    return user


def test_with_2fa_on_a_login_asks_for_the_second_factor_instead_of_answering_tokens(client, two_factor_user):
    response = log_in(client, two_factor_user.username, two_factor_user.password)

    assert response.status_code == 200
    assert response.json["mfa_required"] is True
    assert response.json["mfa_token"]
    assert "access_token" not in response.json


def test_the_second_factor_finishes_the_login_and_its_token_works_once(client, app, two_factor_user):
    mfa_token = log_in(client, two_factor_user.username, two_factor_user.password).json["mfa_token"]
    code = two_factor_user.recovery_codes[0]

    response = client.post("/api/auth/login/2fa", json={"mfa_token": mfa_token, "code": code})

    assert response.status_code == 200, response.json
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {response.json['access_token']}"}).json[
        "totp_enabled"] is True
    again = client.post("/api/auth/login/2fa", json={"mfa_token": mfa_token, "code": two_factor_user.recovery_codes[1]})
    assert again.status_code == 401
    attempt = attempts_of(app, two_factor_user.username)[-1]
    assert (attempt.kind, attempt.success, str(attempt.session_id)) == ("2fa", True, response.json["session_id"])


def test_a_wrong_second_factor_is_refused_and_recorded(client, app, two_factor_user):
    mfa_token = log_in(client, two_factor_user.username, two_factor_user.password).json["mfa_token"]

    response = client.post("/api/auth/login/2fa", json={"mfa_token": mfa_token, "code": "000000"})

    assert response.status_code == 401
    attempt = attempts_of(app, two_factor_user.username)[-1]
    assert (attempt.kind, attempt.success, attempt.failure_reason) == ("2fa", False, "bad_2fa_code")


def test_an_mfa_token_dies_after_a_few_wrong_codes(client, two_factor_user):
    mfa_token = log_in(client, two_factor_user.username, two_factor_user.password).json["mfa_token"]
    for _ in range(5):
        client.post("/api/auth/login/2fa", json={"mfa_token": mfa_token, "code": "000000"})

    response = client.post("/api/auth/login/2fa", json={"mfa_token": mfa_token,
                                                        "code": two_factor_user.recovery_codes[0]})

    assert response.status_code == 401


def test_a_made_up_mfa_token_is_refused(client):
    response = client.post("/api/auth/login/2fa", json={"mfa_token": "made-up", "code": "123456"})

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
