"""Auth journeys across services, through the gateway only (the native stack)."""
from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from servicekit.testing import wait_until

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")
FORGED_ADDRESS = "203.0.113.9"


def solve(challenge: dict) -> dict:
    """What a client does before registering: find a nonce with enough leading zero bits."""
    token, difficulty = challenge["token"], challenge["difficulty"]
    for nonce in itertools.count():
        if int.from_bytes(hashlib.sha256(f"{token}:{nonce}".encode()).digest(), "big") >> (256 - difficulty) == 0:
            return {"token": token, "nonce": str(nonce)}


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def new_account_details() -> dict:
    tag = uuid.uuid4()
    username = f"j{tag.hex[:12]}"
    return {"username": username, "email": f"{username}@journey.test", "phone": f"+4420{tag.int % 10**8:08d}",
            "password": f"Journey-{tag.hex[12:28]}"}


@pytest.fixture
def account(new_client):
    """`account()` -> (client, details): a registered account and the device (client) it uses."""
    def make():
        client = new_client()
        details = new_account_details()
        challenge = client.post("/api/auth/challenge")
        assert challenge.status_code == 201, challenge.text
        registered = client.post("/api/auth/register", json={**details, "challenge": solve(challenge.json())})
        assert registered.status_code == 201, registered.text
        return client, details
    return make


def log_in(client, details: dict) -> dict:
    response = client.post("/api/auth/login", json={"username": details["username"], "password": details["password"]})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def staff(new_client):
    """A staff account made the operator's way (`flask --app auth create-staff`), signed in."""
    details = new_account_details()
    env = {**os.environ, **_env_file(ROOT / ".dev" / "env" / "auth.env")}
    subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "auth", "create-staff",
                    "--username", details["username"], "--email", details["email"], "--phone", details["phone"],
                    "--password-stdin"], input=details["password"] + "\n", text=True, env=env, check=True,
                   capture_output=True)
    client = new_client()
    return client, bearer(log_in(client, details))


def _env_file(path: Path) -> dict[str, str]:
    lines = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key: value for key, value in lines}


def test_a_token_from_auth_is_accepted_by_every_service_until_its_session_is_signed_out(account):
    client, details = account()
    headers = bearer(log_in(client, details))
    for service in SERVICES:
        response = client.get(f"/api/{service}/whoami", headers=headers)
        assert response.status_code == 200, (service, response.text)
        assert response.json()["roles"] == ["user"]

    assert client.post("/api/auth/logout", headers=headers).status_code == 204

    for service in SERVICES:  # each learns of the revocation from the bus, long before the token expires
        wait_until(lambda: client.get(f"/api/{service}/whoami", headers=headers).status_code == 401,
                   timeout=30, interval=0.1, message=f"{service} to refuse the signed-out session")


def test_login_activity_records_the_real_address_when_the_client_forges_forwarded_for(account, staff):
    client, details = account()
    refused = client.post("/api/auth/login", json={"username": details["username"], "password": "wrong password"},
                          headers={"X-Forwarded-For": FORGED_ADDRESS, "X-Real-IP": FORGED_ADDRESS})
    assert refused.status_code == 401

    staff_client, staff_headers = staff
    page = staff_client.get("/api/auth/admin/login-activity", params={"username": details["username"]},
                            headers=staff_headers)
    assert page.status_code == 200, page.text
    [attempt] = page.json()["items"]
    assert attempt["success"] is False and attempt["failure_reason"] == "bad_password"
    assert attempt["ip"] == client.source_address != FORGED_ADDRESS


def test_a_signed_in_user_is_not_staff_anywhere(account):
    client, details = account()
    response = client.get("/api/auth/admin/login-activity", headers=bearer(log_in(client, details)))
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/problem+json")
