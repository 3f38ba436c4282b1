"""The marketplace service's tables (servicekit adds outbox, inbox and revoked_sessions).

Read models fed by other services' events (users, blocks) are the marketplace's own copies: it never asks
auth or social while serving a request. Money is integer minor units with an ISO 4217 currency. An item's
stock is `quantity` units not yet sold, of which `reserved` are held by pending orders; its `status` follows
from them (and from removal), kept in a column so search can filter on it.
"""
from __future__ import annotations

import datetime as dt
import uuid

from servicekit.db import new_metadata
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Computed, DateTime, ForeignKey, Index, Integer,
                        LargeBinary, PrimaryKeyConstraint, SmallInteger, String, UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = new_metadata()


def _now():
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


TITLE_MAX_CHARS = 120
DESCRIPTION_MAX_CHARS = 5000
CATEGORY_NAME_MAX_CHARS = 80
CONDITIONS = ("new", "like_new", "good", "fair", "poor")
ITEM_STATUSES = ("available", "reserved", "sold", "removed")
ORDER_STATUSES = ("pending", "paid", "cancelled", "expired")
PAYMENT_OUTCOMES = ("succeeded", "declined", "insufficient_funds", "timeout", "error")
IMAGE_SIZES = (256, 1024)          # renditions kept per item image (WebP, longest side)
MAX_IMAGES_PER_ITEM = 10


# --- read models (from auth's and social's events) -----------------------------------

class User(Base):
    """A user as auth announced them."""

    __tablename__ = "users"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), nullable=False)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    banned: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))


class Block(Base):
    """`blocker_id` blocked `blocked_id` (social): no cart addition or purchase between them, either way."""

    __tablename__ = "blocks"

    blocker_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    blocked_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


# --- catalog -----------------------------------------------------------------------------

class Category(Base):
    """A node of the category tree (staff maintain it); an item belongs to one, search includes descendants."""

    __tablename__ = "categories"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(CATEGORY_NAME_MAX_CHARS), nullable=False)
    slug: Mapped[str] = mapped_column(String(CATEGORY_NAME_MAX_CHARS), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = _now()


class Item(Base):
    __tablename__ = "items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seller_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    category_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), nullable=False)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_CHARS), nullable=False)
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX_CHARS), nullable=False, server_default="")
    price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    condition: Mapped[str] = mapped_column(String(16), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)       # units not yet sold
    reserved: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))  # of those, held
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="available")
    search: Mapped[str] = mapped_column(TSVECTOR, Computed(
        "setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', description), 'B')",
        persisted=True))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("quantity >= 0 AND reserved >= 0 AND reserved <= quantity", name="stock"),
        CheckConstraint(f"condition IN {CONDITIONS}", name="condition"),
        CheckConstraint(f"status IN {ITEM_STATUSES}", name="status"),
        Index("ix_items_search", "search", postgresql_using="gin"),
        Index("ix_items_listed_newest", "created_at", "id", postgresql_where=text("status <> 'removed'")),
        Index("ix_items_listed_price", "price_minor", "id", postgresql_where=text("status <> 'removed'")),
        Index("ix_items_currency_price", "currency", "price_minor", "id", postgresql_where=text("status <> 'removed'")),
        Index("ix_items_seller", "seller_id", "created_at"),
        Index("ix_items_category", "category_id"),
    )


class ItemImage(Base):
    """An image of an item, in the seller's order; its renditions are re-encoded (the upload is never kept)."""

    __tablename__ = "item_images"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (UniqueConstraint("item_id", "position", name="uq_item_images_position",
                                       deferrable=True, initially="DEFERRED"),)


class ImageRendition(Base):
    __tablename__ = "image_renditions"

    image_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("item_images.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column(SmallInteger)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    __table_args__ = (PrimaryKeyConstraint("image_id", "size"),)


# --- buying --------------------------------------------------------------------------------

class CartLine(Base):
    """An item in a buyer's cart, with the quantity wanted (priced when viewed, and at checkout)."""

    __tablename__ = "cart_lines"

    buyer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    added_at: Mapped[dt.datetime] = _now()

    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)


class Order(Base):
    """A checkout: `pending` with its lines' quantities reserved until `reserved_until`, then `paid`, or
    `cancelled` / `expired` (the reservation released). The shipping address never leaves the service."""

    __tablename__ = "orders"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    buyer_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    total_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    shipping_address: Mapped[dict] = mapped_column(JSONB, nullable=False)
    reserved_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    failure_reason: Mapped[str | None] = mapped_column(String(200))   # the last payment's refusal
    placed_at: Mapped[dt.datetime] = _now()
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))   # cancelled or expired

    __table_args__ = (
        CheckConstraint(f"status IN {ORDER_STATUSES}", name="status"),
        Index("ix_orders_buyer", "buyer_id", "placed_at"),
        Index("ix_orders_pending_expiry", "reserved_until", postgresql_where=text("status = 'pending'")),
    )


class OrderLine(Base):
    """An item in an order, priced at checkout (title and price copied: the item may change or go)."""

    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), primary_key=True)
    seller_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_CHARS), nullable=False)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)


class Payment(Base):
    """One attempt to pay an order through the payment provider: brand and last four digits only (a card
    number or CVC is never stored)."""

    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=False,
                                                index=True)
    outcome: Mapped[str] = mapped_column(String(24), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    card_brand: Mapped[str] = mapped_column(String(16), nullable=False)
    card_last4: Mapped[str] = mapped_column(String(4), nullable=False)
    provider_reference: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (CheckConstraint(f"outcome IN {PAYMENT_OUTCOMES}", name="outcome"),)


class IdempotentRequest(Base):
    """The first answer to an unsafe request sent with an `Idempotency-Key`, per user and operation: a repeat
    with the same key and body gets it again; the same key with another body is refused (422)."""

    __tablename__ = "idempotent_requests"

    user_id: Mapped[uuid.UUID] = mapped_column()
    operation: Mapped[str] = mapped_column(String(64))     # e.g. "checkout", "pay:<order id>"
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)   # SHA-256 of the canonical body
    status_code: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    response: Mapped[dict] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (PrimaryKeyConstraint("user_id", "operation", "key"),)
