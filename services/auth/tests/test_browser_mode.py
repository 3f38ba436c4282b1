"""Browser mode: the refresh token as an HttpOnly cookie, refreshed only with the CSRF header.

Every request here is sent by a client without a cookie jar, with the Cookie header written out, so
that each test says exactly which cookie a browser would send.
"""
import dataclasses
import time
import uuid

import pyotp
import pytest
import sqlalchemy as sa
from servicekit.config import ConfigError
from servicekit.context import context_of

from auth import create_app
from auth.config import Config
from auth.models import LoginAttempt

COOKIE = "beyou_refresh"
CSRF = {"X-BeYou-CSRF": "1"}


@pytest.fixture
def browser(app):
    """A client that keeps no cookies: each request carries exactly the Cookie header the test gives it."""
    return app.test_client(use_cookies=False)


def set_cookie(response) -> dict[str, str]:
    """The one Set-Cookie of `response`, as {"name", "value", attribute (lower case): value ("" if bare)}."""
    headers = response.headers.getlist("Set-Cookie")
    assert len(headers) == 1, headers
    pair, *attributes = [part.strip() for part in headers[0].split(";")]
    name, _, value = pair.partition("=")
    parsed = {"name": name, "value": value}
    for attribute in attributes:
        key, _, attribute_value = attribute.partition("=")
        parsed[key.lower()] = attribute_value
    return parsed


def browser_login(browser, user, **environ):
    return browser.post("/api/auth/login", json={"username": user.username, "password": user.password,
                                                 "mode": "browser"}, environ_base=environ)


def cookie_refresh(browser, cookie, headers=CSRF, **environ):
    return browser.post("/api/auth/token/refresh", json={}, headers={**headers, "Cookie": f"{COOKIE}={cookie}"},
                        environ_base=environ)


def signed_in(browser, user):
    """A new browser-mode session of `user`: (its answer, its cookie's value)."""
    response = browser_login(browser, user)
    assert response.status_code == 200, response.json
    return response.json, set_cookie(response)["value"]


def me(browser, access_token):
    return browser.get("/api/auth/me", headers={"Authorization": f"Bearer {access_token}"})


def attempts(app, user, kind):
    with context_of(app).db.session() as session:
        return session.execute(sa.select(LoginAttempt).where(LoginAttempt.user_id == uuid.UUID(user.id),
                                                             LoginAttempt.kind == kind)
                               .order_by(LoginAttempt.id)).scalars().all()


# --- signing in ------------------------------------------------------------------------------

def test_a_browser_sign_in_sets_the_refresh_token_as_a_strict_http_only_cookie_and_not_in_the_body(
        browser, new_user, settings):
    user = new_user()

    response = browser_login(browser, user)

    assert response.status_code == 200, response.json
    assert "refresh_token" not in response.json
    assert response.json["token_type"] == "Bearer"
    assert me(browser, response.json["access_token"]).json["id"] == user.id
    cookie = set_cookie(response)
    assert (cookie["name"], len(cookie["value"]) >= 43) == (COOKIE, True)  # 256 random bits, URL-safe base64
    assert cookie["httponly"] == "" and cookie["secure"] == ""
    assert (cookie["samesite"], cookie["path"], cookie["max-age"]) == (
        "Strict", "/api/auth/token", str(settings.refresh_token_ttl_seconds))


def test_the_api_mode_is_unchanged_with_the_refresh_token_in_the_body_and_no_cookie(browser, new_user):
    user = new_user()

    for body in ({}, {"mode": "api"}):
        response = browser.post("/api/auth/login", json={"username": user.username, "password": user.password,
                                                         **body})

        assert response.status_code == 200, response.json
        assert response.json["refresh_token"]
        assert "Set-Cookie" not in response.headers
        refreshed = browser.post("/api/auth/token/refresh", json={"refresh_token": response.json["refresh_token"]})
        assert refreshed.status_code == 200 and refreshed.json["refresh_token"]
        assert "Set-Cookie" not in refreshed.headers


def test_an_unknown_mode_is_refused(browser, new_user):
    user = new_user()

    response = browser.post("/api/auth/login", json={"username": user.username, "password": user.password,
                                                     "mode": "cookie"})

    assert response.status_code == 422
    assert "mode" in response.json["errors"]


