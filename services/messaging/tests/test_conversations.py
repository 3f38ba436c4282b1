"""Conversations through the API: direct ones (one per pair, blocks), groups (verified creators, friends only),
membership, and what a non-participant sees (nothing)."""
import uuid

import pytest
import sqlalchemy as sa
from servicekit.tables import outbox

from messaging.models import StreamEvent

API = "/api/messaging"


def start_direct(client, me, other):
    return client.post(f"{API}/conversations", headers=me.headers,
                       json={"type": "direct", "user_id": str(other.user_id)})


def create_group(client, owner, *members, name="Lunch"):
    return client.post(f"{API}/conversations", headers=owner.headers,
                       json={"type": "group", "name": name, "member_ids": [str(m.user_id) for m in members]})


def member_ids(conversation: dict) -> set[str]:
    return {participant["user_id"] for participant in conversation["participants"]}


def published(session, event_type: str) -> list[dict]:
    return [envelope["payload"] for envelope in session.scalars(
        sa.select(outbox.c.envelope).where(outbox.c.event_type == event_type))]


def notices(session, person, type: str) -> list[dict]:
    return list(session.scalars(sa.select(StreamEvent.data).where(StreamEvent.user_id == person.user_id,
                                                                  StreamEvent.type == type).order_by(StreamEvent.id)))


# --- direct conversations -------------------------------------------------------------------------

def test_a_direct_conversation_is_started_once_whichever_of_the_two_starts_it(client, alice, bob):
    first = start_direct(client, alice, bob)
    again = start_direct(client, alice, bob)
    from_bob = start_direct(client, bob, alice)

    assert first.status_code == 201, first.json
    assert (again.status_code, from_bob.status_code) == (200, 200)
    assert first.json["id"] == again.json["id"] == from_bob.json["id"]
    assert first.json["type"] == "direct" and first.json["name"] is None and first.json["owner_id"] is None
    assert member_ids(first.json) == {str(alice.user_id), str(bob.user_id)}
    assert {p["username"] for p in first.json["participants"]} == {alice.username, bob.username}


def test_a_new_conversation_is_announced_once_and_both_are_told(client, session, alice, bob):
    conversation = start_direct(client, alice, bob).json
    start_direct(client, bob, alice)

    announced = [e for e in published(session, "messaging.conversation.created")
                 if e["conversation_id"] == conversation["id"]]
    assert len(announced) == 1
    assert (announced[0]["type"], announced[0]["owner_id"]) == ("direct", None)
    assert set(announced[0]["participant_ids"]) == {str(alice.user_id), str(bob.user_id)}
    for person in (alice, bob):
        assert notices(session, person, "conversation") == [{"conversation_id": conversation["id"], "change": "added"}]


@pytest.mark.parametrize("who_blocks", ["me", "them"])
def test_no_direct_conversation_when_either_blocks_the_other(client, session, alice, bob, block, who_blocks):
    blocker, blocked = (alice, bob) if who_blocks == "me" else (bob, alice)
    block(session, blocker, blocked)

    response = start_direct(client, alice, bob)

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_an_existing_direct_conversation_is_refused_once_a_block_applies(client, session, alice, bob, block):
    start_direct(client, alice, bob)
    block(session, bob, alice)

    assert start_direct(client, alice, bob).status_code == 403


