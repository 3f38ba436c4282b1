"""Checkout and payment: turning a cart into a pending order that holds its units, then paying it.

Checkout takes the cart's lines in one currency (the cart's only one, or the one the buyer names) and, in one
transaction, locks their items (FOR UPDATE, in id order), checks every rule again, creates a `pending` order whose
lines are priced now, and reserves the units until now + RESERVATION_SECONDS. Two buyers racing for the last unit
queue on the item's row lock: the second sees it reserved and gets a 409. Checkout leaves the cart as it is (its
lines show `in_order`); a successful payment removes the lines of the items it bought. A line whose item is in one
of my pending orders already is left out of the next checkout (never reserved twice) until that order is paid,
cancelled or expired.

Payment validates the card before anything (422), then holds the order's row lock through the charge, so the
expiry task cannot release the reservation while a payment is in flight. Success sells the units (quantity and
reserved both drop), marks the order paid and announces it; a declined card, insufficient funds, a provider
timeout or error leave the order pending with the reason (402), and it may be paid again until it expires. Both
outcomes are kept as a payment (brand and last four digits only) and as the idempotency key's answer.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from servicekit.errors import Conflict, DomainError, Forbidden, Invalid
from servicekit.events import publish
from sqlalchemy.orm import Session

from marketplace import idempotency
from marketplace.schemas import OrderSchema
from marketplace.cart import REFUSALS, refusal, refuse_banned_buyer
from marketplace.idempotency import Answer
from marketplace.models import CartLine, Item, Order, OrderLine, Payment
from marketplace.items import refresh_status
from marketplace.orders import locked_buyer_order, locked_items, order_event, order_views, release_orders
from marketplace.payments import Card, Charge, PaymentError, PaymentProvider, PaymentTimeout, validated_card


class PaymentFailed(DomainError):
    status, code, title = 402, "payment-failed", "Payment failed"


# --- checkout -----------------------------------------------------------------------------------------------------

def check_out(session: Session, buyer_id: uuid.UUID, *, shipping_address: dict[str, Any], currency: str | None,
              reservation_seconds: int, idempotency_key: str) -> Answer:
    """Place a pending order for my cart's lines in one currency, reserving their units; 201 with the order."""
    request = idempotency.Request.of(buyer_id, "checkout", idempotency_key,
                                     {"shipping_address": shipping_address, "currency": currency})
    earlier = idempotency.first_answer(session, request)
    if earlier is not None:
        return idempotency.replayed(earlier)
    refuse_banned_buyer(session, buyer_id)
    wanted = {line.item_id: line.quantity
              for line in session.scalars(sa.select(CartLine).where(CartLine.buyer_id == buyer_id))}
    if not wanted:
        raise Conflict("your cart is empty")
    # Locked before looking for my pending orders: a checkout of the same cart at the same time waits here, then
    # sees the order this one places.
    items = locked_items(session, wanted)
    held = _held_by_my_pending_orders(session, buyer_id, items)
    items = {item_id: item for item_id, item in items.items() if item_id not in held}
    if not items:
        raise Conflict("everything in your cart is in a pending order of yours already: pay or cancel it")
    currency = _checkout_currency(items.values(), currency)
    items = {item_id: item for item_id, item in items.items() if item.currency == currency}
    _refuse_unbuyable(session, buyer_id, items, wanted)

    now = dt.datetime.now(dt.UTC)
    order = Order(id=uuid.uuid4(), buyer_id=buyer_id, status="pending", currency=currency,
                  total_minor=sum(item.price_minor * wanted[item.id] for item in items.values()),
                  shipping_address=shipping_address, placed_at=now,
                  reserved_until=now + dt.timedelta(seconds=reservation_seconds))
    lines = [OrderLine(order_id=order.id, item_id=item.id, seller_id=item.seller_id, title=item.title,
                       unit_price_minor=item.price_minor, currency=item.currency, quantity=wanted[item.id])
             for item in items.values()]
    session.add(order)
    session.flush()   # the order's row before its lines' (their foreign key)
    session.add_all(lines)
    for item in items.values():
        item.reserved += wanted[item.id]
        refresh_status(item)
    publish(session, "marketplace.order.placed", {**order_event(order, lines), "placed_at": now})
    answer = idempotency.remember(session, request, Answer(201, OrderSchema().dump(order_views(session, [order])[0])))
    session.commit()
    return answer


def _checkout_currency(items, asked: str | None) -> str:
    """The currency to check out: the one asked for, or the cart's only one."""
    currencies = sorted({item.currency for item in items})
    if not currencies:
        raise Conflict("your cart is empty")
    if asked is not None:
        if asked not in currencies:
            raise Invalid("no line of your cart is in this currency",
                          errors={"currency": [f"Your cart holds {', '.join(currencies)}."]})
        return asked
    if len(currencies) > 1:
        raise Invalid("your cart holds several currencies: check out one at a time",
                      errors={"currency": [f"Required: your cart holds {', '.join(currencies)}."]})
    return currencies[0]


def _held_by_my_pending_orders(session: Session, buyer_id: uuid.UUID, item_ids) -> set[uuid.UUID]:
    return set(session.scalars(
        sa.select(OrderLine.item_id).join(Order, Order.id == OrderLine.order_id)
        .where(Order.buyer_id == buyer_id, Order.status == "pending", OrderLine.item_id.in_(list(item_ids)))))


