"""Access tokens under attack, through the gateway: every service refuses a forged, stale or
revoked token with the same 401 problem, and never serves it.

Each service is asked on one endpoint a signed-in user may call (`PROTECTED`). Forgeries start
from a real token: its payload altered under the original signature, signed by another key,
`alg: none`, or HS256 keyed with auth's public key (the algorithm-confusion attack). A forger
cannot sign, so tokens whose only fault is a claim (expired, not yet valid, for another audience
or issuer, living too long, missing a claim) are signed with auth's own current key, taken the
operator's way (auth's code and environment, as `flask --app auth create-staff` runs): with the
same key and every claim right the token is accepted, so each refusal is the claim's doing.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from servicekit.testing import wait_until
from servicekit.testing.gateway import stack_env

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")
# One endpoint per service that any signed-in user may call (the ledger's only one is whoami:
# the rest of its API is public or staff's).
PROTECTED = {
    "auth": "/api/auth/me",
    "social": "/api/social/notifications/unread-count",
    "messaging": "/api/messaging/conversations",
    "ledger": "/api/ledger/whoami",
    "marketplace": "/api/marketplace/cart",
}
BUS_TIMEOUT = 30  # seconds a revocation may take to reach every service (auth's events)
REFUSED = "401 invalid-token problem"


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def verdict(response) -> str:
    """REFUSED when the response is what a bad token must get, else a description of what came instead."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if (response.status_code == 401
            and response.headers.get("Content-Type", "").startswith("application/problem+json")
            and response.headers.get("WWW-Authenticate", "").startswith("Bearer")
            and body.get("status") == 401 and body.get("type") == "urn:beyou:problem:invalid-token"
            and body.get("title") and body.get("detail")):
        return REFUSED
    return f"{response.status_code} {response.headers.get('Content-Type')} {response.text[:200]}"


# --- taking tokens apart and putting them together --------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def parts(token: str) -> tuple[dict, dict, str]:
    """(header, claims, signature segment) of a compact JWS."""
    header, claims, signature = token.split(".")
    return (json.loads(base64.urlsafe_b64decode(header + "==")), json.loads(base64.urlsafe_b64decode(claims + "==")),
            signature)


def with_claims(token: str, **changes: Any) -> str:
    """The token with its payload changed and its original signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{b64url_json({**parts(token)[1], **changes})}.{signature}"


def signed_hs256(header: dict, claims: dict, secret: bytes) -> str:
    """HMAC-SHA256 by hand: PyJWT rightly refuses to use a public key as an HMAC secret."""
    signing_input = f"{b64url_json({**header, 'alg': 'HS256'})}.{b64url_json(claims)}"
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def forgeries(token: str, auth_key: dict) -> dict[str, str]:
    """Tokens an attacker holding `token` (and auth's public JWK) can make, by how they were made."""
    header, claims, signature = parts(token)
    kid = header["kid"]
    stranger = Ed25519PrivateKey.generate()
    stranger_jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(stranger.public_key()))
    public_key_bytes = base64.urlsafe_b64decode(auth_key["x"] + "==")
    public_key_pem = jwt.PyJWK(auth_key, algorithm="EdDSA").key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    unsigned = f"{b64url_json(header)}.{b64url_json(claims)}"
    return {
        "payload altered to claim staff": with_claims(token, roles=["user", "staff"]),
        "payload altered to name another user": with_claims(token, sub=str(uuid.uuid4())),
        "payload altered to live an hour longer": with_claims(token, exp=claims["exp"] + 3600),
        "signature removed": f"{unsigned}.",
        "signature of another key under auth's key id": jwt.encode(claims, stranger, algorithm="EdDSA",
                                                                   headers={"kid": kid}),
        "signature of another key under its own key id": jwt.encode(claims, stranger, algorithm="EdDSA",
                                                                    headers={"kid": "stranger-key-1"}),
        "signature of another key embedded in the header": jwt.encode(
            claims, stranger, algorithm="EdDSA", headers={"kid": kid, "jwk": stranger_jwk}),
        "signature of another key published at a URL in the header": jwt.encode(
            claims, stranger, algorithm="EdDSA", headers={"kid": kid, "jku": "http://127.0.0.1:9/jwks.json"}),
        "key id of a file path": jwt.encode(claims, stranger, algorithm="EdDSA",
                                            headers={"kid": "../../../../../../dev/null"}),
        "alg none without a signature": f"{b64url_json({**header, 'alg': 'none'})}.{b64url_json(claims)}.",
        "alg None with the signature kept": f"{b64url_json({**header, 'alg': 'None'})}.{b64url_json(claims)}.{signature}",
        "HS256 keyed with the bytes of auth's public key": signed_hs256(header, claims, public_key_bytes),
        "HS256 keyed with the PEM of auth's public key": signed_hs256(header, claims, public_key_pem),
        "three segments of junk": "bm90.YQ.dG9rZW4",
    }


