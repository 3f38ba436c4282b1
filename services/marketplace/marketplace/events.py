"""Events the marketplace service publishes, and the handlers of those it consumes.

Publishes: each type is declared here with its payload schema and version
(servicekit.events.contracts) by the feature that first publishes it; `publish`
refuses a type not declared, and the declarations are the marketplace's AsyncAPI
document (/api/marketplace/asyncapi.json). Declared so far, with their contracts fixed
before the features that publish them because social consumes them (whose an item is,
notifications): marketplace.item.listed, marketplace.order.placed,
marketplace.order.paid, marketplace.item.sold. Still to come (DESIGN.md):
marketplace.order.cancelled.

Consumes (DESIGN.md): auth.user.*, social.block.*, social.moderation.action_taken; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from servicekit.events import EventContracts, EventHandlers

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


@contracts.publishes("marketplace.item.sold", version=1)
class ItemSold(Schema):
    """An item (some of its quantity) was sold in a paid order."""

    item_id = fields.UUID(required=True)
    seller_id = fields.UUID(required=True)
    buyer_id = fields.UUID(required=True)
    order_id = fields.UUID(required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1))
    sold_at = fields.AwareDateTime(required=True)
