import datetime as dt
import hashlib
import uuid

import pytest

from servicekit.context import context_of

from auth.challenges import issue_challenge

SECRET_FIELDS = {"password", "password_hash", "totp_secret", "challenge"}


def test_a_new_user_registers_and_reads_their_account(client, new_user):
    user = new_user()

    response = client.get("/api/auth/me", headers=user.headers)

    assert response.status_code == 200, response.json
    assert response.json["id"] == user.id
    assert response.json["username"] == user.username
    assert response.json["email"] == user.email
    assert response.json["phone"] == user.phone
    assert response.json["roles"] == ["user"]
    assert response.json["verified"] is False
    assert response.json["totp_enabled"] is False
    assert not SECRET_FIELDS & set(response.json)


def test_registration_answers_the_account_without_any_secret(client, registration):
    tag = uuid.uuid4().hex[:6]
    body = registration(username=f"Mixed.Case_{tag}", email=f"Someone.{tag}@Example.TEST")

    response = client.post("/api/auth/register", json=body)

    assert response.status_code == 201, response.json
    assert response.json["username"] == body["username"].lower()
    assert response.json["email"] == body["email"].lower()
    assert not SECRET_FIELDS & set(response.json)


def test_staff_tokens_carry_the_staff_role(client, new_staff):
    staff = new_staff()

    assert client.get("/api/auth/me", headers=staff.headers).json["roles"] == ["user", "staff"]


# --- duplicates ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def existing(new_user):
    return new_user()


def test_a_taken_username_is_refused_whatever_its_case(client, registration, existing):
    response = client.post("/api/auth/register", json=registration(username=existing.username.upper()))

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert set(response.json["errors"]) == {"username"}


def test_a_taken_email_is_refused_whatever_its_case(client, registration, existing):
    response = client.post("/api/auth/register", json=registration(email=existing.email.upper()))

    assert response.status_code == 409
    assert set(response.json["errors"]) == {"email"}


def test_a_taken_phone_number_is_refused(client, registration, existing):
    response = client.post("/api/auth/register", json=registration(phone=existing.phone))

    assert response.status_code == 409
    assert set(response.json["errors"]) == {"phone"}


# --- passwords -------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["short1!", "x" * 129], ids=["too short", "too long"])
def test_a_password_of_the_wrong_length_is_refused(client, registration, password):
    response = client.post("/api/auth/register", json=registration(password=password))

    assert response.status_code == 422
    assert "password" in response.json["errors"]


@pytest.mark.parametrize("password", ["password123", "qwerty123", "Iloveyou1", "1q2w3e4r5t"])
def test_a_common_password_is_refused(client, registration, password):
    response = client.post("/api/auth/register", json=registration(password=password))

    assert response.status_code == 422
    assert "too common" in response.json["errors"]["password"][0]


def test_a_password_equal_to_the_username_is_refused(client, registration):
    username = f"name{uuid.uuid4().hex[:10]}"

    response = client.post("/api/auth/register", json=registration(username=username, password=username.upper()))

    assert response.status_code == 422
    assert "password" in response.json["errors"]


def test_a_long_passphrase_without_composition_rules_is_accepted(client, registration):
    response = client.post("/api/auth/register", json=registration(password="correct horse battery staple " * 4))

    assert response.status_code == 201, response.json


# --- invalid fields --------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("username", "ab"), ("username", "has space"), ("username", "x" * 33), ("username", "dash-ed"),
    ("email", "not-an-email"), ("phone", "0123456789"), ("phone", "+1 415 555"), ("phone", "+0123456789"),
])
def test_an_invalid_field_is_refused_with_its_name(client, registration, field, value):
    response = client.post("/api/auth/register", json=registration(**{field: value}))

    assert response.status_code == 422
    assert field in response.json["errors"]


# --- the proof-of-work challenge -------------------------------------------------------------

def test_the_challenge_is_signed_and_expires(client, app):
    response = client.post("/api/auth/challenge")

    assert response.status_code == 201
    assert response.json["difficulty"] == 8
    assert uuid.UUID(response.json["id"])
    expires_at = dt.datetime.fromisoformat(response.json["expires_at"])
    ttl = context_of(app).settings.pow_challenge_ttl_seconds
    assert dt.timedelta(0) < expires_at - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=ttl)


def test_registration_without_a_challenge_is_refused(client, registration):
    body = registration()
    del body["challenge"]

    response = client.post("/api/auth/register", json=body)

    assert response.status_code == 422
    assert "challenge" in response.json["errors"]


def test_a_wrong_nonce_is_refused(client, registration):
    body = registration()
    body["challenge"]["nonce"] = next(n for n in map(str, range(10_000))
                                      if not _solves(body["challenge"]["token"], n, 8))

    response = client.post("/api/auth/register", json=body)

    assert response.status_code == 422
    assert "does not solve" in response.json["detail"]


