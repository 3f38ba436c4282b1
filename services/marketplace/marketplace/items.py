"""Items: listed by verified sellers, edited or removed by them, shown to anyone.

Stock is `quantity` (units not yet sold) of which `reserved` are held by pending orders; `status` follows
from them and from removal (`status_of`), kept in a column so search can filter on it. Whoever changes an
item's stock (checkout, payment, cancellation, expiry, moderation) sets its status again with
`refresh_status`.

An item is public: anyone may see its page, unless it is removed or its seller is banned (then it is
`NotFound` to all). Since everyone can see it, another seller's attempt to change it is `Forbidden`, not
`NotFound`. While a pending order holds an item its seller may not change or remove it (`Conflict`): the
buyer pays for what they checked out. Removal only marks the item: orders keep their lines.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.orm import Session

from marketplace import read_models
from marketplace.models import Category, Item, ItemImage, Order, OrderLine, User

log = logging.getLogger(__name__)

NO_SUCH_ITEM = "no such item"
IN_OPEN_ORDER = "the item is in a pending order; it can be changed once that order is paid, cancelled or expired"
EDITABLE = ("title", "description", "category_id", "price_minor", "currency", "quantity", "condition")
NEWEST_FIRST = (Item.created_at, Item.id)


# --- status ---------------------------------------------------------------------------------

def status_of(*, quantity: int, reserved: int, removed: bool) -> str:
    """removed if removed, else available while units are free, else reserved while pending orders hold
    some, else sold."""
    if removed:
        return "removed"
    if quantity - reserved > 0:
        return "available"
    return "reserved" if reserved > 0 else "sold"


def refresh_status(item: Item) -> None:
    """Set the item's status from its stock and removal (after changing either)."""
    item.status = status_of(quantity=item.quantity, reserved=item.reserved, removed=item.removed_at is not None)


# --- listing and changing ------------------------------------------------------------------------

def list_item(session: Session, seller_id: uuid.UUID, *, verified: bool, title: str, description: str,
              category_id: uuid.UUID, price_minor: int, currency: str, quantity: int,
              condition: str) -> dict[str, Any]:
    """List an item for sale; verified sellers only (`verified` is the caller's token claim: the read model
    may know of a verification the token predates), never a banned one. Publishes marketplace.item.listed."""
    if read_models.is_banned(session, seller_id):
        raise Forbidden("banned users cannot list items")
    if not (verified or read_models.is_verified(session, seller_id)):
        raise Forbidden("only verified users can list items")
    _hold_category(session, category_id)
    now = dt.datetime.now(dt.UTC)
    item = Item(id=uuid.uuid4(), seller_id=seller_id, category_id=category_id, title=title, description=description,
                price_minor=price_minor, currency=currency, quantity=quantity, reserved=0, condition=condition,
                status=status_of(quantity=quantity, reserved=0, removed=False), created_at=now, updated_at=now)
    session.add(item)
    publish(session, "marketplace.item.listed",
            {"item_id": item.id, "seller_id": seller_id, "title": title, "price_minor": price_minor,
             "currency": currency, "listed_at": now})
    session.commit()
    return item_view(session, item.id)


def update_item(session: Session, seller_id: uuid.UUID, item_id: uuid.UUID, changes: dict[str, Any]) -> dict[str, Any]:
    """Change my item's fields (those in `changes`, any of EDITABLE); refused while a pending order holds it."""
    item = lock_own_item(session, seller_id, item_id)
    if "category_id" in changes and changes["category_id"] != item.category_id:
        _hold_category(session, changes["category_id"])
    for name in EDITABLE:
        if name in changes:
            setattr(item, name, changes[name])
    refresh_status(item)
    item.updated_at = dt.datetime.now(dt.UTC)
    session.commit()
    return item_view(session, item.id)


def remove_item(session: Session, seller_id: uuid.UUID, item_id: uuid.UUID) -> None:
    """Take my item off sale for good: it leaves search and its page; orders and my list keep it."""
    item = lock_own_item(session, seller_id, item_id)
    _mark_removed(item, dt.datetime.now(dt.UTC))
    session.commit()


def remove_item_for_moderation(session: Session, item_id: uuid.UUID, *, removed_at: dt.datetime) -> None:
    """Staff removed the item (a report's remove_content): as its seller's removal, but whatever holds it.

    A pending order that holds it stays as it is (its reservation expires or is cancelled); paying for it
    is refused by checkout's rules (the item is removed). Runs in the consumer's transaction (no commit).
    """
    item = session.get(Item, item_id, with_for_update=True)
    if item is None:
        log.warning("moderation removed an item the marketplace does not have", extra={"item_id": str(item_id)})
        return
    if item.removed_at is None:
        _mark_removed(item, removed_at)


