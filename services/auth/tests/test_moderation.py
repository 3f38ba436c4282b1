import uuid

import jwt
import pytest
from servicekit.context import context_of
from servicekit.events import Event, record
from servicekit.testing import wait_until

from auth.models import User


def log_in(client, user):
    return client.post("/api/auth/login", json={"username": user.username, "password": user.password})


def ban(client, staff, user_id, reason="spam"):
    return client.post(f"/api/auth/admin/users/{user_id}/ban", headers=staff.headers, json={"reason": reason})


def unban(client, staff, user_id):
    return client.post(f"/api/auth/admin/users/{user_id}/unban", headers=staff.headers)


@pytest.fixture(scope="module")
def staff(new_staff):
    return new_staff()


def test_a_ban_revokes_every_session_and_refuses_sign_in(client, new_user, sign_in, staff, app, handlers,
                                                         running_worker, event_probe):
    running_worker(app, handlers)
    user = new_user()
    other_device = sign_in(user)
    response = ban(client, staff, user.id, reason="selling counterfeits")
    assert response.status_code == 200, response.json
    assert response.json["banned"] is True
    assert response.json["ban_reason"] == "selling counterfeits"
    for session in (user, other_device):
        refused = client.get("/api/auth/me", headers=session.headers)
        assert refused.status_code == 401
    assert log_in(client, user).status_code == 401
    banned = event_probe.wait_for("auth.user.banned", where=lambda e: e.payload["user_id"] == user.id)
    assert banned.payload["reason"] == "selling counterfeits"
    assert banned.payload["banned_at"]
    revoked = {user.session_id, other_device.session_id}
    wait_until(lambda: {e.payload["session_id"] for e in event_probe.received(
        "auth.session.revoked", where=lambda e: e.payload["user_id"] == user.id)} == revoked,
        message="a revocation event per session")


def test_an_unban_lets_the_user_sign_in_again(client, new_user, staff, app, handlers, running_worker, event_probe):
    running_worker(app, handlers)
    user = new_user()
    ban(client, staff, user.id)
    response = unban(client, staff, user.id)
    assert response.status_code == 200
    assert (response.json["banned"], response.json["banned_at"]) == (False, None)
    signed_in = log_in(client, user)
    assert signed_in.status_code == 200
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {signed_in.json['access_token']}"}
                      ).status_code == 200
    event_probe.wait_for("auth.user.unbanned", where=lambda e: e.payload["user_id"] == user.id)


def test_banning_a_banned_user_changes_nothing(client, new_user, staff):
    user = new_user()
    first = ban(client, staff, user.id, reason="first reason").json
    again = ban(client, staff, user.id, reason="second reason")
    assert again.status_code == 200
    assert again.json == first


def test_banning_or_unbanning_an_unknown_user_is_404(client, staff):
    for response in (ban(client, staff, uuid.uuid4()), unban(client, staff, uuid.uuid4())):
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_staff_cannot_ban_themselves(client, staff):
    response = ban(client, staff, staff.id)
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert client.get("/api/auth/me", headers=staff.headers).status_code == 200


def test_a_ban_needs_a_reason(client, new_user, staff):
    response = client.post(f"/api/auth/admin/users/{new_user().id}/ban", headers=staff.headers, json={})
    assert response.status_code == 422
    assert "reason" in response.json["errors"]


def test_non_staff_get_403_on_ban_and_unban(client, new_user):
    user, target = new_user(), new_user()
    for action in ("ban", "unban"):
        response = client.post(f"/api/auth/admin/users/{target.id}/{action}", headers=user.headers,
                               json={"reason": "x"})
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"
    assert log_in(client, target).status_code == 200


def publish_moderation_action(app, **payload):
    """Stands in for social: the event leaves through the outbox and crosses the real bus."""
    with context_of(app).db.transaction() as session:
        record(session, Event.new("social.moderation.action_taken",
                                  {"actor_id": uuid.uuid4(), "notes": "reported 5 times", **payload}))


def is_banned(app, user_id) -> bool:
    with context_of(app).db.session() as session:
        return session.get(User, uuid.UUID(user_id)).banned_at is not None


def test_a_ban_decided_by_social_moderation_bans_the_user(client, new_user, app, handlers, running_worker,
                                                          event_probe):
    running_worker(app, handlers)
    warned, banned = new_user(), new_user()
    publish_moderation_action(app, action="warn", target_type="user", target_id=warned.id)
    publish_moderation_action(app, action="ban", target_type="message", target_id=banned.id)
    publish_moderation_action(app, action="ban", target_type="user", target_id=banned.id)
    wait_until(lambda: is_banned(app, banned.id), timeout=60, message="the ban to reach auth")
    assert log_in(client, banned).status_code == 401
    assert client.get("/api/auth/me", headers=banned.headers).status_code == 401
    event = event_probe.wait_for("auth.user.banned", where=lambda e: e.payload["user_id"] == banned.id)
    assert event.payload["reason"] == "reported 5 times"
    assert not is_banned(app, warned.id)  # handled before the ban that followed it: other actions change nothing

    publish_moderation_action(app, action="unban", target_type="user", target_id=banned.id)
    wait_until(lambda: not is_banned(app, banned.id), timeout=60, message="the unban to reach auth")
    assert log_in(client, banned).status_code == 200


def run_create_staff(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["create-staff", *args], input=input)


def new_account_options():
    name = f"staff{uuid.uuid4().hex[:10]}"
    return name, ["--username", name, "--email", f"{name}@example.test",
                  "--phone", f"+41{uuid.uuid4().int % 10**9:09d}"]


def test_create_staff_makes_an_account_whose_tokens_carry_the_staff_role(client, app):
    username, options = new_account_options()
    result = run_create_staff(app, *options, "--password-stdin", input="Correct-Horse-42\n")
    assert result.exit_code == 0, result.output
    login = client.post("/api/auth/login", json={"username": username, "password": "Correct-Horse-42"})
    assert login.status_code == 200
    claims = jwt.decode(login.json["access_token"], options={"verify_signature": False})
    assert sorted(claims["roles"]) == ["staff", "user"]
    assert client.get("/api/auth/admin/verifications",
                      headers={"Authorization": f"Bearer {login.json['access_token']}"}).status_code == 200


def test_create_staff_prompts_for_the_password_twice(app):
    _username, options = new_account_options()
    result = run_create_staff(app, *options, input="Battery-Staple-77\nBattery-Staple-77\n")
    assert result.exit_code == 0, result.output
    assert "created staff account" in result.output


def test_create_staff_refuses_a_weak_password_and_a_taken_username(app, new_user):
    _username, options = new_account_options()
    weak = run_create_staff(app, *options, "--password-stdin", input="password\n")
    assert weak.exit_code != 0
    assert "password" in weak.output
    taken = new_user()
    duplicate = run_create_staff(app, "--username", taken.username, "--email", "other@example.test",
                                 "--phone", "+41000000001", "--password-stdin", input="Correct-Horse-42\n")
    assert duplicate.exit_code != 0
    assert "username: is already registered" in duplicate.output  # names the field that is taken


def test_create_staff_promotes_an_existing_user(client, app, new_user):
    user = new_user()
    result = run_create_staff(app, "--promote", user.username)
    assert result.exit_code == 0, result.output
    claims = jwt.decode(log_in(client, user).json["access_token"], options={"verify_signature": False})
    assert "staff" in claims["roles"]
    assert run_create_staff(app, "--promote", "nobody-by-this-name").exit_code != 0
