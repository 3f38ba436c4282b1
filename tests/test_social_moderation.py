"""Moderation across services, through the gateway only (the native stack, the real broker, real tokens):
a report resolved in social takes effect in auth, and through auth's revocations in every service."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from servicekit.testing import wait_until

SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")


BUS_TIMEOUT = 30  # seconds an event may take from one service's commit to another's effect, at most


@pytest.fixture
def member(new_account):
    """`member()`: a new account registered through auth (proof of work solved), signed in, and known to social."""
    def make():
        user = new_account()
        user.sign_in()
        # social creates the profile from auth.user.registered, which crosses the bus.
        wait_until(lambda: user.client.get("/api/social/profiles/me", headers=user.headers).status_code == 200,
                   timeout=BUS_TIMEOUT, interval=0.1, message=f"social to know {user.username}")
        return user
    return make


def screenshot() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 360), (30, 30, 200)).save(out, "PNG")
    return out.getvalue()


def report_user(reporter, target, reason: str) -> dict:
    """A multipart report with a screenshot, as a client files it."""
    response = reporter.client.post("/api/social/reports", headers=reporter.headers, data={
        "target_type": "user", "target_id": target.id, "reason": reason},
        files={"screenshot": ("evidence.png", screenshot(), "image/png")})
    assert response.status_code == 201, response.text
    return response.json()


def resolve(staff, report_id: str, action: str, **decision) -> dict:
    client, headers = staff
    response = client.post(f"/api/social/admin/reports/{report_id}/resolve", headers=headers,
                           json={"action": action, "notes": "Confirmed by the screenshot.", **decision})
    assert response.status_code == 200, response.text
    return response.json()


def refused_everywhere(user, headers: dict) -> None:
    for service in SERVICES:  # auth revokes the sessions; each service learns of it from the bus
        wait_until(lambda: user.client.get(f"/api/{service}/whoami", headers=headers).status_code == 401,
                   timeout=BUS_TIMEOUT, interval=0.1, message=f"{service} to refuse the moderated user's token")


def test_a_ban_resolved_in_social_stops_the_user_everywhere(member, staff):
    alice, bob = member(), member()
    for service in SERVICES:
        assert bob.client.get(f"/api/{service}/whoami", headers=bob.headers).status_code == 200, service

    report = report_user(alice, bob, "Sends me threats.")
    staff_client, staff_headers = staff
    evidence = staff_client.get(report["screenshot"], headers=staff_headers)
    assert (evidence.status_code, evidence.headers["Content-Type"]) == (200, "image/webp")
    resolve(staff, report["id"], "ban")

    refused_everywhere(bob, bob.headers)
    assert bob.log_in().status_code == 401
    outcomes = [n for n in alice.client.get("/api/social/notifications", headers=alice.headers).json()["items"]
                if n["kind"] == "report.resolved"]
    assert [(n["subject_id"], n["data"]) for n in outcomes] == [(report["id"], {"action": "ban"})]


def test_a_suspension_resolved_in_social_stops_the_user_until_it_ends(member, staff):
    alice, bob = member(), member()
    report = report_user(alice, bob, "Spams every group.")

    resolved = resolve(staff, report["id"], "suspend", duration_seconds=6)

    # auth applies the suspension and revokes the sessions in one transaction: once its whoami
    # refuses the token, sign-in is refused too, until the suspension ends by itself.
    wait_until(lambda: bob.client.get("/api/auth/whoami", headers=bob.headers).status_code == 401,
               timeout=BUS_TIMEOUT, interval=0.1, message="auth to suspend the user")
    ends = dt.datetime.fromisoformat(resolved["resolved_at"]) + dt.timedelta(seconds=6)
    assert dt.datetime.now(dt.UTC) < ends, "auth applied the suspension only after it had ended"
    assert bob.log_in().status_code == 401
    refused_everywhere(bob, bob.headers)
    # Polled once a second: slower than auth's throttling of repeated refusals, and well below its lockout.
    wait_until(lambda: bob.log_in().status_code == 200, timeout=BUS_TIMEOUT, interval=1.0,
               message="the suspension to end")
    clock_skew = dt.timedelta(seconds=1)  # between the test's clock and auth's
    assert dt.datetime.now(dt.UTC) >= ends - clock_skew
    bob.sign_in()
    headers = bob.headers
    assert bob.client.get("/api/auth/whoami", headers=headers).status_code == 200
    [action] = [n for n in bob.client.get("/api/social/notifications", headers=headers).json()["items"]
                if n["kind"] == "moderation.action"]
    assert action["data"] == {"action": "suspend", "duration": 6, "notes": "Confirmed by the screenshot."}
