"""Social's consumers, through the real worker and broker: read models and notifications, once per event."""
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from servicekit.events import Event, record
from servicekit.tables import inbox, outbox
from servicekit.testing import wait_until

from social.models import Block, KnownItem, KnownMessage, Notification, Profile

BUS_TIMEOUT = 30  # seconds an event may take through the relay, the broker and the consumer on a busy machine


@pytest.fixture
def worker(app, handlers, connected_worker):
    """social's worker, on an empty queue, once connected."""
    connected_worker(app, handlers)


def deliver(database, event_type, payload) -> Event:
    """Put an event on the bus as its producer would (through social's outbox: the worker relays it)."""
    event = Event.new(event_type, payload)
    with database.session() as session:
        record(session, event)
        session.commit()
    return event


def handled(database, event: Event) -> bool:
    with database.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(inbox).where(inbox.c.event_id == event.id)) == 1


def redeliver(database, event: Event) -> None:
    """The relay publishes the same event a second time (as after a lost publisher confirm)."""
    with database.session() as session:
        session.execute(outbox.update().where(outbox.c.event_id == event.id).values(published_at=None))
        session.commit()


def notifications_from(database, event: Event) -> list[tuple]:
    with database.session() as session:
        return sorted(session.execute(sa.select(Notification.user_id, Notification.kind, Notification.actor_id)
                                      .where(Notification.source_id == event.id)).all(), key=str)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def test_a_registered_user_gets_one_profile_however_often_the_event_comes(worker, database):
    user_id = uuid.uuid4()
    event = deliver(database, "auth.user.registered",
                    {"user_id": str(user_id), "username": f"new_{user_id.hex[:8]}", "created_at": now()})
    wait_until(lambda: handled(database, event), BUS_TIMEOUT, message="the registration to be handled")
    redeliver(database, event)
    marker = deliver(database, "auth.user.registered",
                     {"user_id": str(uuid.uuid4()), "username": f"m_{uuid.uuid4().hex[:8]}", "created_at": now()})
    wait_until(lambda: handled(database, marker), BUS_TIMEOUT, message="the event after the redelivered one")

    with database.session() as session:
        profile = session.get(Profile, user_id)
        assert (profile.username, profile.verified, profile.banned) == (f"new_{user_id.hex[:8]}", False, False)


def test_verification_and_bans_reach_the_profile(worker, database, new_member):
    member = new_member()
    request_id = uuid.uuid4()
    verified = deliver(database, "auth.user.verified",
                       {"user_id": str(member.user_id), "request_id": str(request_id), "decided_at": now()})
    banned = deliver(database, "auth.user.banned", {"user_id": str(member.user_id), "reason": "spam",
                                                     "banned_at": now(), "actor_id": None})
    wait_until(lambda: handled(database, verified) and handled(database, banned), BUS_TIMEOUT)

    with database.session() as session:
        profile = session.get(Profile, member.user_id)
        assert (profile.verified, profile.banned) == (True, True)
    assert notifications_from(database, verified) == [(member.user_id, "verification.approved", None)]

    unbanned = deliver(database, "auth.user.unbanned", {"user_id": str(member.user_id), "unbanned_at": now(),
                                                         "actor_id": None})
    wait_until(lambda: handled(database, unbanned), BUS_TIMEOUT)
    with database.session() as session:
        assert session.get(Profile, member.user_id).banned is False


def test_a_rejected_verification_tells_the_user_why(worker, database, new_member):
    member = new_member()
    event = deliver(database, "auth.user.verification_rejected",
                    {"user_id": str(member.user_id), "request_id": str(uuid.uuid4()), "decided_at": now(),
                     "notes": "the photo is unreadable"})
    wait_until(lambda: handled(database, event), BUS_TIMEOUT)
    with database.session() as session:
        notification = session.scalars(sa.select(Notification).where(Notification.source_id == event.id)).one()
    assert (notification.kind, notification.data) == ("verification.rejected", {"notes": "the photo is unreadable"})


def test_a_message_notifies_each_recipient_once_even_when_redelivered(worker, database, new_member):
    sender, first, second, blocking = (new_member() for _ in range(4))
    with database.session() as session:
        session.add(Block(blocker_id=blocking.user_id, blocked_id=sender.user_id))
        session.commit()
    message_id, conversation_id = uuid.uuid4(), uuid.uuid4()
    event = deliver(database, "messaging.message.created", {
        "message_id": str(message_id), "conversation_id": str(conversation_id), "sender_id": str(sender.user_id),
        "recipient_ids": [str(first.user_id), str(second.user_id), str(blocking.user_id)],
        "created_at": now(), "kind": "standard"})
    wait_until(lambda: handled(database, event), BUS_TIMEOUT, message="the message event to be handled")
    redeliver(database, event)
    marker = deliver(database, "auth.user.registered",
                     {"user_id": str(uuid.uuid4()), "username": f"m_{uuid.uuid4().hex[:8]}", "created_at": now()})
    wait_until(lambda: handled(database, marker), BUS_TIMEOUT, message="the event after the redelivered one")

    assert notifications_from(database, event) == sorted(
        [(first.user_id, "message.received", sender.user_id), (second.user_id, "message.received", sender.user_id)],
        key=str)
    with database.session() as session:
        known = session.get(KnownMessage, message_id)
        notification = session.scalars(sa.select(Notification).where(Notification.user_id == first.user_id)).one()
    assert (known.sender_id, known.conversation_id) == (sender.user_id, conversation_id)
    assert (notification.subject_type, notification.subject_id) == ("conversation", conversation_id)
    assert notification.data == {"message_id": str(message_id), "count": 1}


def test_marketplace_events_notify_sellers_and_buyers(worker, database, new_member):
    seller, buyer = new_member(), new_member()
    item_id, order_id = uuid.uuid4(), uuid.uuid4()
    listed = deliver(database, "marketplace.item.listed", {"item_id": str(item_id), "seller_id": str(seller.user_id),
                                                           "title": "A bicycle", "listed_at": now()})
    order = {"order_id": str(order_id), "buyer_id": str(buyer.user_id), "seller_ids": [str(seller.user_id)]}
    placed = deliver(database, "marketplace.order.placed", order)
    paid = deliver(database, "marketplace.order.paid", order)
    sold = deliver(database, "marketplace.item.sold", {"item_id": str(item_id), "seller_id": str(seller.user_id),
                                                       "buyer_id": str(buyer.user_id), "order_id": str(order_id)})
    wait_until(lambda: all(handled(database, e) for e in (listed, placed, paid, sold)), BUS_TIMEOUT)

    assert notifications_from(database, placed) == [(seller.user_id, "order.placed", buyer.user_id)]
    assert notifications_from(database, paid) == [(buyer.user_id, "order.paid", None)]
    assert notifications_from(database, sold) == [(seller.user_id, "item.sold", buyer.user_id)]
    with database.session() as session:
        assert session.get(KnownItem, item_id).seller_id == seller.user_id
