"""Access tokens as a service sees them: real EdDSA tokens from `token_issuer`,
verified against its JWKS served over HTTP, through the demo app's
/api/test/me (signed in) and /api/test/admin/ping (staff only); revoked sessions
from the service's own table, answered from memory kept current by LISTEN/NOTIFY."""
import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from servicekit.context import context_of
from servicekit.tables import revoked_sessions
from servicekit.testing import wait_until
from servicekit.tokens import LISTENER, deny_session

PROBLEM_JSON = "application/problem+json"
ME = "/api/test/me"
ADMIN = "/api/test/admin/ping"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def claims_of(token: str) -> dict:
    """The claims of a genuine token, to re-wrap them in a forged one."""
    return jwt.decode(token, options={"verify_signature": False})


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_refused(response, status: int = 401) -> dict:
    """Refused as problem+json; a 401 tells the client how to authenticate."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    assert response.json["status"] == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return response.json


def in_the_future(seconds: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


# --- accepted -----------------------------------------------------------------------

def test_a_valid_token_signs_the_caller_in_with_its_claims(client, token_issuer):
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    token = token_issuer.issue(user_id, session_id=session_id, roles=("user",), verified=True)

    response = client.get(ME, headers=bearer(token))

    assert response.status_code == 200, response.json
    assert response.json == {"user_id": str(user_id), "session_id": str(session_id),
                             "roles": ["user"], "verified": True}


# --- refused ------------------------------------------------------------------------

def test_a_request_without_a_token_is_refused(client):
    body = assert_refused(client.get(ME))

    assert body["type"] == "urn:beyou:problem:unauthorized"


def test_a_non_bearer_authorization_is_refused(client):
    assert_refused(client.get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"}))


def test_a_malformed_token_is_refused(client):
    body = assert_refused(client.get(ME, headers=bearer("not.a.jwt")))

    assert body["type"] == "urn:beyou:problem:invalid-token"


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(client, token_issuer):
    forged = token_issuer.issue(key=Ed25519PrivateKey.generate(), kid=token_issuer.kid)

    assert_refused(client.get(ME, headers=bearer(forged)))


def test_an_unsigned_token_with_alg_none_is_refused(client, token_issuer):
    payload = token_issuer.issue().split(".")[1]
    unsigned = f"{b64url({'alg': 'none', 'typ': 'JWT', 'kid': token_issuer.kid})}.{payload}."

    assert_refused(client.get(ME, headers=bearer(unsigned)))


def test_a_token_signed_with_hs256_using_the_public_key_as_secret_is_refused(client, token_issuer):
    public_key = token_issuer.keys[token_issuer.kid].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    forged = jwt.encode(claims_of(token_issuer.issue(roles=("user", "staff"))), public_key,
                        algorithm="HS256", headers={"kid": token_issuer.kid})

    assert_refused(client.get(ME, headers=bearer(forged)))


def test_a_token_for_another_audience_is_refused(client, token_issuer):
    assert_refused(client.get(ME, headers=bearer(token_issuer.issue(aud="another-platform"))))


def test_a_token_from_another_issuer_is_refused(client, token_issuer):
    assert_refused(client.get(ME, headers=bearer(token_issuer.issue(iss="someone-else"))))


def test_an_expired_token_is_refused(client, token_issuer):
    body = assert_refused(client.get(ME, headers=bearer(token_issuer.issue(expires_in=-60))))

    assert body["detail"] == "token expired"


def test_a_token_just_expired_within_the_leeway_is_still_accepted(client, token_issuer):
    response = client.get(ME, headers=bearer(token_issuer.issue(expires_in=-2)))

    assert response.status_code == 200, response.json


def test_a_token_accepted_before_is_refused_once_it_expires(app_with, token_issuer):
    client = app_with(TOKEN_LEEWAY_SECONDS=0).test_client()
    token = token_issuer.issue(expires_in=2)
    assert client.get(ME, headers=bearer(token)).status_code == 200

    response = wait_until(lambda: (r := client.get(ME, headers=bearer(token))).status_code != 200 and r,
                          timeout=6, interval=0.1, message="the token to expire")

    assert assert_refused(response)["detail"] == "token expired"


def test_a_token_not_valid_yet_is_refused(client, token_issuer):
    assert_refused(client.get(ME, headers=bearer(token_issuer.issue(nbf=in_the_future(60)))))


def test_a_token_without_a_session_id_is_refused(client, token_issuer):
    claims = claims_of(token_issuer.issue())
    del claims["sid"]
    token = jwt.encode(claims, token_issuer.keys[token_issuer.kid], algorithm="EdDSA",
                       headers={"kid": token_issuer.kid})

    assert_refused(client.get(ME, headers=bearer(token)))


def test_a_token_whose_kid_the_jwks_does_not_have_is_refused_after_a_refetch(client, token_issuer):
    token = token_issuer.issue(key=Ed25519PrivateKey.generate(), kid="no-such-kid")
    before = token_issuer.jwks_requests

    body = assert_refused(client.get(ME, headers=bearer(token)))

    assert token_issuer.jwks_requests > before
    assert body["detail"] == "token signed by an unknown key"


# --- keys: rotation, bounded refetch, outage ----------------------------------------

def test_a_token_signed_with_a_rotated_key_is_accepted(client, token_issuer):
    assert client.get(ME, headers=bearer(token_issuer.issue())).status_code == 200  # keys now cached
    token_issuer.rotate()
    before = token_issuer.jwks_requests

    response = client.get(ME, headers=bearer(token_issuer.issue()))

    assert response.status_code == 200, response.json
    assert token_issuer.jwks_requests == before + 1


def test_a_burst_of_unknown_kids_causes_at_most_one_jwks_request(app_with, token_issuer):
    app = app_with(JWKS_REFETCH_SECONDS=60)
    forger = Ed25519PrivateKey.generate()
    tokens = [token_issuer.issue(key=forger, kid=uuid.uuid4().hex) for _ in range(20)]
    before = token_issuer.jwks_requests

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(lambda t: app.test_client().get(ME, headers=bearer(t)).status_code, tokens))

    assert statuses == [401] * 20
    assert token_issuer.jwks_requests - before <= 1
    assert app.test_client().get(ME, headers=bearer(token_issuer.issue())).status_code == 200


def test_without_a_reachable_jwks_and_no_cached_key_the_service_is_unavailable(app_with, token_issuer):
    client = app_with(JWKS_URL="http://127.0.0.1:1/api/auth/.well-known/jwks.json").test_client()

    response = client.get(ME, headers=bearer(token_issuer.issue()))

    body = assert_refused(response, status=503)
    assert body["type"] == "urn:beyou:problem:unavailable"
    assert "WWW-Authenticate" not in response.headers  # the token is not at fault


# --- roles and revoked sessions -----------------------------------------------------

def test_a_signed_in_user_without_the_staff_role_is_forbidden_from_admin(client, token_issuer):
    body = assert_refused(client.get(ADMIN, headers=bearer(token_issuer.issue(roles=("user",)))), status=403)

    assert body["type"] == "urn:beyou:problem:forbidden"


def test_staff_may_use_admin(client, token_issuer):
    response = client.get(ADMIN, headers=bearer(token_issuer.issue(roles=("user", "staff"))))

    assert response.status_code == 200
    assert response.json == {"pong": True}


def test_admin_without_a_token_is_unauthorized_not_forbidden(client):
    assert_refused(client.get(ADMIN))


def test_a_revoked_session_is_refused_while_the_users_other_sessions_still_work(app, client, token_issuer):
    user_id, revoked, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with context_of(app).db.transaction() as session:
        session.execute(revoked_sessions.insert().values(
            session_id=revoked, user_id=user_id, revoked_at=dt.datetime.now(dt.UTC)))

    body = assert_refused(client.get(ME, headers=bearer(token_issuer.issue(user_id, session_id=revoked))))
    response = client.get(ME, headers=bearer(token_issuer.issue(user_id, session_id=other)))

    assert body["detail"] == "session revoked"
    assert response.status_code == 200
    assert response.json["session_id"] == str(other)


def test_while_the_jwks_stays_unreachable_every_request_is_unavailable_not_unauthorized(app_with, token_issuer):
    client = app_with(JWKS_URL="http://127.0.0.1:1/jwks.json", JWKS_REFETCH_SECONDS=60).test_client()
    token = token_issuer.issue()

    statuses = [client.get(ME, headers=bearer(token)).status_code for _ in range(3)]

    assert statuses == [503, 503, 503]


def test_the_newest_key_of_an_oversized_jwks_is_kept(app_with):
    from servicekit.testing import TokenIssuer

    issuer = TokenIssuer()
    try:
        for _ in range(20):  # 21 keys, more than the 16 a service keeps
            issuer.rotate()
        client = app_with(JWKS_URL=issuer.jwks_url).test_client()

        assert client.get(ME, headers=bearer(issuer.issue())).status_code == 200
    finally:
        issuer.close()


def test_a_malformed_key_in_the_jwks_is_skipped_and_the_good_ones_still_work(app_with, token_issuer, monkeypatch):
    good = token_issuer.jwks()
    broken = {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "broken", "x": "%%%"}, *good["keys"]]}
    monkeypatch.setattr(token_issuer, "jwks", lambda: broken)
    client = app_with().test_client()

    assert client.get(ME, headers=bearer(token_issuer.issue())).status_code == 200


# --- lifetime and key ids -----------------------------------------------------------

def signed_with_header(token_issuer, header: dict) -> str:
    """A token genuinely signed by the issuer's current key, whatever its header says."""
    signing_input = f"{b64url({'alg': 'EdDSA', 'typ': 'JWT', **header})}.{b64url(claims_of(token_issuer.issue()))}"
    signature = token_issuer.keys[token_issuer.kid].sign(signing_input.encode())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_a_token_living_longer_than_the_maximum_lifetime_is_refused(client, token_issuer):
    body = assert_refused(client.get(ME, headers=bearer(token_issuer.issue(expires_in=901))))

    assert body["detail"] == "token lifetime exceeds 900 seconds"


