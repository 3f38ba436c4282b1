import threading
import uuid

import pytest
import sqlalchemy as sa
from servicekit.tables import outbox

from social.models import Block, FriendRequest, Friendship, Notification


def send(client, sender, recipient_username):
    return client.post("/api/social/friend-requests", headers=sender.headers, json={"username": recipient_username})


def decide(client, member, request_id, decision):
    return client.post(f"/api/social/friend-requests/{request_id}/{decision}", headers=member.headers)


def friends_of(client, member):
    response = client.get("/api/social/friends", headers=member.headers)
    assert response.status_code == 200, response.json
    return {friend["user_id"] for friend in response.json["items"]}


def published(session, event_type, **payload):
    """The payloads of `event_type` in social's outbox that contain `payload`."""
    rows = session.execute(sa.select(outbox.c.envelope).where(outbox.c.event_type == event_type)).scalars()
    wanted = {key: str(value) for key, value in payload.items()}
    return [envelope["payload"] for envelope in rows if wanted.items() <= envelope["payload"].items()]


@pytest.fixture
def alice(new_member):
    return new_member()


@pytest.fixture
def bob(new_member):
    return new_member()


def test_a_request_accepted_makes_two_friends_and_announces_it(client, session, alice, bob):
    sent = send(client, alice, bob.username)
    assert sent.status_code == 201, sent.json
    assert (sent.json["status"], sent.json["sender"]["user_id"], sent.json["recipient"]["user_id"]) == (
        "pending", str(alice.user_id), str(bob.user_id))

    accepted = decide(client, bob, sent.json["id"], "accept")

    assert accepted.status_code == 200, accepted.json
    assert accepted.json["status"] == "accepted"
    assert friends_of(client, alice) == {str(bob.user_id)}
    assert friends_of(client, bob) == {str(alice.user_id)}
    assert published(session, "social.friendship.created", user_id=bob.user_id, friend_id=alice.user_id,
                     request_id=sent.json["id"])


def test_the_recipient_is_notified_of_a_request_and_the_sender_of_its_acceptance(client, session, alice, bob):
    request_id = send(client, alice, bob.username).json["id"]
    decide(client, bob, request_id, "accept")

    kinds = session.execute(sa.select(Notification.user_id, Notification.kind, Notification.actor_id)
                            .where(Notification.source_id == uuid.UUID(request_id))).all()
    assert set(kinds) == {(bob.user_id, "friend_request.received", alice.user_id),
                          (alice.user_id, "friend_request.accepted", bob.user_id)}


def test_a_username_is_found_whatever_its_case(client, alice, new_member):
    carol = new_member(f"Carol_{uuid.uuid4().hex[:8]}")
    assert send(client, alice, carol.username.upper()).status_code == 201


def test_a_request_to_oneself_is_refused(client, alice):
    response = send(client, alice, alice.username)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"username"}


def test_a_request_to_nobody_is_404(client, alice):
    assert send(client, alice, "no_such_user_anywhere").status_code == 404


def test_a_second_request_to_the_same_user_is_refused(client, alice, bob):
    send(client, alice, bob.username)
    response = send(client, alice, bob.username)
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"


def test_a_request_crossing_an_open_one_accepts_it(client, session, alice, bob):
    first = send(client, alice, bob.username).json

    crossing = send(client, bob, alice.username)

    assert crossing.status_code == 200, crossing.json
    assert (crossing.json["id"], crossing.json["status"]) == (first["id"], "accepted")
    assert friends_of(client, alice) == {str(bob.user_id)}
    assert session.scalar(sa.select(sa.func.count()).select_from(FriendRequest).where(
        FriendRequest.sender_id.in_([alice.user_id, bob.user_id]))) == 1