def test_a_browser_sign_in_is_on_record_like_any_other(app, browser, new_user):
    user = new_user()

    refused = browser.post("/api/auth/login", json={"username": user.username, "password": "wrong password",
                                                    "mode": "browser"})
    answer, _ = signed_in(browser, user)

    assert refused.status_code == 401 and "Set-Cookie" not in refused.headers
    records = [(a.success, a.failure_reason, a.session_id and str(a.session_id))
               for a in attempts(app, user, "login")]
    # The first is new_user's own (api mode) sign-in.
    assert records[1:] == [(False, "bad_password", None), (True, None, answer["session_id"])]


def test_a_2fa_sign_in_in_browser_mode_sets_the_cookie_at_the_second_step(app, browser, new_user):
    user = new_user()
    secret = browser.post("/api/auth/2fa/setup", json={"password": user.password},
                          headers=user.headers).json["secret"]
    step = 30
    confirmed = browser.post("/api/auth/2fa/confirm", headers=user.headers,
                             json={"code": pyotp.TOTP(secret).at(time.time() - step)})
    assert confirmed.status_code == 200, confirmed.json

    first = browser_login(browser, user)
    assert first.json["mfa_required"] is True and "Set-Cookie" not in first.headers
    second = browser.post("/api/auth/login/2fa", json={"mfa_token": first.json["mfa_token"],
                                                       "code": pyotp.TOTP(secret).now(), "mode": "browser"})

    assert second.status_code == 200, second.json
    assert "refresh_token" not in second.json
    cookie = set_cookie(second)
    assert (cookie["name"], cookie["path"], cookie["samesite"]) == (COOKIE, "/api/auth/token", "Strict")
    refreshed = cookie_refresh(browser, cookie["value"])
    assert refreshed.status_code == 200, refreshed.json
    assert refreshed.json["session_id"] == second.json["session_id"]
    last = attempts(app, user, "2fa")[-1]  # (confirming the setup was one too)
    assert (last.success, str(last.session_id)) == (True, second.json["session_id"])


# --- refreshing with the cookie ------------------------------------------------------------------

def test_a_refresh_with_the_cookie_and_the_csrf_header_rotates_the_cookie_and_answers_an_access_token(
        browser, new_user, settings):
    answer, cookie = signed_in(browser, new_user())

    response = cookie_refresh(browser, cookie)

    assert response.status_code == 200, response.json
    assert "refresh_token" not in response.json
    assert response.json["session_id"] == answer["session_id"]
    assert me(browser, response.json["access_token"]).status_code == 200
    rotated = set_cookie(response)
    assert rotated["value"] not in ("", cookie)
    assert (rotated["name"], rotated["path"], rotated["samesite"], rotated["max-age"]) == (
        COOKIE, "/api/auth/token", "Strict", str(settings.refresh_token_ttl_seconds))
    assert rotated["httponly"] == "" and rotated["secure"] == ""
    assert cookie_refresh(browser, rotated["value"]).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"X-BeYou-CSRF": "0"}, {"X-BeYou-CSRF": "true"}],
                         ids=["no header", "header 0", "header true"])
def test_a_refresh_with_the_cookie_but_without_the_csrf_header_is_refused_and_spends_nothing(
        browser, new_user, headers):
    answer, cookie = signed_in(browser, new_user())

    refused = cookie_refresh(browser, cookie, headers=headers)

    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert refused.json["type"] == "urn:beyou:problem:csrf"
    assert "Set-Cookie" not in refused.headers  # the browser keeps its cookie
    # Neither rotated nor revoked: the same cookie still works, once, with the header.
    assert me(browser, answer["access_token"]).status_code == 200
    assert cookie_refresh(browser, cookie).status_code == 200