# --- tokens signed with auth's own key -------------------------------------------------------

SIGN_WITH_AUTHS_KEY = """
import json, sys
import jwt
from auth import create_app
from auth.signing_keys import current_signing_key
from servicekit.context import context_of

context = context_of(create_app())
with context.db.session() as session:
    kid, key = current_signing_key(session, context.resources["cipher"],
                                   rotation_days=context.settings.signing_key_rotation_days)
    session.commit()
print(json.dumps([jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid}) for claims in json.load(sys.stdin)]))
"""


def sign_with_auths_key(claim_sets: list[dict]) -> list[str]:
    """Each claim set signed by auth's current signing key, in auth's environment on the native stack (the
    key stays in that process; only the tokens come back)."""
    signed = subprocess.run([sys.executable, "-c", SIGN_WITH_AUTHS_KEY], input=json.dumps(claim_sets), text=True,
                            env=stack_env(ROOT, "auth"), cwd=ROOT, capture_output=True, timeout=60)
    assert signed.returncode == 0, signed.stderr
    return json.loads(signed.stdout.splitlines()[-1])


def claims_with_one_fault(user_id: str, session_id: str) -> dict[str, dict]:
    """Claim sets for the holder's session, each with one thing wrong (and one with nothing wrong)."""
    now = int(time.time())
    right = {"sub": user_id, "sid": session_id, "roles": ["user"], "verified": False, "aud": "beyou",
             "iss": "beyou-auth", "iat": now, "nbf": now, "exp": now + 600, "jti": uuid.uuid4().hex}

    def but(**changes: Any) -> dict:
        return {**right, "jti": uuid.uuid4().hex, **changes}

    def without(claim: str) -> dict:
        return {name: value for name, value in but().items() if name != claim}

    return {
        "every claim right": but(),
        "expired a minute ago": but(iat=now - 660, nbf=now - 660, exp=now - 60),
        "not valid for five minutes (nbf)": but(nbf=now + 300),
        "issued five minutes from now (iat)": but(iat=now + 300, exp=now + 600),
        "for another audience": but(aud="another-platform"),
        "for several audiences, none ours": but(aud=["another-platform", "beyou-admin"]),
        "from another issuer": but(iss="https://issuer.example"),
        "living an hour, longer than tokens may": but(exp=now + 3600),
        "never expiring": without("exp"),
        "without an issue time": without("iat"),
        "without a session": without("sid"),
        "without a token id": without("jti"),
        "of a subject that is no user id": but(sub="admin"),
    }


# --- accounts shared by the module (a registration costs a proof of work) -----------------------

@dataclass(frozen=True)
class Holder:
    """A signed-in account's identity and access token (the device it came from is not kept)."""

    user_id: str
    session_id: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


def holder_of(account, tokens: dict) -> Holder:
    return Holder(account.id, tokens["session_id"], tokens["access_token"])


@pytest.fixture(scope="module")
def made_once() -> dict[str, Any]:
    """What the module's tests share, made by the first test that needs it."""
    return {}


def once(made_once: dict[str, Any], name: str, make: Callable[[], Any]) -> Any:
    if name not in made_once:
        made_once[name] = make()
    return made_once[name]


@pytest.fixture
def holder(made_once, new_account) -> Holder:
    """A signed-in user whose real token the forgeries start from."""
    def make() -> Holder:
        account = new_account()
        return holder_of(account, account.sign_in())
    return once(made_once, "holder", make)


@pytest.fixture
def auth_key(gateway, holder) -> dict:
    """The public JWK (from auth's JWKS) that verifies the holder's token."""
    kid = parts(holder.access_token)[0]["kid"]
    [key] = [key for key in gateway.get("/api/auth/.well-known/jwks.json").json()["keys"] if key["kid"] == kid]
    return key


@pytest.fixture
def signed_by_auth(made_once, holder, pytestconfig) -> dict[str, str]:
    """claims_with_one_fault() for the holder's session, signed by auth's key."""
    if pytestconfig.getoption("gateway_url", None):
        pytest.skip("auth's signing key is taken from the native stack; --gateway-url names another")

    def make() -> dict[str, str]:
        claim_sets = claims_with_one_fault(holder.user_id, holder.session_id)
        return dict(zip(claim_sets, sign_with_auths_key(list(claim_sets.values()))))
    return once(made_once, "signed_by_auth", make)


@pytest.fixture
def revoked_from_another_device(made_once, new_account) -> tuple[Holder, Holder]:
    """(revoked, other): two sessions of one user; the other revoked the first (DELETE /sessions/{id})."""
    def make() -> tuple[Holder, Holder]:
        account = new_account()
        revoked, other = holder_of(account, account.sign_in()), holder_of(account, account.sign_in())
        response = account.client.delete(f"/api/auth/sessions/{revoked.session_id}", headers=other.headers)
        assert response.status_code == 204, response.text
        return revoked, other
    return once(made_once, "revoked_from_another_device", make)