def test_crossing_requests_sent_at_once_make_one_friendship(app, alice, bob, database):
    results = []

    def request(sender, recipient):
        results.append(send(app.test_client(), sender, recipient.username).status_code)

    threads = [threading.Thread(target=request, args=pair) for pair in ((alice, bob), (bob, alice))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [200, 201]
    with database.session() as session:
        rows = session.scalars(sa.select(Friendship).where(Friendship.user_id.in_([alice.user_id, bob.user_id])))
        assert {(row.user_id, row.friend_id) for row in rows} == {(alice.user_id, bob.user_id),
                                                                  (bob.user_id, alice.user_id)}


def test_friends_cannot_ask_again(client, alice, bob):
    decide(client, bob, send(client, alice, bob.username).json["id"], "accept")
    assert send(client, bob, alice.username).status_code == 409


@pytest.mark.parametrize("who_blocks", ["sender", "recipient"])
def test_no_request_while_either_blocks_the_other(client, session, alice, bob, who_blocks):
    blocker, blocked = (alice, bob) if who_blocks == "sender" else (bob, alice)
    session.add(Block(blocker_id=blocker.user_id, blocked_id=blocked.user_id))
    session.commit()

    response = send(client, alice, bob.username)

    assert response.status_code == 403
    assert not session.scalars(sa.select(FriendRequest).where(FriendRequest.sender_id == alice.user_id)).all()


def test_a_request_to_a_banned_user_is_404(client, session, alice, bob):
    session.execute(sa.text("UPDATE profiles SET banned = true WHERE user_id = :id"), {"id": bob.user_id})
    session.commit()
    assert send(client, alice, bob.username).status_code == 404


def test_rejecting_closes_the_request_and_makes_no_friendship(client, alice, bob):
    request_id = send(client, alice, bob.username).json["id"]

    rejected = decide(client, bob, request_id, "reject")

    assert (rejected.status_code, rejected.json["status"]) == (200, "rejected")
    assert friends_of(client, bob) == set()
    assert send(client, alice, bob.username).status_code == 201  # they may ask again later


def test_the_sender_cancels_their_request(client, alice, bob):
    request_id = send(client, alice, bob.username).json["id"]

    cancelled = decide(client, alice, request_id, "cancel")

    assert (cancelled.status_code, cancelled.json["status"]) == (200, "cancelled")
    assert decide(client, bob, request_id, "accept").status_code == 409


@pytest.mark.parametrize("decision, wrong_party", [("accept", "sender"), ("reject", "sender"),
                                                   ("cancel", "recipient")])
def test_only_the_right_party_decides(client, alice, bob, decision, wrong_party):
    request_id = send(client, alice, bob.username).json["id"]
    member = alice if wrong_party == "sender" else bob
    assert decide(client, member, request_id, decision).status_code == 403


@pytest.mark.parametrize("decision", ["accept", "reject", "cancel"])
def test_nobody_else_can_see_or_act_on_a_request(client, alice, bob, new_member, decision):
    request_id = send(client, alice, bob.username).json["id"]
    outsider = new_member()

    assert decide(client, outsider, request_id, decision).status_code == 404
    assert client.get(f"/api/social/friend-requests/{request_id}", headers=outsider.headers).status_code == 404
    assert client.get(f"/api/social/friend-requests/{request_id}", headers=alice.headers).status_code == 200


def test_a_decided_request_cannot_be_decided_again(client, alice, bob):
    request_id = send(client, alice, bob.username).json["id"]
    decide(client, bob, request_id, "accept")
    for decision, member in (("accept", bob), ("reject", bob), ("cancel", alice)):
        assert decide(client, member, request_id, decision).status_code == 409


def test_open_requests_are_listed_for_each_side(client, alice, bob, new_member):
    carol = new_member()
    to_bob = send(client, alice, bob.username).json["id"]
    to_carol = send(client, alice, carol.username).json["id"]

    outgoing = client.get("/api/social/friend-requests?direction=outgoing", headers=alice.headers).json
    incoming = client.get("/api/social/friend-requests", headers=bob.headers).json

    assert [item["id"] for item in outgoing["items"]] == [to_carol, to_bob]  # newest first
    assert [item["id"] for item in incoming["items"]] == [to_bob]
    assert incoming["items"][0]["sender"]["username"] == alice.username


def test_friends_are_listed_a_page_at_a_time(client, alice, new_member):
    others = [new_member() for _ in range(5)]
    for other in others:
        decide(client, other, send(client, alice, other.username).json["id"], "accept")

    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/social/friends", headers=alice.headers, query_string=query).json
        seen += [friend["user_id"] for friend in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [str(other.user_id) for other in reversed(others)]


def test_unfriending_ends_it_for_both_and_announces_it(client, session, alice, bob):
    decide(client, bob, send(client, alice, bob.username).json["id"], "accept")

    response = client.delete(f"/api/social/friends/{bob.user_id}", headers=alice.headers)

    assert response.status_code == 204
    assert friends_of(client, alice) == friends_of(client, bob) == set()
    assert published(session, "social.friendship.removed", user_id=alice.user_id, friend_id=bob.user_id,
                     reason="unfriended")
    assert client.delete(f"/api/social/friends/{bob.user_id}", headers=alice.headers).status_code == 404


def test_unfriending_a_stranger_is_404(client, alice, bob):
    assert client.delete(f"/api/social/friends/{bob.user_id}", headers=alice.headers).status_code == 404
    assert client.delete(f"/api/social/friends/{uuid.uuid4()}", headers=alice.headers).status_code == 404


def test_friend_requests_need_a_signed_in_user(client, bob):
    assert client.post("/api/social/friend-requests", json={"username": bob.username}).status_code == 401
    assert client.get("/api/social/friends").status_code == 401
