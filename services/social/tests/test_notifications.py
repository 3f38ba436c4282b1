import datetime as dt
import threading
import uuid

import pytest
import sqlalchemy as sa
from servicekit.events import Event
from servicekit.tables import outbox
from servicekit.testing import wait_until

from social.events import handlers
from social.models import Block, Notification
from social.notifications import mark_read, notify


@pytest.fixture
def alice(new_member):
    return new_member()


@pytest.fixture
def bob(new_member):
    return new_member()


def notifications_of(client, member, **query):
    response = client.get("/api/social/notifications", headers=member.headers, query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def unread(client, member):
    response = client.get("/api/social/notifications/unread-count", headers=member.headers)
    assert response.status_code == 200, response.json
    return response.json["unread"]


def add(session, member, kind="message.received", *, actor=None, created_at=None):
    source_id = uuid.uuid4()
    assert notify(session, member.user_id, kind, source_id=source_id, actor_id=actor.user_id if actor else None,
                  subject_type="conversation", subject_id=uuid.uuid4())
    if created_at is not None:
        session.execute(sa.update(Notification).where(Notification.source_id == source_id)
                        .values(created_at=created_at))
    session.commit()
    return session.scalars(sa.select(Notification.id).where(Notification.source_id == source_id)).one()


def test_a_notification_names_its_actor_and_subject(client, session, alice, bob):
    add(session, alice, actor=bob)

    [item] = notifications_of(client, alice)["items"]

    assert item["kind"] == "message.received"
    assert item["actor"] == {"user_id": str(bob.user_id), "username": bob.username, "display_name": None}
    assert item["subject_type"] == "conversation"
    assert item["read_at"] is None


def test_the_same_cause_notifies_once(session, alice, bob):
    source_id = uuid.uuid4()
    first = notify(session, alice.user_id, "message.received", source_id=source_id, actor_id=bob.user_id)
    again = notify(session, alice.user_id, "message.received", source_id=source_id, actor_id=bob.user_id)
    session.commit()

    assert (first, again) == (True, False)
    assert session.scalar(sa.select(sa.func.count()).where(Notification.source_id == source_id)) == 1


@pytest.mark.parametrize("who_blocks", ["recipient", "actor"])
def test_nothing_is_notified_from_a_blocked_user(session, alice, bob, who_blocks):
    blocker, blocked = (alice, bob) if who_blocks == "recipient" else (bob, alice)
    session.add(Block(blocker_id=blocker.user_id, blocked_id=blocked.user_id))
    session.commit()

    assert notify(session, alice.user_id, "message.received", source_id=uuid.uuid4(), actor_id=bob.user_id) is False


def test_my_own_acts_do_not_notify_me(session, alice):
    assert notify(session, alice.user_id, "message.received", source_id=uuid.uuid4(), actor_id=alice.user_id) is False


def test_unread_come_first_then_the_newest(client, session, alice):
    now = dt.datetime.now(dt.UTC)
    oldest = add(session, alice, created_at=now - dt.timedelta(hours=3))
    read_one = add(session, alice, created_at=now - dt.timedelta(hours=1))
    newest = add(session, alice, created_at=now - dt.timedelta(minutes=1))
    client.post(f"/api/social/notifications/{read_one}/read", headers=alice.headers)

    items = notifications_of(client, alice)["items"]

    assert [item["id"] for item in items] == [str(newest), str(oldest), str(read_one)]
    assert [item["id"] for item in notifications_of(client, alice, unread="true")["items"]] == [str(newest),
                                                                                                  str(oldest)]


def test_notifications_come_a_page_at_a_time(client, session, alice):
    ids = {str(add(session, alice)) for _ in range(5)}
    seen, cursor = [], None
    while True:
        page = notifications_of(client, alice, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [item["id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5


def test_the_unread_count_follows_reading(client, session, alice):
    first = add(session, alice)
    add(session, alice)
    assert unread(client, alice) == 2

    marked = client.post(f"/api/social/notifications/{first}/read", headers=alice.headers)

    assert marked.status_code == 200
    assert marked.json["read_at"] is not None
    assert unread(client, alice) == 1
    assert client.post(f"/api/social/notifications/{first}/read", headers=alice.headers).status_code == 200
    assert unread(client, alice) == 1


def test_marking_all_read(client, session, alice):
    for _ in range(3):
        add(session, alice)

    response = client.post("/api/social/notifications/read", headers=alice.headers, json={})

    assert (response.status_code, response.json) == (200, {"marked": 3})
    assert unread(client, alice) == 0


def test_marking_all_read_up_to_what_the_client_showed(client, session, alice):
    now = dt.datetime.now(dt.UTC)
    add(session, alice, created_at=now - dt.timedelta(minutes=5))
    add(session, alice, created_at=now + dt.timedelta(minutes=5))  # arrived after the client's list

    response = client.post("/api/social/notifications/read", headers=alice.headers, json={"up_to": now.isoformat()})

    assert response.json == {"marked": 1}
    assert unread(client, alice) == 1


def test_someone_elses_notification_is_404(client, session, alice, bob):
    theirs = add(session, bob)
    assert client.post(f"/api/social/notifications/{theirs}/read", headers=alice.headers).status_code == 404
    assert unread(client, bob) == 1
    assert notifications_of(client, alice)["items"] == []


def test_notifications_need_a_signed_in_user(client):
    assert client.get("/api/social/notifications").status_code == 401
    assert client.get("/api/social/notifications/unread-count").status_code == 401


def test_the_unread_count_is_an_index_only_count(database, alice):
    """The hottest read: one count over the partial index of unread rows, no join."""
    with database.session() as session:
        session.execute(sa.text(
            "INSERT INTO notifications (id, user_id, kind, source_id, read_at) "
            "SELECT gen_random_uuid(), gen_random_uuid(), 'message.received', gen_random_uuid(), "
            "       CASE WHEN n % 10 = 0 THEN NULL ELSE now() END FROM generate_series(1, 20000) AS n"))
        session.commit()
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE notifications"))
        plan = "\n".join(connection.execute(sa.text(
            "EXPLAIN SELECT count(*) FROM notifications WHERE user_id = :id AND read_at IS NULL"),
            {"id": alice.user_id}).scalars())
    assert "Index Only Scan using ix_notifications_unread" in plan, plan
    assert "Join" not in plan


def announced_counts(session, member) -> list[int]:
    """The unread counts social.notifications.changed announced for `member`, in order."""
    rows = session.execute(sa.select(outbox.c.envelope).where(outbox.c.event_type == "social.notifications.changed")
                           .order_by(outbox.c.seq)).scalars()
    return [e["payload"]["unread"] for e in rows if e["payload"]["user_id"] == str(member.user_id)]


def test_every_change_of_the_unread_count_is_announced_with_the_new_count(client, session, alice, bob):
    first = add(session, alice, actor=bob)
    add(session, alice, actor=bob)
    client.post(f"/api/social/notifications/{first}/read", headers=alice.headers)
    client.post(f"/api/social/notifications/{first}/read", headers=alice.headers)  # already read: no change
    client.post("/api/social/notifications/read", headers=alice.headers, json={})

    assert announced_counts(session, alice) == [1, 2, 1, 0]


def test_a_notification_not_created_announces_nothing(session, alice, bob):
    source_id = uuid.uuid4()
    notify(session, alice.user_id, "message.received", source_id=source_id, actor_id=bob.user_id)
    notify(session, alice.user_id, "message.received", source_id=source_id, actor_id=bob.user_id)
    session.commit()

    assert announced_counts(session, alice) == [1]


# --- a conversation's messages: one unread notification that gathers them ------------------------------------------

@pytest.fixture
def carol(new_member):
    return new_member()


def message_received(session, recipient, sender, conversation_id, *, event_id=None, message_id=None) -> bool:
    """Notify `recipient` of a message `sender` sent in the conversation (as messaging.message.created does)."""
    return notify(session, recipient.user_id, "message.received", source_id=event_id or uuid.uuid4(),
                  actor_id=sender.user_id, subject_type="conversation", subject_id=conversation_id,
                  data={"message_id": str(message_id or uuid.uuid4())})


def test_the_messages_of_a_conversation_gather_in_one_unread_notification(client, session, alice, bob):
    conversation_id, last_message = uuid.uuid4(), uuid.uuid4()
    created = [message_received(session, alice, bob, conversation_id) for _ in range(2)]
    created.append(message_received(session, alice, bob, conversation_id, message_id=last_message))
    session.commit()

    [item] = notifications_of(client, alice)["items"]

    assert created == [True, False, False]
    assert (item["kind"], item["subject_id"], item["actor"]["user_id"]) == \
        ("message.received", str(conversation_id), str(bob.user_id))
    assert item["data"] == {"message_id": str(last_message), "count": 3}
    assert unread(client, alice) == 1
    assert announced_counts(session, alice) == [1]  # a bump changes no count and announces nothing


def test_a_gathering_notification_names_the_latest_sender_and_moves_to_the_top(client, session, alice, bob, carol):
    group, other = uuid.uuid4(), uuid.uuid4()
    message_received(session, alice, bob, group)
    session.execute(sa.update(Notification).where(Notification.user_id == alice.user_id)
                    .values(created_at=sa.func.now() - dt.timedelta(hours=1)))
    session.commit()
    message_received(session, alice, bob, other)
    session.commit()

    message_received(session, alice, carol, group)
    session.commit()

    items = notifications_of(client, alice)["items"]
    assert [(item["subject_id"], item["actor"]["user_id"], item["data"]["count"]) for item in items] == [
        (str(group), str(carol.user_id), 2), (str(other), str(bob.user_id), 1)]
    assert dt.datetime.fromisoformat(items[0]["created_at"]) > dt.datetime.fromisoformat(items[1]["created_at"])


def test_once_read_the_next_message_makes_a_new_notification(client, session, alice, bob):
    conversation_id = uuid.uuid4()
    message_received(session, alice, bob, conversation_id)
    message_received(session, alice, bob, conversation_id)
    session.commit()
    [read] = notifications_of(client, alice)["items"]
    client.post(f"/api/social/notifications/{read['id']}/read", headers=alice.headers)

    assert message_received(session, alice, bob, conversation_id) is True
    session.commit()

    items = notifications_of(client, alice)["items"]
    assert [(item["read_at"] is None, item["data"]["count"]) for item in items] == [(True, 1), (False, 2)]
    assert items[1]["id"] == read["id"]
    assert unread(client, alice) == 1
    assert announced_counts(session, alice) == [1, 0, 1]


def test_an_event_gathered_already_is_not_counted_again(session, alice, bob):
    conversation_id, first, last = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    message_received(session, alice, bob, conversation_id, event_id=first)
    message_received(session, alice, bob, conversation_id, event_id=last)
    session.commit()

    again = message_received(session, alice, bob, conversation_id, event_id=last)
    session.commit()
    mark_read(session, alice.user_id, session.scalars(sa.select(Notification.id).where(
        Notification.user_id == alice.user_id)).one())
    after_reading = message_received(session, alice, bob, conversation_id, event_id=last)
    session.commit()

    assert (again, after_reading) == (False, False)
    [notification] = session.scalars(sa.select(Notification).where(Notification.user_id == alice.user_id)).all()
    assert (notification.source_id, notification.data["count"], notification.read_at is not None) == (last, 2, True)


def test_a_message_from_a_blocked_member_of_a_group_bumps_nothing(client, session, alice, bob, carol):
    group = uuid.uuid4()
    message_received(session, alice, bob, group)
    session.add(Block(blocker_id=alice.user_id, blocked_id=carol.user_id))
    session.commit()

    assert message_received(session, alice, carol, group) is False
    session.commit()

    [item] = notifications_of(client, alice)["items"]
    assert (item["actor"]["user_id"], item["data"]["count"]) == (str(bob.user_id), 1)


def test_marking_all_read_up_to_what_the_client_showed_leaves_a_later_message_unread(client, session, alice, bob):
    conversation_id = uuid.uuid4()
    message_received(session, alice, bob, conversation_id)
    session.execute(sa.update(Notification).where(Notification.user_id == alice.user_id)
                    .values(created_at=sa.func.now() - dt.timedelta(minutes=5)))
    session.commit()
    shown_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    message_received(session, alice, bob, conversation_id)  # after the client showed the list
    session.commit()

    response = client.post("/api/social/notifications/read", headers=alice.headers,
                           json={"up_to": shown_at.isoformat()})

    assert response.json == {"marked": 0}
    assert unread(client, alice) == 1


def test_every_message_event_bumps_each_recipients_notification_of_the_conversation(client, session, alice, bob,
                                                                                    carol):
    group = uuid.uuid4()
    for sender, recipients in ((alice, (bob, carol)), (bob, (alice, carol))):
        handlers.get("messaging.message.created")(session, Event.new("messaging.message.created", {
            "message_id": str(uuid.uuid4()), "conversation_id": str(group), "sender_id": str(sender.user_id),
            "recipient_ids": [str(recipient.user_id) for recipient in recipients],
            "created_at": dt.datetime.now(dt.UTC).isoformat()}))
        session.commit()

    def gathered(member):
        return [(item["actor"]["user_id"], item["data"]["count"]) for item in notifications_of(client, member)["items"]]

    assert gathered(carol) == [(str(bob.user_id), 2)]
    assert gathered(bob) == [(str(alice.user_id), 1)]
    assert gathered(alice) == [(str(bob.user_id), 1)]
    assert [unread(client, member) for member in (alice, bob, carol)] == [1, 1, 1]


def test_the_first_messages_of_a_conversation_notified_at_once_make_one_notification(database, session, alice, bob):
    """Two workers' transactions both find no unread notification; the unique index makes the second bump it."""
    conversation_id = uuid.uuid4()
    outcome = {}

    def second_worker():
        with database.session() as others:
            outcome["created"] = message_received(others, alice, bob, conversation_id)
            others.commit()

    with database.session() as first:
        assert message_received(first, alice, bob, conversation_id) is True
        worker = threading.Thread(target=second_worker)
        worker.start()
        wait_until(lambda: waiting_for_a_lock(database), message="the second notification to wait for the first")
        first.commit()
    worker.join(timeout=10)

    assert outcome == {"created": False}
    [notification] = session.scalars(sa.select(Notification).where(Notification.user_id == alice.user_id)).all()
    assert notification.data["count"] == 2


def waiting_for_a_lock(database) -> bool:
    with database.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(sa.text("pg_stat_activity")).where(
            sa.text("datname = current_database() AND wait_event_type = 'Lock'"))) > 0
