"""Events the marketplace service publishes, and the handlers of those it consumes.

Publishes: each type is declared here with its payload schema and version
(servicekit.events.contracts) by the feature that first publishes it; `publish`
refuses a type not declared, and the declarations are the marketplace's AsyncAPI
document (/api/marketplace/asyncapi.json). Declared so far, with their contracts fixed
before the features that publish them because social consumes them (whose an item is,
notifications): marketplace.item.listed, marketplace.order.placed,
marketplace.order.paid, marketplace.order.cancelled, marketplace.item.sold. None
carries card data or a shipping address.

Consumes (DESIGN.md): auth's user events (the verified flag that lets a user sell, bans), social's blocks (no
cart addition or purchase between the two, each hidden from the other's search) and moderation actions (an
item removed). Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate
from servicekit.events import EventContracts, EventHandlers

from marketplace import items, read_models

handlers = EventHandlers()
contracts = EventContracts("marketplace", handlers)

CURRENCY = validate.Regexp(r"^[A-Z]{3}$")


@contracts.publishes("marketplace.item.listed", version=1)
class ItemListed(Schema):
    """A verified seller listed an item."""

    item_id = fields.UUID(required=True)
    seller_id = fields.UUID(required=True)
    title = fields.String(required=True)
    price_minor = fields.Integer(required=True, validate=validate.Range(min=0), metadata={
        "description": "Price in the currency's minor units."})
    currency = fields.String(required=True, validate=CURRENCY, metadata={"description": "ISO 4217 code.",
                                                                         "example": "EUR"})
    listed_at = fields.AwareDateTime(required=True)


class _Order(Schema):
    order_id = fields.UUID(required=True)
    buyer_id = fields.UUID(required=True)
    seller_ids = fields.List(fields.UUID(), required=True, metadata={
        "description": "Every seller with an item in the order."})
    total_minor = fields.Integer(required=True, validate=validate.Range(min=0))
    currency = fields.String(required=True, validate=CURRENCY, metadata={"example": "EUR"})


@contracts.publishes("marketplace.order.placed", version=1)
class OrderPlaced(_Order):
    """A buyer checked out: a pending order whose items are reserved until it is paid or expires."""

    placed_at = fields.AwareDateTime(required=True)


@contracts.publishes("marketplace.order.paid", version=1)
class OrderPaid(_Order):
    """The order's payment succeeded: its items are sold."""

    paid_at = fields.AwareDateTime(required=True)


@contracts.publishes("marketplace.order.cancelled", version=1)
class OrderCancelled(_Order):
    """A pending order closed unpaid: its buyer cancelled it, or its reservation expired; its items are
    released."""

    reason = fields.String(required=True, validate=validate.OneOf(["cancelled", "expired"]), metadata={
        "description": "cancelled: the buyer cancelled it; expired: it was not paid in time."})
    closed_at = fields.AwareDateTime(required=True)


@contracts.publishes("marketplace.item.sold", version=1)
class ItemSold(Schema):
    """An item (some of its quantity) was sold in a paid order."""

    item_id = fields.UUID(required=True)
    seller_id = fields.UUID(required=True)
    buyer_id = fields.UUID(required=True)
    order_id = fields.UUID(required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1))
    sold_at = fields.AwareDateTime(required=True)


# --- consumed: auth ----------------------------------------------------------------------

class _Consumed(Schema):
    class Meta:
        unknown = EXCLUDE


class UserRegisteredSchema(_Consumed):
    user_id = fields.UUID(required=True)
    username = fields.String(required=True)


class UserStateSchema(_Consumed):
    """auth.user.verified, auth.user.banned, auth.user.unbanned: the marketplace needs only whose."""

    user_id = fields.UUID(required=True)


@handlers.on("auth.user.registered", schema=UserRegisteredSchema)
def on_user_registered(session, event) -> None:
    read_models.register_user(session, **UserRegisteredSchema().load(event.payload))


@handlers.on("auth.user.verified", schema=UserStateSchema)
def on_user_verified(session, event) -> None:
    """A verified user may list items."""
    read_models.set_verified(session, UserStateSchema().load(event.payload)["user_id"])


@handlers.on("auth.user.banned", schema=UserStateSchema)
def on_user_banned(session, event) -> None:
    """A banned seller's items leave search and their pages; a banned user lists and buys nothing."""
    read_models.set_banned(session, UserStateSchema().load(event.payload)["user_id"], banned=True)


@handlers.on("auth.user.unbanned", schema=UserStateSchema)
def on_user_unbanned(session, event) -> None:
    read_models.set_banned(session, UserStateSchema().load(event.payload)["user_id"], banned=False)


# --- consumed: social --------------------------------------------------------------------

class BlockSchema(_Consumed):
    """social.block.created and social.block.removed: who blocked whom."""

    blocker_id = fields.UUID(required=True)
    blocked_id = fields.UUID(required=True)


class ModerationActionSchema(_Consumed):
    """The part of social's moderation event the marketplace acts on: remove_content on an item."""

    action = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.UUID(required=True)
    taken_at = fields.AwareDateTime(required=True)


@handlers.on("social.block.created", schema=BlockSchema)
def on_block_created(session, event) -> None:
    """No cart addition or purchase between the two, either way; each is hidden from the other's search."""
    block = BlockSchema().load(event.payload)
    read_models.add_block(session, block["blocker_id"], block["blocked_id"])


@handlers.on("social.block.removed", schema=BlockSchema)
def on_block_removed(session, event) -> None:
    block = BlockSchema().load(event.payload)
    read_models.remove_block(session, block["blocker_id"], block["blocked_id"])


@handlers.on("social.moderation.action_taken", schema=ModerationActionSchema)
def on_moderation_action_taken(session, event) -> None:
    """Staff removed a reported item: it leaves search and its page (completed orders keep their copy of it).
    Other actions are not the marketplace's concern (bans reach it from auth)."""
    action = ModerationActionSchema().load(event.payload)
    if action["action"] == "remove_content" and action["target_type"] == "item":
        items.remove_item_for_moderation(session, action["target_id"], removed_at=action["taken_at"])
