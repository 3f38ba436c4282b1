"""The marketplace's events: moderation removes items; consumed events cross the real bus; the declared
contract of marketplace.order.cancelled."""
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from servicekit.events import Event, publish, record
from servicekit.events.contracts import InvalidPayload
from servicekit.tables import inbox
from servicekit.testing import wait_until

from marketplace.models import Block, Item, Order, OrderLine

API = "/api/marketplace"
BUS_TIMEOUT = 30  # seconds an event may take through the relay, the broker and the consumer on a busy machine


def moderation(action: str, target_type: str, target_id) -> dict:
    return {"action": action, "target_type": target_type, "target_id": str(target_id), "reason": None,
            "notes": "seen", "actor_id": str(uuid.uuid4()), "duration": None, "report_id": str(uuid.uuid4()),
            "taken_at": dt.datetime.now(dt.UTC).isoformat()}


def stored(session, item_id) -> Item:
    session.expire_all()
    return session.get(Item, uuid.UUID(item_id))


def test_moderation_removes_a_reported_item_from_its_page_and_search(client, session, deliver, seller, listed_item):
    item = listed_item(seller, title="Fake watch")
    deliver("social.moderation.action_taken", moderation("remove_content", "item", item["id"]))

    removed = stored(session, item["id"])
    assert (removed.status, removed.removed_at is not None) == ("removed", True)
    assert client.get(f"{API}/items/{item['id']}").status_code == 404
    assert client.get(f"{API}/items", query_string={"seller": str(seller.user_id)}).json["items"] == []
    mine = client.get(f"{API}/items/mine", headers=seller.headers).json["items"]
    assert [(i["id"], i["status"]) for i in mine] == [(item["id"], "removed")]


def test_a_removed_item_stays_in_completed_orders_and_pending_ones_are_left_alone(
        session, deliver, seller, new_user, listed_item, pending_order, close_order):
    item = listed_item(seller, quantity=3)
    buyer = new_user(verified=True)
    paid = pending_order(item, buyer.user_id)
    close_order(paid, "paid")
    pending = pending_order(item, buyer.user_id)

    deliver("social.moderation.action_taken", moderation("remove_content", "item", item["id"]))

    session.expire_all()
    assert session.get(Order, pending).status == "pending"
    assert session.get(Order, paid).status == "paid"
    lines = session.scalars(sa.select(OrderLine.order_id).where(OrderLine.item_id == uuid.UUID(item["id"]))).all()
    assert sorted(lines) == sorted([paid, pending])
    held = stored(session, item["id"])
    assert (held.status, held.quantity, held.reserved) == ("removed", 2, 1)
    # released later (cancelled or expired), it stays removed
    close_order(pending, "expired")
    assert stored(session, item["id"]).status == "removed"


def test_a_repeated_removal_keeps_the_first_time(session, deliver, seller, listed_item):
    item = listed_item(seller)
    deliver("social.moderation.action_taken", moderation("remove_content", "item", item["id"]))
    first = stored(session, item["id"]).removed_at
    deliver("social.moderation.action_taken", moderation("remove_content", "item", item["id"]))
    assert stored(session, item["id"]).removed_at == first


@pytest.mark.parametrize("action, target_type", [("remove_content", "message"), ("remove_content", "user"),
                                                 ("warn", "item"), ("dismiss", "item")])
def test_other_moderation_actions_leave_the_item_alone(session, deliver, seller, listed_item, action, target_type):
    item = listed_item(seller)
    deliver("social.moderation.action_taken", moderation(action, target_type, item["id"]))
    assert stored(session, item["id"]).status == "available"


def test_removing_an_item_the_marketplace_does_not_have_changes_nothing(session, deliver):
    removed = sa.select(sa.func.count()).select_from(Item).where(Item.removed_at.is_not(None))
    before = session.scalar(removed)
    deliver("social.moderation.action_taken", moderation("remove_content", "item", uuid.uuid4()))
    session.expire_all()
    assert session.scalar(removed) == before


def test_events_cross_the_real_bus_into_the_read_models(app, handlers, database, connected_worker):
    connected_worker(app, handlers)
    blocker, blocked = uuid.uuid4(), uuid.uuid4()
    event = Event.new("social.block.created", {"blocker_id": str(blocker), "blocked_id": str(blocked),
                                               "created_at": dt.datetime.now(dt.UTC).isoformat()})
    with database.transaction() as session:  # stands in for social: the event crosses RabbitMQ
        record(session, event)

    def handled() -> bool:
        with database.session() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(inbox)
                                  .where(inbox.c.event_id == event.id)) == 1
    wait_until(handled, timeout=BUS_TIMEOUT, message="the block to be handled by the marketplace's worker")

    with database.session() as session:
        assert session.get(Block, (blocker, blocked)) is not None


def test_an_order_closed_unpaid_is_announced_with_why(session):
    cancelled = {"order_id": uuid.uuid4(), "buyer_id": uuid.uuid4(), "seller_ids": [uuid.uuid4()],
                 "total_minor": 4500, "currency": "EUR", "reason": "expired", "closed_at": dt.datetime.now(dt.UTC)}
    assert publish(session, "marketplace.order.cancelled", cancelled).version == 1
    with pytest.raises(InvalidPayload):
        publish(session, "marketplace.order.cancelled", {**cancelled, "reason": "refunded"})
    with pytest.raises(InvalidPayload):
        publish(session, "marketplace.order.cancelled", {**cancelled, "shipping_address": {"street": "1 Main"}})
    session.rollback()


def test_the_asyncapi_document_lists_what_the_marketplace_publishes_and_consumes(client):
    operations = client.get(f"{API}/asyncapi.json").json["operations"]
    for event_type in ("marketplace.item.listed", "marketplace.order.placed", "marketplace.order.paid",
                       "marketplace.order.cancelled", "marketplace.item.sold"):
        assert operations[f"send.{event_type}"]["action"] == "send"
    for event_type in ("auth.user.registered", "auth.user.verified", "auth.user.banned", "auth.user.unbanned",
                       "social.block.created", "social.block.removed", "social.moderation.action_taken"):
        assert operations[f"receive.{event_type}"]["action"] == "receive"
