import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from servicekit.tables import outbox

from social.models import Block, Notification
from social.notifications import notify


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
