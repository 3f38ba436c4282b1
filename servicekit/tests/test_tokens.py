"""Access tokens as a service sees them: real EdDSA tokens from `token_issuer`,
verified against its JWKS served over HTTP, through the demo app's
/api/test/me (signed in) and /api/test/admin/ping (staff only)."""
import base64
import datetime as dt
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from servicekit.context import context_of
from servicekit.tables import revoked_sessions

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
