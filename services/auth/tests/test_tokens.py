import dataclasses
import datetime as dt
import threading
import uuid

import jwt
import pytest
import sqlalchemy as sa

from servicekit.context import context_of

from auth import create_app
from auth.models import Device, LoginAttempt, SigningKey
from auth.signing_keys import current_signing_key, rotate_signing_key


def refresh(client, refresh_token, **environ):
    return client.post("/api/auth/token/refresh", json={"refresh_token": refresh_token}, environ_base=environ)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def kid_of(token):
    return jwt.get_unverified_header(token)["kid"]


# --- refresh ---------------------------------------------------------------------------------

def test_a_refresh_answers_a_new_pair_of_the_same_session(client, new_user):
    user = new_user()

    response = refresh(client, user.refresh_token, REMOTE_ADDR="192.0.2.44", HTTP_USER_AGENT="BeYou-iOS/3.0")

    assert response.status_code == 200, response.json
    assert response.json["session_id"] == user.session_id
    assert response.json["refresh_token"] != user.refresh_token
    assert client.get("/api/auth/me", headers=bearer(response.json["access_token"])).status_code == 200
    session = next(s for s in client.get("/api/auth/sessions", headers=user.headers).json["items"]
                   if s["id"] == user.session_id)
    assert (session["ip"], session["user_agent"]) == ("192.0.2.44", "BeYou-iOS/3.0")
    assert session["last_used_at"] > session["created_at"]


def test_reusing_a_spent_refresh_token_revokes_the_whole_session(client, app, new_user, running_worker, handlers,
                                                                event_probe):
    running_worker(app, handlers)
    user = new_user()
    rotated = refresh(client, user.refresh_token).json

    reused = refresh(client, user.refresh_token, REMOTE_ADDR="198.51.100.66")

    assert reused.status_code == 401
    assert refresh(client, rotated["refresh_token"]).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(rotated["access_token"])).status_code == 401
    assert client.get("/api/auth/me", headers=user.headers).status_code == 401
    event = event_probe.wait_for("auth.session.revoked", where=lambda e: e.payload["session_id"] == user.session_id)
    assert event.payload["reason"] == "refresh_token_reused"
    with context_of(app).db.session() as session:
        attempt = session.execute(sa.select(LoginAttempt).where(LoginAttempt.kind == "refresh",
                                                                LoginAttempt.user_id == uuid.UUID(user.id))).scalar_one()
    assert (attempt.success, attempt.failure_reason, attempt.ip, str(attempt.session_id)) == (
        False, "refresh_token_reused", "198.51.100.66", user.session_id)


def test_an_unknown_refresh_token_is_refused(client):
    response = refresh(client, "not-a-refresh-token")

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_a_refresh_token_of_an_expired_session_is_refused(client, app, new_user):
    user = new_user()
    with context_of(app).db.transaction() as session:
        session.execute(sa.update(Device).where(Device.id == uuid.UUID(user.session_id))
                        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))

    assert refresh(client, user.refresh_token).status_code == 401


def test_an_access_token_never_outlives_its_session(client, database, new_user):
    user = new_user()
    ends = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=60)
    with database.transaction() as session:
        session.execute(sa.update(Device).where(Device.id == uuid.UUID(user.session_id)).values(expires_at=ends))

    refreshed = refresh(client, user.refresh_token)

    assert refreshed.status_code == 200
    claims = jwt.decode(refreshed.json["access_token"], options={"verify_signature": False})
    assert claims["exp"] <= ends.timestamp()


# --- signing keys and the JWKS ---------------------------------------------------------------

def jwks(client):
    response = client.get("/api/auth/.well-known/jwks.json")
    assert response.status_code == 200
    return {key["kid"]: key for key in response.json["keys"]}


def test_the_jwks_publishes_the_key_that_signs_tokens(client, new_user):
    user = new_user()

    keys = jwks(client)

    key = keys[kid_of(user.access_token)]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in key  # never the private part


def test_after_a_rotation_new_tokens_use_the_new_key_and_old_tokens_still_work(client, database, cipher, new_user,
                                                                              sign_in):
    user = new_user()
    old_kid = kid_of(user.access_token)
    with database.transaction() as session:
        new_kid = rotate_signing_key(session, cipher)

    fresh = sign_in(user)

    assert kid_of(fresh.access_token) == new_kid != old_kid
    assert {old_kid, new_kid} <= set(jwks(client))
    assert client.get("/api/auth/me", headers=user.headers).status_code == 200


def test_a_key_retired_longer_ago_than_a_token_lives_leaves_the_jwks_and_verifies_nothing(client, settings, database,
                                                                                            cipher, new_user):
    user = new_user()
    old_kid = kid_of(user.access_token)
    with database.transaction() as session:
        rotate_signing_key(session, cipher)
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(
            seconds=settings.access_token_ttl_seconds + settings.token_leeway_seconds + 1)
        session.execute(sa.update(SigningKey).where(SigningKey.kid == old_kid).values(retired_at=long_ago))
    replica = create_app(dataclasses.asdict(settings))  # an auth process that has not seen the old key yet

    assert old_kid not in jwks(client)
    response = replica.test_client().get("/api/auth/me", headers=user.headers)
    assert response.status_code == 401, response.json


def test_a_key_older_than_the_rotation_period_is_replaced_on_next_use(client, settings, database, new_user, sign_in):
    user = new_user()
    old_kid = kid_of(user.access_token)
    days = settings.signing_key_rotation_days
    with database.transaction() as session:
        session.execute(sa.update(SigningKey).where(SigningKey.kid == old_kid)
                        .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days, seconds=1)))

    new_kid = kid_of(sign_in(user).access_token)

    assert new_kid != old_kid
    assert {old_kid, new_kid} <= set(jwks(client))


@pytest.fixture(scope="module")
def keyless_app(migrated_app, app):
    """A second auth app on a database without any signing key yet."""
    settings = context_of(app).settings
    return migrated_app(create_app, SECRET_KEY=settings.secret_key, DATA_KEYS=",".join(settings.data_keys))


def test_replicas_asking_for_the_first_key_at_once_create_only_one(keyless_app, cipher):
    barrier = threading.Barrier(4)
    kids = []

    def ask():
        with context_of(keyless_app).db.transaction() as session:
            barrier.wait()
            kids.append(current_signing_key(session, cipher, rotation_days=30)[0])

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(kids) == 4 and len(set(kids)) == 1
    with context_of(keyless_app).db.session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(SigningKey)).scalar_one() == 1


def test_a_token_signed_by_an_unknown_key_is_refused(client, token_issuer, new_user):
    user = new_user()
    forged = token_issuer.issue(uuid.UUID(user.id), session_id=uuid.UUID(user.session_id))

    response = client.get("/api/auth/me", headers=bearer(forged))

    assert response.status_code == 401