def _refuse_unbuyable(session: Session, buyer_id: uuid.UUID, items: dict[uuid.UUID, Item],
                      wanted: dict[uuid.UUID, int]) -> None:
    """Every rule again, on the locked items: 403 for a line I may not buy (mine, a block), 409 for one that is
    gone or short. The problem's `errors.items` names each such line."""
    forbidden: dict[str, list[str]] = {}
    conflicts: dict[str, list[str]] = {}
    for item_id, item in items.items():
        reason = refusal(session, buyer_id, item)
        available = item.quantity - item.reserved
        if reason in ("own", "blocked"):
            forbidden[str(item_id)] = [REFUSALS[reason]]
        elif reason == "gone":
            conflicts[str(item_id)] = [REFUSALS[reason]]
        elif wanted[item_id] > available:
            conflicts[str(item_id)] = [f"Only {available} available, your cart wants {wanted[item_id]}."]
    if forbidden:
        raise Forbidden("your cart holds items you may not buy", errors={"items": forbidden})
    if conflicts:
        raise Conflict("some items of your cart cannot be bought as they are", errors={"items": conflicts})


# --- payment ------------------------------------------------------------------------------------------------------

def pay_order(session: Session, provider: PaymentProvider, buyer_id: uuid.UUID, order_id: uuid.UUID, *,
              card_details: Mapping[str, Any], idempotency_key: str) -> Answer:
    """Charge the card (number, exp_month, exp_year, cvc) for one of my pending orders; 200 with the paid order, or
    PaymentFailed (402). A card that cannot be charged is `Invalid` before anything else."""
    card = validated_card(card_details["number"], card_details["exp_month"], card_details["exp_year"],
                          card_details["cvc"], today=dt.datetime.now(dt.UTC).date())
    # What makes a retry the same request: the card as the marketplace may keep it (never its number or CVC).
    summary = card.summary
    request = idempotency.Request.of(buyer_id, f"pay:{order_id}", idempotency_key, {
        "brand": summary.brand, "last4": summary.last4, "exp_month": card.exp_month, "exp_year": card.exp_year})
    earlier = idempotency.first_answer(session, request)
    if earlier is not None:
        return idempotency.replayed(earlier)
    order = locked_buyer_order(session, buyer_id, order_id)
    if order.status != "pending":
        raise Conflict(f"the order is {order.status}: only a pending order can be paid")
    now = dt.datetime.now(dt.UTC)
    if order.reserved_until <= now:
        release_orders(session, [order], reason="expired", now=now)
        session.commit()
        raise Conflict("the order's reservation expired: its items were released; check out again")
    lines = list(session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order.id)))
    _refuse_unpayable(session, buyer_id, lines)

    charge = _charge(provider, order, card)
    session.add(Payment(order_id=order.id, outcome=charge.outcome, amount_minor=order.total_minor,
                        currency=order.currency, card_brand=summary.brand, card_last4=summary.last4,
                        provider_reference=charge.provider_reference, reason=charge.reason))
    if not charge.succeeded:
        failure = _fail(order, charge)
        idempotency.remember(session, request, idempotency.problem(failure))
        session.commit()   # the attempt stays on record, and so does the answer to a retry of it
        raise failure
    _sell(session, order, lines, now=dt.datetime.now(dt.UTC))
    session.flush()
    answer = idempotency.remember(session, request, Answer(200, OrderSchema().dump(order_views(session, [order])[0])))
    session.commit()
    return answer


def _refuse_unpayable(session: Session, buyer_id: uuid.UUID, lines: list[OrderLine]) -> None:
    """What may have changed since checkout: my ban, a block between a seller and me, an item removed or its seller
    banned (the order cannot be paid, only cancelled or left to expire)."""
    refuse_banned_buyer(session, buyer_id)
    items = session.scalars(sa.select(Item).where(Item.id.in_([line.item_id for line in lines])))
    reasons = {item.id: refusal(session, buyer_id, item) for item in items}
    if "blocked" in reasons.values():
        raise Forbidden(REFUSALS["blocked"])
    if "gone" in reasons.values():
        raise Conflict("an item of this order is no longer for sale: cancel the order")


def _charge(provider: PaymentProvider, order: Order, card: Card) -> Charge:
    """The provider's answer; its silence or failure as an outcome of their own."""
    try:
        return provider.charge(order.total_minor, order.currency, card, str(order.id))
    except PaymentTimeout:
        return Charge("timeout", "The payment provider did not answer in time.")
    except PaymentError:
        return Charge("error", "The payment provider could not take the payment.")


def _fail(order: Order, charge: Charge) -> PaymentFailed:
    """The order stays pending with the reason; the refusal names the outcome in its type."""
    order.failure_reason = charge.reason
    failure = PaymentFailed(f"{charge.reason} The order is still pending: you may pay it again.")
    failure.code = f"payment-{charge.outcome.replace('_', '-')}"
    return failure


def _sell(session: Session, order: Order, lines: list[OrderLine], *, now: dt.datetime) -> None:
    """The order is paid: its units leave stock and my cart, and sellers hear of each sale."""
    items = locked_items(session, [line.item_id for line in lines])
    for line in lines:
        item = items[line.item_id]
        item.quantity -= line.quantity
        item.reserved -= line.quantity
        refresh_status(item)
    session.execute(sa.delete(CartLine).where(CartLine.buyer_id == order.buyer_id,
                                              CartLine.item_id.in_([line.item_id for line in lines])))
    order.status, order.paid_at, order.failure_reason = "paid", now, None
    publish(session, "marketplace.order.paid", {**order_event(order, lines), "paid_at": now})
    for line in lines:
        publish(session, "marketplace.item.sold", {
            "item_id": line.item_id, "seller_id": line.seller_id, "buyer_id": order.buyer_id,
            "order_id": order.id, "quantity": line.quantity, "sold_at": now})