def test_the_maximum_token_lifetime_is_a_setting(app_with, token_issuer):
    client = app_with(TOKEN_MAX_LIFETIME_SECONDS=60).test_client()

    assert client.get(ME, headers=bearer(token_issuer.issue(expires_in=60))).status_code == 200
    assert_refused(client.get(ME, headers=bearer(token_issuer.issue(expires_in=61))))


def test_a_token_without_an_issued_at_time_is_refused(client, token_issuer):
    claims = claims_of(token_issuer.issue())
    del claims["iat"]
    token = jwt.encode(claims, token_issuer.keys[token_issuer.kid], algorithm="EdDSA",
                       headers={"kid": token_issuer.kid})

    assert_refused(client.get(ME, headers=bearer(token)))


@pytest.mark.parametrize("kid", ["\x00", "kid\x00", "../../jwks.json", "a kid", "é", "x" * 129, "", 42, None],
                         ids=["nul", "trailing-nul", "path", "space", "non-ascii", "too-long", "empty", "number",
                              "null"])
def test_a_token_whose_key_id_is_junk_is_refused_before_any_key_is_looked_up(client, token_issuer, kid):
    before = token_issuer.jwks_requests

    assert_refused(client.get(ME, headers=bearer(signed_with_header(token_issuer, {"kid": kid}))))

    assert token_issuer.jwks_requests == before  # an unknown but sane kid would have been refetched