def test_a_forged_challenge_is_refused(client, registration, solve_challenge):
    forged = issue_challenge("not the server's secret", difficulty=1, ttl_seconds=300)

    response = client.post("/api/auth/register", json=registration(challenge=solve_challenge(forged)))

    assert response.status_code == 422
    assert "not issued by this server" in response.json["detail"]


def test_an_expired_challenge_is_refused(client, app, registration, solve_challenge):
    expired = issue_challenge(context_of(app).settings.secret_key, difficulty=8, ttl_seconds=-1)

    response = client.post("/api/auth/register", json=registration(challenge=solve_challenge(expired)))

    assert response.status_code == 422
    assert "expired" in response.json["detail"]


def test_a_solved_challenge_works_only_once(client, registration):
    first = registration()
    assert client.post("/api/auth/register", json=first).status_code == 201

    response = client.post("/api/auth/register", json=registration(challenge=first["challenge"]))

    assert response.status_code == 422
    assert "already been used" in response.json["detail"]


@pytest.mark.parametrize("refusal", ["taken", "common password"])
def test_a_refused_registration_spends_its_challenge_so_one_solution_cannot_probe_accounts(client, registration,
                                                                                        existing, refusal):
    probe = registration(username=existing.username) if refusal == "taken" else registration(password="password123")
    assert client.post("/api/auth/register", json=probe).status_code in (409, 422)

    retry = client.post("/api/auth/register", json=registration(challenge=probe["challenge"]))

    assert retry.status_code == 422
    assert "already been used" in retry.json["detail"]


def _solves(token: str, nonce: str, bits: int) -> bool:
    return int.from_bytes(hashlib.sha256(f"{token}:{nonce}".encode()).digest(), "big") >> (256 - bits) == 0


# --- the event -------------------------------------------------------------------------------

def test_registration_is_announced_once_without_contact_details(client, app, handlers, registration, event_probe,
                                                                 running_worker):
    running_worker(app, handlers)
    response = client.post("/api/auth/register", json=registration())
    user_id = response.json["id"]

    event = event_probe.wait_for("auth.user.registered", where=lambda e: e.payload["user_id"] == user_id)

    assert event.payload == {"user_id": user_id, "username": response.json["username"],
                             "created_at": event.payload["created_at"]}
    assert len(event_probe.received("auth.user.registered", where=lambda e: e.payload["user_id"] == user_id)) == 1


# --- signing in by username or email ---------------------------------------------------------

def test_a_user_signs_in_with_their_email_or_any_case_of_their_username(client, existing):
    for login in (existing.email.upper(), existing.username.upper()):
        response = client.post("/api/auth/login", json={"username": login, "password": existing.password})
        assert response.status_code == 200, (login, response.json)


# --- password change -------------------------------------------------------------------------

def test_changing_the_password_needs_the_current_one(client, new_user):
    user = new_user()

    response = client.post("/api/auth/me/password", headers=user.headers,
                           json={"current_password": "not it at all", "new_password": "a brand new passphrase"})

    assert response.status_code == 422
    assert "current_password" in response.json["errors"]


def test_the_new_password_must_be_acceptable(client, new_user):
    user = new_user()

    response = client.post("/api/auth/me/password", headers=user.headers,
                           json={"current_password": user.password, "new_password": "password1"})

    assert response.status_code == 422
    assert "password" in response.json["errors"]


def test_a_password_change_signs_out_the_other_sessions_only(client, new_user, sign_in):
    user = new_user()
    other = sign_in(user)
    new_password = "a brand new passphrase"

    response = client.post("/api/auth/me/password", headers=user.headers,
                           json={"current_password": user.password, "new_password": new_password})

    assert response.status_code == 204
    assert client.get("/api/auth/me", headers=user.headers).status_code == 200
    assert client.get("/api/auth/me", headers=other.headers).status_code == 401
    assert client.post("/api/auth/login", json={"username": user.username, "password": user.password}).status_code == 401
    assert client.post("/api/auth/login", json={"username": user.username, "password": new_password}).status_code == 200


def test_guessing_the_current_password_locks_the_account_like_failed_logins(client, app, new_user):
    user = new_user()
    guess = {"current_password": "a wrong guess", "new_password": "a brand new passphrase"}
    for _ in range(context_of(app).settings.login_lockout_after):
        assert client.post("/api/auth/me/password", headers=user.headers, json=guess).status_code == 422

    response = client.post("/api/auth/me/password", headers=user.headers,
                           json={**guess, "current_password": user.password})

    assert response.status_code == 429
    assert client.post("/api/auth/login", json={"username": user.username, "password": user.password}).status_code == 401


@pytest.mark.parametrize("field", ["username", "email", "phone"])
def test_a_duplicate_that_slips_past_the_check_in_a_race_is_still_a_409_naming_the_field(
        client, registration, existing, monkeypatch, field):
    monkeypatch.setattr("auth.accounts._refuse_taken", lambda *_args, **_kwargs: None)  # the other insert won

    response = client.post("/api/auth/register", json=registration(**{field: getattr(existing, field)}))

    assert response.status_code == 409
    assert set(response.json["errors"]) == {field}