@pytest.fixture
def revoked_for_a_replayed_refresh_token(made_once, new_account) -> tuple[Holder, Holder]:
    """(first, refreshed): the access tokens of one session before and after a refresh; then the spent
    refresh token was presented again (as a thief would), which revokes the whole session."""
    def make() -> tuple[Holder, Holder]:
        account = new_account()
        tokens = account.sign_in()
        refreshed = account.client.post("/api/auth/token/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        replayed = account.client.post("/api/auth/token/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert replayed.status_code == 401, replayed.text
        return holder_of(account, tokens), holder_of(account, refreshed.json())
    return once(made_once, "revoked_for_a_replayed_refresh_token", make)


@pytest.fixture
def banned(made_once, new_account, request) -> Holder:
    """A signed-in user whom staff then banned through auth's staff API."""
    def make() -> Holder:
        account = new_account()
        holder = holder_of(account, account.sign_in())
        staff_client, staff_headers = request.getfixturevalue("staff")  # made only when needed: a CLI run
        response = staff_client.post(f"/api/auth/admin/users/{account.id}/ban", headers=staff_headers,
                                     json={"reason": "Spreads malware links."})
        assert response.status_code == 200, response.text
        return holder
    return once(made_once, "banned", make)


def refused_in_time(client, service: str, headers: dict[str, str]) -> str:
    """The verdict on the first answer other than 200 the service gives these headers (auth's events
    take a moment to reach it)."""
    answers = []

    def no_longer_served() -> bool:
        answers.append(client.get(PROTECTED[service], headers=headers))
        return answers[-1].status_code != 200

    wait_until(no_longer_served, timeout=BUS_TIMEOUT, interval=0.1, message=f"{service} to stop accepting the token")
    return verdict(answers[-1])


# --- the tests -------------------------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_a_real_token_altered_in_any_way_is_refused(service, new_client, holder, auth_key):
    client = new_client()
    assert client.get(PROTECTED[service], headers=holder.headers).status_code == 200  # the token altered is good

    verdicts = {how: verdict(client.get(PROTECTED[service], headers=bearer(forged)))
                for how, forged in forgeries(holder.access_token, auth_key).items()}

    assert verdicts == dict.fromkeys(verdicts, REFUSED)


@pytest.mark.parametrize("service", SERVICES)
def test_a_token_signed_by_auth_with_one_claim_wrong_is_refused(service, new_client, signed_by_auth):
    client = new_client()
    faulty = {fault: token for fault, token in signed_by_auth.items() if fault != "every claim right"}
    # The same key with every claim right is accepted: each refusal below is its claim's doing.
    assert client.get(PROTECTED[service], headers=bearer(signed_by_auth["every claim right"])).status_code == 200

    verdicts = {fault: verdict(client.get(PROTECTED[service], headers=bearer(token)))
                for fault, token in faulty.items()}

    assert verdicts == dict.fromkeys(faulty, REFUSED)


@pytest.mark.parametrize("service", SERVICES)
def test_a_session_revoked_from_another_device_is_refused_while_the_other_is_served(
        service, new_client, revoked_from_another_device):
    revoked, other = revoked_from_another_device
    client = new_client()

    assert refused_in_time(client, service, revoked.headers) == REFUSED
    assert client.get(PROTECTED[service], headers=other.headers).status_code == 200


@pytest.mark.parametrize("service", SERVICES)
def test_a_replayed_refresh_token_ends_its_session_everywhere(service, new_client,
                                                              revoked_for_a_replayed_refresh_token):
    first, refreshed = revoked_for_a_replayed_refresh_token
    client = new_client()

    assert refused_in_time(client, service, refreshed.headers) == REFUSED
    assert verdict(client.get(PROTECTED[service], headers=first.headers)) == REFUSED


@pytest.mark.parametrize("service", SERVICES)
def test_a_banned_users_token_is_refused(service, new_client, banned):
    assert refused_in_time(new_client(), service, banned.headers) == REFUSED


@pytest.mark.parametrize("authorization", [
    "Basic dXNlcjpwYXNzd29yZA==",
    "Bearer",
    "Bearer  ",
    "Token eyJhbGciOiJFZERTQSJ9.e30.",
], ids=["basic credentials", "bearer without a token", "bearer with blanks", "another scheme"])
@pytest.mark.parametrize("service", SERVICES)
def test_a_request_without_a_bearer_token_is_a_401_problem(service, authorization, new_client):
    response = new_client().get(PROTECTED[service], headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401 and body["type"] and body["title"] and body["detail"]
