"""A seller's side of orders: the lines of my items in buyers' orders, and my sales figures.

Figures count paid orders only (a pending order may still be cancelled or expire), in each currency apart: amounts
in different currencies are never added up. A month is the UTC calendar month of the payment.
"""
from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.pagination import keyset_page
from sqlalchemy.orm import Session

from marketplace.models import Item, Order, OrderLine

SOLD_LINE_ORDER = (Order.placed_at, OrderLine.order_id, OrderLine.item_id)


def sold_lines(session: Session, seller_id: uuid.UUID, *, status: str | None, limit: int,
               cursor: list | None) -> dict[str, Any]:
    """The lines of my items in buyers' orders, newest order first, with the order's status and buyer; where to
    ship once the order is paid."""
    query = (sa.select(OrderLine.order_id, OrderLine.item_id, OrderLine.title, OrderLine.unit_price_minor,
                       OrderLine.currency, OrderLine.quantity, Order.status.label("order_status"), Order.buyer_id,
                       Order.placed_at, Order.paid_at, Order.shipping_address)
             .join(Order, Order.id == OrderLine.order_id).where(OrderLine.seller_id == seller_id))
    if status is not None:
        query = query.where(Order.status == status)
    page = keyset_page(session, query, keys=SOLD_LINE_ORDER, descending=True, limit=limit, cursor=cursor)
    return {**page, "items": [_sold_line(row) for row in page["items"]]}


def _sold_line(row: sa.Row) -> dict[str, Any]:
    return {**row._asdict(), "line_total_minor": row.unit_price_minor * row.quantity,
            "shipping_address": row.shipping_address if row.order_status == "paid" else None}


def sales_figures(session: Session, seller_id: uuid.UUID) -> dict[str, Any]:
    """My paid sales: revenue, units and orders per currency; units and unique buyers in all; revenue by month and
    by item, each per currency."""
    paid = (sa.select(OrderLine.order_id, OrderLine.item_id, OrderLine.currency, OrderLine.quantity,
                      (OrderLine.unit_price_minor * OrderLine.quantity).label("amount"), Order.buyer_id,
                      sa.func.to_char(sa.func.timezone("UTC", Order.paid_at), "YYYY-MM").label("month"))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.seller_id == seller_id, Order.status == "paid").cte("paid"))
    revenue = sa.func.sum(paid.c.amount).label("revenue_minor")
    units = sa.func.sum(paid.c.quantity).label("units")
    overall = session.execute(sa.select(sa.func.coalesce(sa.func.sum(paid.c.quantity), 0).label("units"),
                                        sa.func.count(paid.c.buyer_id.distinct()).label("unique_buyers"))).one()
    per_currency = session.execute(
        sa.select(paid.c.currency, revenue, units, sa.func.count(paid.c.order_id.distinct()).label("orders"))
        .group_by(paid.c.currency).order_by(paid.c.currency))
    by_month = session.execute(sa.select(paid.c.month, paid.c.currency, revenue, units)
                               .group_by(paid.c.month, paid.c.currency).order_by(paid.c.month, paid.c.currency))
    by_item = session.execute(
        sa.select(paid.c.item_id, Item.title, paid.c.currency, revenue, units)
        .join(Item, Item.id == paid.c.item_id).group_by(paid.c.item_id, Item.title, paid.c.currency)
        .order_by(revenue.desc(), paid.c.item_id))
    return {"units": int(overall.units), "unique_buyers": overall.unique_buyers,
            "revenue": [_figures(row) for row in per_currency], "by_month": [_figures(row) for row in by_month],
            "by_item": [_figures(row) for row in by_item]}


def _figures(row: sa.Row) -> dict[str, Any]:
    """A row of sums as integers (PostgreSQL sums bigints as numeric)."""
    return {**row._asdict(), "revenue_minor": int(row.revenue_minor), "units": int(row.units)}
