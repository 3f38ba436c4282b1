"""The cart: items a buyer means to check out, with the quantity wanted, priced whenever it is looked at.

Refused (and checked again at checkout and payment): buying while banned (403), my own item (403: a rule I
break, not a state that may change), an item whose seller and I block each other either way (403), an item that
is removed or whose seller is banned (404: it is hidden from me), more units than are available (409).
"""
from __future__ import annotations

import collections
import uuid
from typing import Any, Literal

import sqlalchemy as sa
from servicekit.errors import Conflict, Forbidden, NotFound
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from marketplace import read_models
from marketplace.models import CartLine, Item, Order, OrderLine

Refusal = Literal["gone", "own", "blocked"]
REFUSALS: dict[Refusal, str] = {
    "gone": "This item is no longer for sale.",
    "own": "You cannot buy your own item.",
    "blocked": "You cannot buy from this seller.",
}


# --- the rules, shared with checkout and payment -------------------------------------------------------------------

def refuse_banned_buyer(session: Session, buyer_id: uuid.UUID) -> None:
    if read_models.is_banned(session, buyer_id):
        raise Forbidden("a banned account cannot buy")


def refusal(session: Session, buyer_id: uuid.UUID, item: Item | None) -> Refusal | None:
    """Why the buyer may not buy the item at all, whatever the quantity; None when they may."""
    if item is None or item.removed_at is not None or read_models.is_banned(session, item.seller_id):
        return "gone"
    if item.seller_id == buyer_id:
        return "own"
    if read_models.blocked_between(session, buyer_id, item.seller_id):
        return "blocked"
    return None


def refuse_in_cart(session: Session, buyer_id: uuid.UUID, item: Item | None) -> Item:
    """The item, if the buyer may put it in their cart; refused as the module says otherwise."""
    reason = refusal(session, buyer_id, item)
    if reason == "gone":
        raise NotFound("no such item")
    if reason is not None:
        raise Forbidden(REFUSALS[reason])
    return item


def refuse_beyond_stock(item: Item, quantity: int) -> None:
    available = item.quantity - item.reserved
    if quantity > available:
        raise Conflict(f"only {available} of this item can be bought now, not {quantity}",
                       errors={"quantity": [f"At most {available} available."]})


# --- commands -----------------------------------------------------------------------------------------------------

def add_to_cart(session: Session, buyer_id: uuid.UUID, item_id: uuid.UUID, quantity: int) -> dict[str, Any]:
    """Put `quantity` units of an item in my cart (more of it, if it is there already); my cart."""
    refuse_banned_buyer(session, buyer_id)
    item = refuse_in_cart(session, buyer_id, session.get(Item, item_id))
    # One statement, so two additions at once add up instead of one failing on the line's key.
    wanted = session.scalar(
        insert(CartLine).values(buyer_id=buyer_id, item_id=item_id, quantity=quantity)
        .on_conflict_do_update(index_elements=[CartLine.buyer_id, CartLine.item_id],
                               set_={"quantity": CartLine.quantity + quantity})
        .returning(CartLine.quantity))
    refuse_beyond_stock(item, wanted)
    session.commit()
    return view_cart(session, buyer_id)


def change_quantity(session: Session, buyer_id: uuid.UUID, item_id: uuid.UUID, quantity: int) -> dict[str, Any]:
    """Want `quantity` units of an item already in my cart; my cart."""
    refuse_banned_buyer(session, buyer_id)
    line = session.get(CartLine, (buyer_id, item_id), with_for_update=True)
    if line is None:
        raise NotFound("this item is not in your cart")
    item = refuse_in_cart(session, buyer_id, session.get(Item, item_id))
    refuse_beyond_stock(item, quantity)
    line.quantity = quantity
    session.commit()
    return view_cart(session, buyer_id)


def remove_from_cart(session: Session, buyer_id: uuid.UUID, item_id: uuid.UUID) -> None:
    removed = session.execute(sa.delete(CartLine).where(CartLine.buyer_id == buyer_id, CartLine.item_id == item_id))
    if removed.rowcount == 0:
        raise NotFound("this item is not in your cart")
    session.commit()


# --- the view -----------------------------------------------------------------------------------------------------

def view_cart(session: Session, buyer_id: uuid.UUID) -> dict[str, Any]:
    """My cart's lines, oldest first, each priced now with its availability; per currency, what checking out the
    lines that can be bought as they are would cost."""
    pending_order = (sa.select(Order.id).join(OrderLine, OrderLine.order_id == Order.id)
                     .where(Order.buyer_id == buyer_id, Order.status == "pending",
                            OrderLine.item_id == CartLine.item_id).limit(1).scalar_subquery())
    rows = session.execute(
        sa.select(CartLine, Item, read_models.no_block_between(buyer_id, Item.seller_id).label("unblocked"),
                  read_models.not_banned(Item.seller_id).label("seller_in_good_standing"),
                  pending_order.label("pending_order_id"))
        .join(Item, Item.id == CartLine.item_id).where(CartLine.buyer_id == buyer_id)
        .order_by(CartLine.added_at, CartLine.item_id))
    lines = [_line_view(row) for row in rows]
    totals: dict[str, dict[str, Any]] = collections.defaultdict(lambda: {"total_minor": 0, "units": 0})
    for line in lines:
        if line["availability"] == "available":
            totals[line["currency"]]["total_minor"] += line["line_total_minor"]
            totals[line["currency"]]["units"] += line["quantity"]
    return {"lines": lines, "totals": [{"currency": currency, **total} for currency, total in sorted(totals.items())]}


def _line_view(row: sa.Row) -> dict[str, Any]:
    line, item = row.CartLine, row.Item
    buyable = (item.removed_at is None and row.seller_in_good_standing and row.unblocked
               and item.seller_id != line.buyer_id)
    available = item.quantity - item.reserved if buyable else 0
    if row.pending_order_id is not None:
        availability = "in_order"
    elif available == 0:
        availability = "unavailable"
    elif available < line.quantity:
        availability = "insufficient"
    else:
        availability = "available"
    return {"item_id": item.id, "seller_id": item.seller_id, "title": item.title,
            "unit_price_minor": item.price_minor, "currency": item.currency, "quantity": line.quantity,
            "line_total_minor": item.price_minor * line.quantity, "available_quantity": available,
            "availability": availability, "pending_order_id": row.pending_order_id, "added_at": line.added_at}