# --- revocations, answered from memory --------------------------------------------------

def denylist_of(app):
    return context_of(app).verifier.is_revoked


def revoke(app, session_id: uuid.UUID) -> None:
    """Revoke as the worker's consumer does: its own transaction, on another connection than the app's checks."""
    with context_of(app).db.transaction() as session:
        deny_session(session, session_id=session_id, user_id=uuid.uuid4(), revoked_at=dt.datetime.now(dt.UTC))


def listener_pids(app) -> set[int]:
    with context_of(app).db.session() as session:
        return set(session.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE application_name = :name AND datname = current_database()"),
            {"name": LISTENER}).scalars())


def listening(app, client, token_issuer) -> set[int]:
    """Start the app's revocation listener (the first check does) and wait until it answers from memory."""
    client.get(ME, headers=bearer(token_issuer.issue()))
    wait_until(lambda: denylist_of(app).listening, timeout=10, message="the revocation listener to load")
    return listener_pids(app)


@contextmanager
def statements_run(app) -> Iterator[list[str]]:
    """The SQL statements the app runs meanwhile."""
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)
    engine = context_of(app).db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_while_the_denylist_listens_a_token_check_asks_the_database_nothing(app, client, token_issuer):
    listening(app, client, token_issuer)

    with statements_run(app) as statements:
        response = client.get(ME, headers=bearer(token_issuer.issue()))

    assert response.status_code == 200, response.json
    assert statements == []