def test_a_cross_site_request_with_the_cookie_is_refused_and_spends_nothing(browser, new_user):
    _, cookie = signed_in(browser, new_user())
    # What a page of another site can make a browser send without a CORS preflight (had SameSite not held the
    # cookie back): a form, or a fetch without custom headers and without a JSON content type.
    cross_site = {"Cookie": f"{COOKIE}={cookie}", "Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}

    form = browser.post("/api/auth/token/refresh", data={"refresh_token": ""}, headers=cross_site)
    bare = browser.post("/api/auth/token/refresh", content_type="text/plain", headers=cross_site)

    assert form.status_code == 415  # only JSON is read, and a form cannot send it
    assert bare.status_code == 403 and bare.json["type"] == "urn:beyou:problem:csrf"
    assert cookie_refresh(browser, cookie).status_code == 200


def test_a_refresh_without_a_token_or_a_cookie_is_unauthorized(browser):
    for headers in ({}, CSRF):
        response = browser.post("/api/auth/token/refresh", json={}, headers=headers)

        assert response.status_code == 401
        assert response.json["type"] == "urn:beyou:problem:invalid-refresh-token"


def test_an_unknown_cookie_is_refused_and_cleared(browser):
    response = cookie_refresh(browser, "not-a-refresh-token")

    assert response.status_code == 401
    assert response.json["type"] == "urn:beyou:problem:invalid-refresh-token"
    cleared = set_cookie(response)
    assert (cleared["name"], cleared["value"], cleared["max-age"], cleared["path"]) == (
        COOKIE, "", "0", "/api/auth/token")


def test_reusing_an_old_cookie_revokes_the_session_so_the_newest_cookie_fails_too(app, browser, new_user):
    user = new_user()
    answer, old = signed_in(browser, user)
    newest = set_cookie(cookie_refresh(browser, old))["value"]

    reused = cookie_refresh(browser, old, REMOTE_ADDR="198.51.100.7")

    assert reused.status_code == 401
    assert set_cookie(reused)["max-age"] == "0"
    assert cookie_refresh(browser, newest).status_code == 401
    assert me(browser, answer["access_token"]).status_code == 401
    [attempt] = attempts(app, user, "refresh")
    assert (attempt.success, attempt.failure_reason, attempt.ip, str(attempt.session_id)) == (
        False, "refresh_token_reused", "198.51.100.7", answer["session_id"])


def test_a_body_refresh_token_is_the_api_mode_even_beside_a_cookie(browser, new_user):
    user = new_user()
    _, cookie = signed_in(browser, user)

    response = browser.post("/api/auth/token/refresh", json={"refresh_token": user.refresh_token},
                            headers={"Cookie": f"{COOKIE}={cookie}"})

    assert response.status_code == 200, response.json
    assert response.json["refresh_token"] and "Set-Cookie" not in response.headers
    assert response.json["session_id"] == user.session_id
    assert cookie_refresh(browser, cookie).status_code == 200  # the cookie's session was not touched


# --- signing out ------------------------------------------------------------------------------------

def test_signing_out_clears_the_cookie_and_ends_its_session(browser, new_user):
    answer, cookie = signed_in(browser, new_user())

    response = browser.post("/api/auth/logout", headers={"Authorization": f"Bearer {answer['access_token']}"})

    assert response.status_code == 204
    cleared = set_cookie(response)
    assert (cleared["name"], cleared["value"], cleared["max-age"], cleared["path"], cleared["samesite"]) == (
        COOKIE, "", "0", "/api/auth/token", "Strict")
    assert cleared["httponly"] == "" and cleared["secure"] == ""
    assert cookie_refresh(browser, cookie).status_code == 401


# --- settings ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def renamed_cookie_app(app):
    """An auth process like the tests' own (same database and keys), with another cookie name and path."""
    return create_app({**dataclasses.asdict(context_of(app).settings), "REFRESH_COOKIE_NAME": "br",
                       "REFRESH_COOKIE_PATH": "/api/auth/token/refresh"})


def test_the_cookie_name_and_path_are_settings(renamed_cookie_app, new_user):
    user = new_user()
    browser = renamed_cookie_app.test_client(use_cookies=False)

    response = browser_login(browser, user)
    assert response.status_code == 200, response.json
    cookie = set_cookie(response)
    refreshed = browser.post("/api/auth/token/refresh", json={}, headers={**CSRF, "Cookie": f"br={cookie['value']}"})

    assert (cookie["name"], cookie["path"]) == ("br", "/api/auth/token/refresh")
    assert refreshed.status_code == 200, refreshed.json
    assert set_cookie(refreshed)["name"] == "br"


@pytest.mark.parametrize("setting", [{"REFRESH_COOKIE_NAME": "a;b"}, {"REFRESH_COOKIE_NAME": ""},
                                     {"REFRESH_COOKIE_PATH": "api/auth"}, {"REFRESH_COOKIE_PATH": "/a; Domain=x"}])
def test_a_cookie_name_or_path_that_would_break_the_set_cookie_header_is_refused_at_start(setting):
    with pytest.raises(ConfigError, match=next(iter(setting))):
        Config.load({"SECRET_KEY": "k", "DATA_KEYS": "k", "DATABASE_URL": "postgresql://", "AMQP_URL": "amqp://",
                     **setting}, environ={})
