"""Auth journeys across services, through the gateway only (the native stack)."""
from __future__ import annotations

from servicekit.testing import wait_until

SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")
FORGED_ADDRESS = "203.0.113.9"


def test_a_token_from_auth_is_accepted_by_every_service_until_its_session_is_signed_out(new_account):
    account = new_account()
    account.sign_in()
    client, headers = account.client, account.headers
    for service in SERVICES:
        response = client.get(f"/api/{service}/whoami", headers=headers)
        assert response.status_code == 200, (service, response.text)
        assert response.json()["roles"] == ["user"]

    assert client.post("/api/auth/logout", headers=headers).status_code == 204

    for service in SERVICES:  # each learns of the revocation from the bus, long before the token expires
        wait_until(lambda: client.get(f"/api/{service}/whoami", headers=headers).status_code == 401,
                   timeout=30, interval=0.1, message=f"{service} to refuse the signed-out session")


def test_login_activity_records_the_real_address_when_the_client_forges_forwarded_for(new_account, staff):
    account = new_account()
    client = account.client
    refused = client.post("/api/auth/login", json={"username": account.username, "password": "wrong password"},
                          headers={"X-Forwarded-For": FORGED_ADDRESS, "X-Real-IP": FORGED_ADDRESS})
    assert refused.status_code == 401

    staff_client, staff_headers = staff
    page = staff_client.get("/api/auth/admin/login-activity", params={"username": account.username},
                            headers=staff_headers)
    assert page.status_code == 200, page.text
    [attempt] = page.json()["items"]
    assert attempt["success"] is False and attempt["failure_reason"] == "bad_password"
    assert attempt["ip"] == client.source_address != FORGED_ADDRESS


def test_a_signed_in_user_is_not_staff_anywhere(new_account):
    account = new_account()
    account.sign_in()
    response = account.client.get("/api/auth/admin/login-activity", headers=account.headers)
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/problem+json")