def refused_within(seconds: float, client, token: str) -> dict:
    """The refusal of `token`, waited for no longer than `seconds` (PostgreSQL delivers a NOTIFY
    asynchronously, within milliseconds of the commit)."""
    response = wait_until(lambda: (r := client.get(ME, headers=bearer(token))).status_code == 401 and r,
                          timeout=seconds, interval=0.001, message="the session to be refused")
    return assert_refused(response)


def test_a_session_revoked_by_another_connection_is_refused_as_soon_as_the_revocation_commits(
        app, client, token_issuer):
    session_id = uuid.uuid4()
    token = token_issuer.issue(session_id=session_id)
    listening(app, client, token_issuer)
    assert client.get(ME, headers=bearer(token)).status_code == 200

    revoke(app, session_id)
    with statements_run(app) as statements:
        body = refused_within(0.5, client, token)

    assert body["detail"] == "session revoked"
    assert statements == []  # known from the NOTIFY, not by asking the database


def test_a_session_this_process_revokes_is_refused_by_its_next_request_without_waiting_for_the_notify(
        app, client, token_issuer):
    session_id = uuid.uuid4()
    token = token_issuer.issue(session_id=session_id)
    listening(app, client, token_issuer)
    with denylist_of(app)._lock:  # the listener hears nothing more: only the committing process knows
        denylist_of(app)._listening.cursor().execute("UNLISTEN *")

    revoke(app, session_id)

    assert_refused(client.get(ME, headers=bearer(token)))
    assert denylist_of(app).listening


def test_a_revocation_rolled_back_refuses_nothing(app, client, token_issuer):
    session_id = uuid.uuid4()
    token = token_issuer.issue(session_id=session_id)
    listening(app, client, token_issuer)

    with context_of(app).db.session() as session:
        deny_session(session, session_id=session_id, user_id=None, revoked_at=dt.datetime.now(dt.UTC))
        session.rollback()
        session.commit()  # a later commit of the same session must not count the abandoned revocation

    assert client.get(ME, headers=bearer(token)).status_code == 200


def test_a_revocation_the_listener_missed_is_refused_once_it_has_reconnected(app, client, token_issuer, session):
    missed, later = uuid.uuid4(), uuid.uuid4()
    old_pids = listening(app, client, token_issuer)
    with context_of(app).db.transaction() as silent:  # committed without its NOTIFY, as if the listener were away
        silent.execute(sa.text("ALTER TABLE revoked_sessions DISABLE TRIGGER revoked_sessions_notify"))
        # Inserted as another process would (deny_session would tell this process's denylist directly).
        silent.execute(revoked_sessions.insert().values(session_id=missed, revoked_at=dt.datetime.now(dt.UTC)))
        silent.execute(sa.text("ALTER TABLE revoked_sessions ENABLE TRIGGER revoked_sessions_notify"))
    assert client.get(ME, headers=bearer(token_issuer.issue(session_id=missed))).status_code == 200

    for pid in old_pids:
        session.execute(sa.select(sa.func.pg_terminate_backend(pid)))
    wait_until(lambda: listener_pids(app) - old_pids, timeout=10, message="the listener to reconnect")
    wait_until(lambda: denylist_of(app).listening, timeout=10, message="the listener to reload")
    revoke(app, later)
    with statements_run(app) as statements:
        missed_body = assert_refused(client.get(ME, headers=bearer(token_issuer.issue(session_id=missed))))
        later_body = refused_within(0.5, client, token_issuer.issue(session_id=later))

    assert missed_body["detail"] == later_body["detail"] == "session revoked"
    assert statements == []


def test_while_the_listener_cannot_connect_a_revoked_session_is_still_refused(
        app, client, token_issuer, session, databases):
    session_id = uuid.uuid4()
    old_pids = listening(app, client, token_issuer)
    name = context_of(app).db.engine.url.database
    with databases.engine.connect() as admin:  # the service's open connections work; no new one is let in
        admin.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        try:
            for pid in old_pids:
                session.execute(sa.select(sa.func.pg_terminate_backend(pid)))
            session.commit()  # hands its connection back to the pool: no new one could be opened
            wait_until(lambda: not denylist_of(app).listening, timeout=10, message="the listener to be lost")
            revoke(app, session_id)

            body = assert_refused(client.get(ME, headers=bearer(token_issuer.issue(session_id=session_id))))
            other = client.get(ME, headers=bearer(token_issuer.issue()))

            assert not denylist_of(app).listening
        finally:
            admin.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    assert body["detail"] == "session revoked"
    assert other.status_code == 200
