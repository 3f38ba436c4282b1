"""Orders after checkout: the buyer's views and list, cancelling, and releasing reservations that expired.

A `pending` order holds its lines' quantities (items.reserved) until `reserved_until`. Paying it
(checkout.pay_order) sells them; cancelling it (the buyer) or letting it expire (the worker, every
EXPIRY_INTERVAL_SECONDS) releases them and announces `marketplace.order.cancelled` with the reason.

Locks, always in this order so no two commands wait on each other in a circle: the order row(s), then the items in
id order. Paying holds its order's row for the whole charge; the expiry task skips a locked order (SKIP LOCKED),
so a reservation is never released under a payment in flight, and an order the task is releasing makes a payment
wait and then find it expired.
"""
from __future__ import annotations

import collections
import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any, Literal

import sqlalchemy as sa
from servicekit.db import Database
from servicekit.errors import Conflict, NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from servicekit.worker import PeriodicTask
from sqlalchemy.orm import Session

from marketplace.config import Config
from marketplace.items import refresh_status
from marketplace.models import Item, Order, OrderLine, Payment

ORDER_ORDER = (Order.placed_at, Order.id)
EXPIRY_BATCH = 100


# --- stock --------------------------------------------------------------------------------------------------------

def locked_items(session: Session, item_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Item]:
    """The items, locked FOR UPDATE in id order (the one order every command locks items in), fresh from the
    database."""
    query = (sa.select(Item).where(Item.id.in_(sorted(set(item_ids)))).order_by(Item.id).with_for_update()
             .execution_options(populate_existing=True))
    return {item.id: item for item in session.scalars(query)}


# --- views --------------------------------------------------------------------------------------------------------

def order_views(session: Session, orders: list[Order]) -> list[dict[str, Any]]:
    """Each order with its lines and its payment attempts (oldest first)."""
    ids = [order.id for order in orders]
    lines: dict[uuid.UUID, list[dict]] = collections.defaultdict(list)
    for line in session.scalars(sa.select(OrderLine).where(OrderLine.order_id.in_(ids))
                                .order_by(OrderLine.order_id, OrderLine.title, OrderLine.item_id)):
        lines[line.order_id].append(line_view(line))
    payments: dict[uuid.UUID, list[Payment]] = collections.defaultdict(list)
    for payment in session.scalars(sa.select(Payment).where(Payment.order_id.in_(ids))
                                   .order_by(Payment.created_at, Payment.id)):
        payments[payment.order_id].append(payment)
    return [{"id": order.id, "buyer_id": order.buyer_id, "status": order.status, "total_minor": order.total_minor,
             "currency": order.currency, "lines": lines[order.id], "shipping_address": order.shipping_address,
             "reserved_until": order.reserved_until, "failure_reason": order.failure_reason,
             "payments": payments[order.id], "placed_at": order.placed_at, "paid_at": order.paid_at,
             "closed_at": order.closed_at} for order in orders]


def line_view(line: OrderLine) -> dict[str, Any]:
    return {"item_id": line.item_id, "seller_id": line.seller_id, "title": line.title,
            "unit_price_minor": line.unit_price_minor, "currency": line.currency, "quantity": line.quantity,
            "line_total_minor": line.unit_price_minor * line.quantity}


def list_orders(session: Session, buyer_id: uuid.UUID, *, limit: int, cursor: list | None) -> dict[str, Any]:
    """My orders as a buyer, newest first, with their lines, payments and statuses."""
    page = keyset_page(session, sa.select(Order).where(Order.buyer_id == buyer_id), keys=ORDER_ORDER,
                       descending=True, limit=limit, cursor=cursor)
    return {**page, "items": order_views(session, page["items"])}


def buyer_order(session: Session, buyer_id: uuid.UUID, order_id: uuid.UUID) -> dict[str, Any]:
    """One of my orders; anyone else's is `NotFound` (whether it exists is not theirs to know)."""
    order = session.get(Order, order_id)
    if order is None or order.buyer_id != buyer_id:
        raise NotFound("no such order")
    return order_views(session, [order])[0]


def locked_buyer_order(session: Session, buyer_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    """One of my orders, its row locked FOR UPDATE (fresh); anyone else's is `NotFound`."""
    order = session.get(Order, order_id, with_for_update=True, populate_existing=True)
    if order is None or order.buyer_id != buyer_id:
        raise NotFound("no such order")
    return order


def order_event(order: Order, lines: list[OrderLine]) -> dict[str, Any]:
    """What every marketplace.order.* event says of an order: ids, amount and parties (never the address)."""
    return {"order_id": order.id, "buyer_id": order.buyer_id,
            "seller_ids": sorted({line.seller_id for line in lines}, key=str),
            "total_minor": order.total_minor, "currency": order.currency}


# --- cancelling and expiry ----------------------------------------------------------------------------------------

def cancel_order(session: Session, buyer_id: uuid.UUID, order_id: uuid.UUID) -> dict[str, Any]:
    """The buyer gives up a pending order: its reservation is released at once."""
    order = locked_buyer_order(session, buyer_id, order_id)
    if order.status != "pending":
        raise Conflict(f"the order is {order.status}: only a pending order can be cancelled")
    release_orders(session, [order], reason="cancelled", now=dt.datetime.now(dt.UTC))
    session.commit()
    return order_views(session, [order])[0]


def release_orders(session: Session, orders: list[Order], *, reason: Literal["cancelled", "expired"],
                   now: dt.datetime) -> None:
    """Close pending orders (their rows locked by the caller): give their reserved units back to their items and
    announce each. Does not commit."""
    lines: dict[uuid.UUID, list[OrderLine]] = collections.defaultdict(list)
    for line in session.scalars(sa.select(OrderLine).where(OrderLine.order_id.in_([o.id for o in orders]))):
        lines[line.order_id].append(line)
    items = locked_items(session, [line.item_id for order_lines in lines.values() for line in order_lines])
    for order in orders:
        for line in lines[order.id]:
            item = items[line.item_id]
            item.reserved -= line.quantity
            refresh_status(item)
        order.status, order.closed_at = reason, now
        publish(session, "marketplace.order.cancelled",
                {**order_event(order, lines[order.id]), "reason": reason, "closed_at": now})


def expire_reservations(database: Database, *, now: dt.datetime | None = None,
                        batch_size: int = EXPIRY_BATCH) -> int:
    """Release every pending order past its `reserved_until`; how many. Each batch is a short transaction of its
    own, and an order locked right now (a payment in flight) is skipped: its payment decides, or the next run."""
    now = now or dt.datetime.now(dt.UTC)
    expired = 0
    while True:
        with database.transaction() as session:
            orders = list(session.scalars(
                sa.select(Order).where(Order.status == "pending", Order.reserved_until <= now)
                .order_by(Order.reserved_until, Order.id).limit(batch_size).with_for_update(skip_locked=True)))
            if not orders:
                return expired
            release_orders(session, orders, reason="expired", now=now)
            expired += len(orders)


def expiry_task(settings: Config) -> PeriodicTask:
    """The worker's task that runs `expire_reservations` every EXPIRY_INTERVAL_SECONDS."""
    def expire(context) -> None:
        expire_reservations(context.db)
    return PeriodicTask("expire reservations", settings.expiry_interval_seconds, expire)