def test_a_direct_conversation_with_myself_an_unknown_or_a_banned_user_is_refused(client, session, alice, bob,
                                                                                 new_person, ban):
    banned = new_person()
    ban(session, banned)

    assert start_direct(client, alice, alice).status_code == 422
    unknown = client.post(f"{API}/conversations", headers=alice.headers,
                          json={"type": "direct", "user_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    assert start_direct(client, alice, banned).status_code == 404


def test_a_banned_user_starts_no_conversation(client, session, alice, bob, ban):
    ban(session, bob)

    assert start_direct(client, bob, alice).status_code == 403


# --- groups ---------------------------------------------------------------------------------------

def test_a_verified_user_creates_a_group_of_their_friends(client, session, alice, bob, carol, befriend):
    befriend(session, alice, bob)
    befriend(session, carol, alice)

    response = create_group(client, alice, bob, carol, name="  Lunch crew  ")

    assert response.status_code == 201, response.json
    group = response.json
    assert (group["type"], group["name"], group["owner_id"]) == ("group", "Lunch crew", str(alice.user_id))
    assert {(p["user_id"], p["role"]) for p in group["participants"]} == {
        (str(alice.user_id), "owner"), (str(bob.user_id), "member"), (str(carol.user_id), "member")}
    assert notices(session, carol, "conversation") == [{"conversation_id": group["id"], "change": "added"}]


def test_an_unverified_user_cannot_create_a_group(client, session, bob, carol, befriend):
    befriend(session, bob, carol)

    response = create_group(client, bob, carol)

    assert response.status_code == 403
    assert "verified" in response.json["detail"]


def test_a_verification_messaging_heard_of_counts_even_if_the_token_predates_it(client, session, bob, carol,
                                                                                 befriend, verify):
    befriend(session, bob, carol)
    verify(session, bob)

    assert create_group(client, bob, carol).status_code == 201


def test_a_group_takes_only_the_creators_friends_and_names_who_is_not(client, session, alice, bob, carol, befriend):
    befriend(session, alice, bob)

    response = create_group(client, alice, bob, carol)

    assert response.status_code == 422
    [message] = response.json["errors"]["member_ids"]
    assert str(carol.user_id) in message and str(bob.user_id) not in message


def test_a_group_needs_a_name_of_one_line(client, alice):
    for name in ("", "   ", "two\nlines", "x" * 101):
        response = create_group(client, alice, name=name)
        assert response.status_code == 422, name
        assert "name" in response.json["errors"]
    missing = client.post(f"{API}/conversations", headers=alice.headers, json={"type": "group"})
    assert missing.status_code == 422 and "name" in missing.json["errors"]


def test_the_owner_renames_the_group_and_everyone_is_told(client, session, alice, bob, befriend):
    befriend(session, alice, bob)
    group = create_group(client, alice, bob).json

    renamed = client.patch(f"{API}/conversations/{group['id']}", headers=alice.headers, json={"name": "Dinner"})

    assert renamed.status_code == 200 and renamed.json["name"] == "Dinner"
    assert {"conversation_id": group["id"], "change": "renamed"} in notices(session, bob, "conversation")
    by_member = client.patch(f"{API}/conversations/{group['id']}", headers=bob.headers, json={"name": "Mine"})
    assert by_member.status_code == 403


def test_the_owner_adds_a_friend_and_removes_a_member(client, session, alice, bob, carol, befriend):
    befriend(session, alice, bob)
    befriend(session, alice, carol)
    group = create_group(client, alice, bob).json
    url = f"{API}/conversations/{group['id']}/participants"

    added = client.post(url, headers=alice.headers, json={"user_id": str(carol.user_id)})
    assert added.status_code == 200, added.json
    assert member_ids(added.json) == {str(alice.user_id), str(bob.user_id), str(carol.user_id)}
    assert client.get(f"{API}/conversations/{group['id']}", headers=carol.headers).status_code == 200

    removed = client.delete(f"{url}/{bob.user_id}", headers=alice.headers)
    assert removed.status_code == 204
    assert client.get(f"{API}/conversations/{group['id']}", headers=bob.headers).status_code == 404
    assert {"conversation_id": group["id"], "change": "removed"} in notices(session, bob, "conversation")
    assert {"conversation_id": group["id"], "change": "members", "user_id": str(bob.user_id)} in \
        notices(session, carol, "conversation")


def test_only_the_owner_manages_members_and_only_friends_of_theirs_once(client, session, alice, bob, carol, befriend):
    befriend(session, alice, bob)
    befriend(session, bob, carol)  # carol is bob's friend, not alice's
    group = create_group(client, alice, bob).json
    url = f"{API}/conversations/{group['id']}/participants"

    assert client.post(url, headers=bob.headers, json={"user_id": str(carol.user_id)}).status_code == 403
    assert client.post(url, headers=alice.headers, json={"user_id": str(carol.user_id)}).status_code == 422
    assert client.post(url, headers=alice.headers, json={"user_id": str(bob.user_id)}).status_code == 409
    assert client.delete(f"{url}/{alice.user_id}", headers=bob.headers).status_code == 403
    assert client.delete(f"{url}/{alice.user_id}", headers=alice.headers).status_code == 409
    assert client.delete(f"{url}/{carol.user_id}", headers=alice.headers).status_code == 404


def test_a_member_leaves_and_the_group_is_gone_for_them(client, session, alice, bob, befriend):
    befriend(session, alice, bob)
    group = create_group(client, alice, bob).json

    assert client.post(f"{API}/conversations/{group['id']}/leave", headers=bob.headers).status_code == 204

    assert client.get(f"{API}/conversations/{group['id']}", headers=bob.headers).status_code == 404
    assert client.get(f"{API}/conversations", headers=bob.headers).json["items"] == []
    assert member_ids(client.get(f"{API}/conversations/{group['id']}", headers=alice.headers).json) == \
        {str(alice.user_id)}


def test_the_owner_cannot_leave_and_nobody_leaves_a_direct_conversation(client, session, alice, bob, befriend):
    befriend(session, alice, bob)
    group = create_group(client, alice, bob).json
    direct = start_direct(client, alice, bob).json

    assert client.post(f"{API}/conversations/{group['id']}/leave", headers=alice.headers).status_code == 409
    assert client.post(f"{API}/conversations/{direct['id']}/leave", headers=bob.headers).status_code == 409


def test_the_owner_deletes_the_group_for_everyone(client, session, alice, bob, befriend):
    befriend(session, alice, bob)
    group = create_group(client, alice, bob).json

    assert client.delete(f"{API}/conversations/{group['id']}", headers=bob.headers).status_code == 403
    assert client.delete(f"{API}/conversations/{group['id']}", headers=alice.headers).status_code == 204

    for person in (alice, bob):
        assert client.get(f"{API}/conversations/{group['id']}", headers=person.headers).status_code == 404
        assert {"conversation_id": group["id"], "change": "deleted"} in notices(session, person, "conversation")
    assert client.delete(f"{API}/conversations/{group['id']}", headers=alice.headers).status_code == 404


def test_a_direct_conversation_cannot_be_renamed_or_deleted(client, alice, bob):
    direct = start_direct(client, alice, bob).json

    assert client.patch(f"{API}/conversations/{direct['id']}", headers=alice.headers,
                        json={"name": "Ours"}).status_code == 403
    assert client.delete(f"{API}/conversations/{direct['id']}", headers=alice.headers).status_code == 403


# --- what others see ----------------------------------------------------------------------------------

def test_a_conversation_is_not_revealed_to_anyone_else(client, alice, bob, carol):
    conversation_id = start_direct(client, alice, bob).json["id"]
    unknown_id = uuid.uuid4()

    for target in (conversation_id, unknown_id):
        base = f"{API}/conversations/{target}"
        answers = [
            client.get(base, headers=carol.headers),
            client.patch(base, headers=carol.headers, json={"name": "x"}),
            client.delete(base, headers=carol.headers),
            client.post(f"{base}/participants", headers=carol.headers, json={"user_id": str(carol.user_id)}),
            client.delete(f"{base}/participants/{alice.user_id}", headers=carol.headers),
            client.post(f"{base}/leave", headers=carol.headers),
            client.get(f"{base}/messages", headers=carol.headers),
            client.post(f"{base}/messages", headers=carol.headers, json={"kind": "standard", "body": "hi"}),
            client.post(f"{base}/read", headers=carol.headers, json={"seq": 1}),
            client.get(f"{base}/keys", headers=carol.headers),
        ]
        assert [answer.status_code for answer in answers] == [404] * len(answers)
        assert {answer.json["detail"] for answer in answers} == {"no such conversation"}


def test_my_conversations_are_listed_by_last_activity_a_page_at_a_time(client, session, alice, bob, carol,
                                                                        new_person):
    with_bob = start_direct(client, alice, bob).json["id"]
    with_carol = start_direct(client, alice, carol).json["id"]
    with_dave = start_direct(client, alice, new_person()).json["id"]
    client.post(f"{API}/conversations/{with_bob}/messages", headers=bob.headers,
                json={"kind": "standard", "body": "hi"})

    first = client.get(f"{API}/conversations?limit=2", headers=alice.headers).json
    second = client.get(f"{API}/conversations?limit=2&cursor={first['next_cursor']}", headers=alice.headers).json

    assert [c["id"] for c in first["items"] + second["items"]] == [with_bob, with_dave, with_carol]
    assert second["next_cursor"] is None
    assert [c["unread_count"] for c in first["items"]] == [1, 0]
    assert first["items"][0]["last_message_at"] is not None
    assert [c["id"] for c in client.get(f"{API}/conversations", headers=bob.headers).json["items"]] == [with_bob]


def test_a_forged_cursor_is_refused(client, alice):
    response = client.get(f"{API}/conversations?cursor=WyJub3QgYSB0aW1lIiwxXQ", headers=alice.headers)

    assert response.status_code == 422
    assert "cursor" in response.json["errors"]