def lock_own_item(session: Session, seller_id: uuid.UUID, item_id: uuid.UUID) -> Item:
    """The seller's item, locked for a change: `NotFound` if removed or unseen, `Forbidden` if another's or
    the seller is banned, `Conflict` while a pending order holds it.

    The row lock makes a change and a checkout of the item run one after the other: checkout locks the
    item's row to reserve it, so the pending order either exists when this looks, or sees the change.
    """
    item = session.get(Item, item_id, with_for_update=True, populate_existing=True)
    if item is None or item.removed_at is not None:
        raise NotFound(NO_SUCH_ITEM)
    if item.seller_id != seller_id:
        if read_models.is_banned(session, item.seller_id):
            raise NotFound(NO_SUCH_ITEM)  # as its page says
        raise Forbidden("this item is not yours")
    if read_models.is_banned(session, seller_id):
        raise Forbidden("banned users cannot change items")
    if in_open_order(session, item_id):
        raise Conflict(IN_OPEN_ORDER)
    return item


def in_open_order(session: Session, item_id: uuid.UUID) -> bool:
    """Whether a pending order has a line of the item."""
    return session.scalar(sa.select(sa.exists().where(
        OrderLine.item_id == item_id, OrderLine.order_id == Order.id, Order.status == "pending"))) is True


def _mark_removed(item: Item, removed_at: dt.datetime) -> None:
    item.removed_at = removed_at
    item.updated_at = removed_at
    refresh_status(item)


def _hold_category(session: Session, category_id: uuid.UUID) -> None:
    """`Invalid` (naming category_id) unless the category exists; held (key share) until the commit, so that
    a concurrent deletion of the category waits and then finds the item in it, and refuses."""
    held = session.scalar(sa.select(Category.id).where(Category.id == category_id).with_for_update(key_share=True))
    if held is None:
        raise Invalid("no such category", errors={"category_id": ["No such category."]})


# --- reading -------------------------------------------------------------------------------------

def first_image_id() -> sa.ScalarSelect:
    """The id of the item's first image (in the seller's order), or null: lists show it."""
    return (sa.select(ItemImage.id).where(ItemImage.item_id == Item.id).order_by(ItemImage.position).limit(1)
            .scalar_subquery())


def summary_query() -> sa.Select:
    """Items as lists show them (rows): with the seller's username and the first image's id."""
    return (sa.select(Item.id, Item.seller_id, User.username.label("seller_username"), Item.title, Item.category_id,
                      Item.price_minor, Item.currency, Item.condition, Item.quantity,
                      (Item.quantity - Item.reserved).label("available"), Item.status, Item.created_at,
                      Item.updated_at, Item.removed_at, first_image_id().label("image_id"))
            .outerjoin(User, User.user_id == Item.seller_id))


def item_page(session: Session, item_id: uuid.UUID) -> dict[str, Any]:
    """An item as anyone sees it; `NotFound` if it is removed or its seller banned."""
    row = session.execute(_item_row().where(Item.id == item_id, Item.removed_at.is_(None),
                                            sa.or_(User.banned.is_(None), ~User.banned))).first()
    if row is None:
        raise NotFound(NO_SUCH_ITEM)
    return _with_images(session, row)


def item_view(session: Session, item_id: uuid.UUID) -> dict[str, Any]:
    """An item as its seller sees it after a change (whatever its state)."""
    return _with_images(session, session.execute(_item_row().where(Item.id == item_id)).one())


def my_items(session: Session, seller_id: uuid.UUID, *, limit: int, cursor: list | None) -> dict[str, Any]:
    """Every item I listed, sold and removed ones too, the newest first."""
    query = summary_query().where(Item.seller_id == seller_id)
    return keyset_page(session, query, keys=NEWEST_FIRST, descending=True, limit=limit, cursor=cursor)


def images_of(session: Session, item_id: uuid.UUID) -> list[dict[str, Any]]:
    """The item's images in the seller's order."""
    return [{"id": image_id, "item_id": item_id, "position": position} for image_id, position in session.execute(
        sa.select(ItemImage.id, ItemImage.position).where(ItemImage.item_id == item_id).order_by(ItemImage.position))]


def _item_row() -> sa.Select:
    return (sa.select(Item.id, Item.seller_id, User.username.label("seller_username"), Item.title, Item.description,
                      Item.category_id, Category.name.label("category_name"), Category.slug.label("category_slug"),
                      Item.price_minor, Item.currency, Item.condition, Item.quantity,
                      (Item.quantity - Item.reserved).label("available"), Item.status, Item.created_at,
                      Item.updated_at, Item.removed_at)
            .join(Category, Category.id == Item.category_id)
            .outerjoin(User, User.user_id == Item.seller_id))


def _with_images(session: Session, row: sa.Row) -> dict[str, Any]:
    return {**row._asdict(), "images": images_of(session, row.id)}
