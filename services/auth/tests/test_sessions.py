import uuid

import pytest


def me(client, user):
    return client.get("/api/auth/me", headers=user.headers)


@pytest.fixture
def worker(app, handlers, running_worker):
    """The auth worker, so what auth commits reaches the bus."""
    running_worker(app, handlers)


def test_a_user_lists_their_sessions_with_the_current_one_marked(client, new_user, sign_in):
    user = new_user()
    phone = sign_in(user, REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="BeYou-Android/2.1")

    response = client.get("/api/auth/sessions", headers=user.headers)

    assert response.status_code == 200
    listed = {item["id"]: item for item in response.json["items"]}
    assert set(listed) == {user.session_id, phone.session_id}
    assert listed[user.session_id]["current"] is True
    assert listed[phone.session_id]["current"] is False
    assert (listed[phone.session_id]["ip"], listed[phone.session_id]["user_agent"]) == ("203.0.113.7",
                                                                                          "BeYou-Android/2.1")
    assert all(item["revoked"] is False and item["created_at"] and item["last_used_at"] for item in listed.values())
    assert response.json["next_cursor"] is None


def test_sessions_come_a_page_at_a_time_newest_first(client, new_user, sign_in):
    user = new_user()
    second, third = sign_in(user), sign_in(user)

    first_page = client.get("/api/auth/sessions?limit=2", headers=user.headers).json
    second_page = client.get(f"/api/auth/sessions?limit=2&cursor={first_page['next_cursor']}",
                             headers=user.headers).json

    assert [item["id"] for item in first_page["items"]] == [third.session_id, second.session_id]
    assert [item["id"] for item in second_page["items"]] == [user.session_id]
    assert second_page["next_cursor"] is None


def test_a_user_never_sees_another_users_sessions(client, new_user):
    alice, bob = new_user(), new_user()

    listed = client.get("/api/auth/sessions", headers=alice.headers).json["items"]

    assert bob.session_id not in {item["id"] for item in listed}


def test_a_user_cannot_revoke_another_users_session(client, new_user):
    alice, bob = new_user(), new_user()

    response = client.delete(f"/api/auth/sessions/{bob.session_id}", headers=alice.headers)

    assert response.status_code == 404
    assert me(client, bob).status_code == 200


def test_an_unknown_session_is_not_found(client, new_user):
    user = new_user()

    assert client.delete(f"/api/auth/sessions/{uuid.uuid4()}", headers=user.headers).status_code == 404


def test_revoking_a_session_refuses_its_token_at_once_and_is_announced_once(client, new_user, sign_in, worker,
                                                                          event_probe):
    user = new_user()
    laptop = sign_in(user)

    response = client.delete(f"/api/auth/sessions/{laptop.session_id}", headers=user.headers)

    assert response.status_code == 204
    assert me(client, laptop).status_code == 401
    assert me(client, user).status_code == 200
    event = event_probe.wait_for("auth.session.revoked", where=lambda e: e.payload["session_id"] == laptop.session_id)
    assert event.payload["user_id"] == user.id
    assert event.payload["reason"] == "signed_out_by_user"
    assert len(event_probe.received("auth.session.revoked",
                                    where=lambda e: e.payload["session_id"] == laptop.session_id)) == 1
    listed = {i["id"]: i for i in client.get("/api/auth/sessions", headers=user.headers).json["items"]}
    assert listed[laptop.session_id]["revoked"] is True


def test_logout_refuses_the_token_at_once_and_is_announced(client, new_user, worker, event_probe):
    user = new_user()

    response = client.post("/api/auth/logout", headers=user.headers)

    assert response.status_code == 204
    refused = me(client, user)
    assert refused.status_code == 401
    assert refused.json["detail"] == "session revoked"
    assert client.post("/api/auth/token/refresh", json={"refresh_token": user.refresh_token}).status_code == 401
    event_probe.wait_for("auth.session.revoked", where=lambda e: e.payload["session_id"] == user.session_id)


def test_revoke_others_keeps_only_the_current_session(client, new_user, sign_in, worker, event_probe):
    user = new_user()
    others = [sign_in(user), sign_in(user)]

    response = client.post("/api/auth/sessions/revoke-others", headers=user.headers)

    assert response.status_code == 200
    assert response.json == {"revoked": 2}
    assert me(client, user).status_code == 200
    assert [me(client, other).status_code for other in others] == [401, 401]
    for other in others:
        event_probe.wait_for("auth.session.revoked", where=lambda e, sid=other.session_id: e.payload["session_id"] == sid)
    assert not event_probe.received("auth.session.revoked", where=lambda e: e.payload["session_id"] == user.session_id)


def test_session_endpoints_need_a_signed_in_user(client):
    assert client.get("/api/auth/sessions").status_code == 401
    assert client.post("/api/auth/sessions/revoke-others").status_code == 401
    assert client.delete(f"/api/auth/sessions/{uuid.uuid4()}").status_code == 401
    assert client.post("/api/auth/logout").status_code == 401


def test_a_made_up_cursor_is_a_422(client, new_user):
    user = new_user()

    response = client.get("/api/auth/sessions?cursor=bm90LWEtY3Vyc29y", headers=user.headers)

    assert response.status_code == 422
    assert "cursor" in response.json["errors"]
