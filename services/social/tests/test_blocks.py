import uuid

import pytest
import sqlalchemy as sa
from servicekit.tables import outbox

from social.models import FriendRequest


def block(client, blocker, username, reason=None):
    return client.post("/api/social/blocks", headers=blocker.headers, json={"username": username, "reason": reason})


def befriend(client, one, other):
    request = client.post("/api/social/friend-requests", headers=one.headers, json={"username": other.username})
    client.post(f"/api/social/friend-requests/{request.json['id']}/accept", headers=other.headers)


def friend_ids(client, member):
    return {f["user_id"] for f in client.get("/api/social/friends", headers=member.headers).json["items"]}


def events(session, event_type):
    return [row["payload"] for row in session.execute(
        sa.select(outbox.c.envelope).where(outbox.c.event_type == event_type)).scalars()]


@pytest.fixture
def alice(new_member):
    return new_member()


@pytest.fixture
def bob(new_member):
    return new_member()


def test_a_block_is_listed_with_its_private_reason_and_announced_without_it(client, session, alice, bob):
    response = block(client, alice, bob.username, reason="spam")

    assert response.status_code == 201, response.json
    assert (response.json["user_id"], response.json["reason"]) == (str(bob.user_id), "spam")
    listed = client.get("/api/social/blocks", headers=alice.headers).json["items"]
    assert [(b["username"], b["reason"]) for b in listed] == [(bob.username, "spam")]
    announced = [e for e in events(session, "social.block.created") if e["blocker_id"] == str(alice.user_id)]
    assert announced == [{"blocker_id": str(alice.user_id), "blocked_id": str(bob.user_id),
                          "created_at": announced[0]["created_at"]}]


def test_blocking_ends_a_friendship_in_the_same_transaction(client, session, alice, bob):
    befriend(client, alice, bob)

    block(client, bob, alice.username)

    assert friend_ids(client, alice) == friend_ids(client, bob) == set()
    removed = [e for e in events(session, "social.friendship.removed") if e["user_id"] == str(bob.user_id)]
    assert [(e["friend_id"], e["reason"]) for e in removed] == [(str(alice.user_id), "blocked")]


def test_blocking_closes_open_requests_both_ways(client, session, alice, bob, new_member):
    request_id = client.post("/api/social/friend-requests", headers=bob.headers,
                             json={"username": alice.username}).json["id"]

    block(client, alice, bob.username)

    assert session.get(FriendRequest, uuid.UUID(request_id)).status == "cancelled"
    assert client.post(f"/api/social/friend-requests/{request_id}/accept", headers=alice.headers).status_code == 409
    assert client.get("/api/social/friend-requests", headers=alice.headers).json["items"] == []


def test_blocking_twice_is_a_conflict(client, alice, bob):
    block(client, alice, bob.username)
    assert block(client, alice, bob.username).status_code == 409


def test_blocking_oneself_or_nobody_is_refused(client, alice):
    assert block(client, alice, alice.username).status_code == 422
    assert block(client, alice, "no_such_user_anywhere").status_code == 404


def test_a_reason_longer_than_500_characters_is_refused(client, alice, bob):
    response = block(client, alice, bob.username, reason="x" * 501)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"reason"}


def test_unblocking_lifts_the_block_but_not_the_ended_friendship(client, session, alice, bob):
    befriend(client, alice, bob)
    block(client, alice, bob.username)

    response = client.delete(f"/api/social/blocks/{bob.user_id}", headers=alice.headers)

    assert response.status_code == 204
    assert client.get("/api/social/blocks", headers=alice.headers).json["items"] == []
    assert friend_ids(client, alice) == set()
    assert any(e["blocker_id"] == str(alice.user_id) and e["blocked_id"] == str(bob.user_id)
               for e in events(session, "social.block.removed"))
    assert client.post("/api/social/friend-requests", headers=bob.headers,
                       json={"username": alice.username}).status_code == 201


def test_only_my_own_block_can_be_lifted(client, alice, bob):
    block(client, alice, bob.username)
    assert client.delete(f"/api/social/blocks/{alice.user_id}", headers=bob.headers).status_code == 404
    assert client.delete(f"/api/social/blocks/{uuid.uuid4()}", headers=bob.headers).status_code == 404


def test_my_blocks_are_mine_alone(client, alice, bob, new_member):
    block(client, alice, bob.username)
    assert client.get("/api/social/blocks", headers=bob.headers).json["items"] == []
