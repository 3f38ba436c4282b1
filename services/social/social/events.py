"""Events the social service publishes, and the handlers of those it consumes.

Publishes: each type below is declared with its payload schema and version
(servicekit.events.contracts); `publish` refuses anything else, and the schemas are
social's AsyncAPI document (/api/social/asyncapi.json). No event names a block's or
a report's reason, or a report's reporter: they stay in social.

Consumes (DESIGN.md): auth's user events (profiles, the verified badge, bans),
`messaging.message.created` (notifications, and whose a reported message is),
`marketplace.item.listed` (whose a reported item is), `marketplace.order.placed`,
`marketplace.order.paid`, `marketplace.item.sold` (notifications). The schemas of
messaging's and marketplace's events are written from DESIGN.md's contract before
those services exist; the cross-service contract test holds them to the producers'
schemas once they do. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate
from servicekit.events import EventContracts, EventHandlers

from social import notifications, read_models
from social.models import MODERATION_ACTIONS, REPORT_TARGET_TYPES

handlers = EventHandlers()
contracts = EventContracts("social", handlers)


# --- friendships -----------------------------------------------------------------------

@contracts.publishes("social.friendship.created", version=1)
class FriendshipCreated(Schema):
    """Two users are friends (a friendship is symmetric: each is the other's friend)."""

    user_id = fields.UUID(required=True, metadata={"description": "The user who accepted the request."})
    friend_id = fields.UUID(required=True, metadata={"description": "The user who sent it."})
    request_id = fields.UUID(required=True, metadata={"description": "The friend request accepted."})
    created_at = fields.AwareDateTime(required=True)


@contracts.publishes("social.friendship.removed", version=1)
class FriendshipRemoved(Schema):
    """Two users are no longer friends."""

    user_id = fields.UUID(required=True, metadata={"description": "The user who ended it."})
    friend_id = fields.UUID(required=True, metadata={"description": "The former friend."})
    reason = fields.String(required=True, validate=validate.OneOf(["unfriended", "blocked"]))
    removed_at = fields.AwareDateTime(required=True)


# --- blocks ------------------------------------------------------------------------------

@contracts.publishes("social.block.created", version=1)
class BlockCreated(Schema):
    """`blocker_id` blocked `blocked_id`: no conversation, message, friend request, cart addition or
    purchase between them, in either direction."""

    blocker_id = fields.UUID(required=True)
    blocked_id = fields.UUID(required=True)
    created_at = fields.AwareDateTime(required=True)


@contracts.publishes("social.block.removed", version=1)
class BlockRemoved(Schema):
    """`blocker_id` lifted their block of `blocked_id`."""

    blocker_id = fields.UUID(required=True)
    blocked_id = fields.UUID(required=True)
    removed_at = fields.AwareDateTime(required=True)


# --- moderation --------------------------------------------------------------------------

@contracts.publishes("social.moderation.action_taken", version=1)
class ModerationActionTaken(Schema):
    """Staff resolved a report with an action; the service that owns the target applies it.

    A user action (warn, suspend, ban) on a reported message or item names the user it
    applies to (the sender or seller) in an event of its own with target_type "user";
    "ban" on a message or item also removes that content (a "remove_content" event).
    """

    action = fields.String(required=True, validate=validate.OneOf(MODERATION_ACTIONS), metadata={
        "description": "What staff decided: dismiss, warn, suspend (for `duration` seconds), ban or "
                       "remove_content."})
    target_type = fields.String(required=True, validate=validate.OneOf(REPORT_TARGET_TYPES), metadata={
        "description": "What the action applies to: a user, a message or an item."})
    target_id = fields.UUID(required=True, metadata={"description": "The id of the user, message or item."})
    reason = fields.String(allow_none=True, metadata={
        "description": "Null from social's moderation: the reporter's words stay in social; `notes` say why."})
    notes = fields.String(allow_none=True, metadata={"description": "Staff's notes on the decision."})
    actor_id = fields.UUID(allow_none=True, metadata={"description": "The staff member who took the action."})
    duration = fields.Integer(allow_none=True, validate=validate.Range(min=1), metadata={
        "description": "For suspend: how long the suspension lasts, in seconds from occurred_at; null otherwise."})
    report_id = fields.UUID(allow_none=True, metadata={"description": "The report resolved."})
    taken_at = fields.AwareDateTime(required=True)


# --- notifications ----------------------------------------------------------------------

@contracts.publishes("social.notifications.changed", version=1)
class NotificationsChanged(Schema):
    """A user's unread notification count changed (a notification arrived, or some were read): messaging's
    live stream tells the user's open clients. A count, never the notification's content."""

    user_id = fields.UUID(required=True)
    unread = fields.Integer(required=True, validate=validate.Range(min=0))


# --- consumed: auth ----------------------------------------------------------------------

class _Consumed(Schema):
    class Meta:
        unknown = EXCLUDE


class UserRegisteredSchema(_Consumed):
    user_id = fields.UUID(required=True)
    username = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


class UserVerifiedSchema(_Consumed):
    user_id = fields.UUID(required=True)
    request_id = fields.UUID(required=True)
    decided_at = fields.AwareDateTime(required=True)


class UserVerificationRejectedSchema(_Consumed):
    user_id = fields.UUID(required=True)
    request_id = fields.UUID(required=True)
    decided_at = fields.AwareDateTime(required=True)
    notes = fields.String(load_default=None, allow_none=True)


class UserBanStateSchema(_Consumed):
    """auth.user.banned and auth.user.unbanned: social needs only whose."""

    user_id = fields.UUID(required=True)


@handlers.on("auth.user.registered", schema=UserRegisteredSchema)
def on_user_registered(session, event) -> None:
    """A new account gets its profile (once, however often the event comes)."""
    read_models.create_profile(session, **UserRegisteredSchema().load(event.payload))


@handlers.on("auth.user.verified", schema=UserVerifiedSchema)
def on_user_verified(session, event) -> None:
    """The verified badge, and the user is told."""
    verified = UserVerifiedSchema().load(event.payload)
    read_models.set_verified(session, verified["user_id"])
    notifications.notify(session, verified["user_id"], "verification.approved", source_id=event.id,
                         subject_type="verification", subject_id=verified["request_id"])


@handlers.on("auth.user.verification_rejected", schema=UserVerificationRejectedSchema)
def on_user_verification_rejected(session, event) -> None:
    """The user is told, with staff's notes."""
    rejected = UserVerificationRejectedSchema().load(event.payload)
    notifications.notify(session, rejected["user_id"], "verification.rejected", source_id=event.id,
                         subject_type="verification", subject_id=rejected["request_id"],
                         data={"notes": rejected["notes"]})


@handlers.on("auth.user.banned", schema=UserBanStateSchema)
def on_user_banned(session, event) -> None:
    """A banned user leaves search and public view."""
    read_models.set_banned(session, UserBanStateSchema().load(event.payload)["user_id"], banned=True)


@handlers.on("auth.user.unbanned", schema=UserBanStateSchema)
def on_user_unbanned(session, event) -> None:
    read_models.set_banned(session, UserBanStateSchema().load(event.payload)["user_id"], banned=False)


# --- consumed: messaging -----------------------------------------------------------------

class MessageCreatedSchema(_Consumed):
    """The part of messaging.message.created social uses: who sent a message where, and to whom (no content)."""

    message_id = fields.UUID(required=True)
    conversation_id = fields.UUID(required=True)
    sender_id = fields.UUID(required=True)
    recipient_ids = fields.List(fields.UUID(), required=True, metadata={
        "description": "Every participant of the conversation but the sender, when the message was sent."})
    created_at = fields.AwareDateTime(required=True)


@handlers.on("messaging.message.created", schema=MessageCreatedSchema)
def on_message_created(session, event) -> None:
    """Remember whose the message is (reports), and tell each recipient who has not blocked the sender."""
    message = MessageCreatedSchema().load(event.payload)
    read_models.remember_message(session, **message)
    for recipient_id in message["recipient_ids"]:
        notifications.notify(session, recipient_id, "message.received", source_id=event.id,
                             actor_id=message["sender_id"], subject_type="conversation",
                             subject_id=message["conversation_id"], data={"message_id": str(message["message_id"])})


# --- consumed: marketplace ---------------------------------------------------------------

class ItemListedSchema(_Consumed):
    item_id = fields.UUID(required=True)
    seller_id = fields.UUID(required=True)
    title = fields.String(load_default=None, allow_none=True)
    listed_at = fields.AwareDateTime(required=True)


class OrderSchema(_Consumed):
    """marketplace.order.placed and marketplace.order.paid: the order, its buyer and its sellers."""

    order_id = fields.UUID(required=True)
    buyer_id = fields.UUID(required=True)
    seller_ids = fields.List(fields.UUID(), required=True, metadata={
        "description": "Every seller with an item in the order."})


class ItemSoldSchema(_Consumed):
    item_id = fields.UUID(required=True)
    seller_id = fields.UUID(required=True)
    buyer_id = fields.UUID(required=True)
    order_id = fields.UUID(required=True)


@handlers.on("marketplace.item.listed", schema=ItemListedSchema)
def on_item_listed(session, event) -> None:
    """Remember whose the item is (reports)."""
    read_models.remember_item(session, **ItemListedSchema().load(event.payload))


@handlers.on("marketplace.order.placed", schema=OrderSchema)
def on_order_placed(session, event) -> None:
    """Each seller in the order is told someone ordered from them."""
    order = OrderSchema().load(event.payload)
    for seller_id in set(order["seller_ids"]):
        notifications.notify(session, seller_id, "order.placed", source_id=event.id, actor_id=order["buyer_id"],
                             subject_type="order", subject_id=order["order_id"])


@handlers.on("marketplace.order.paid", schema=OrderSchema)
def on_order_paid(session, event) -> None:
    """The buyer is told their payment went through."""
    order = OrderSchema().load(event.payload)
    notifications.notify(session, order["buyer_id"], "order.paid", source_id=event.id,
                         subject_type="order", subject_id=order["order_id"])


@handlers.on("marketplace.item.sold", schema=ItemSoldSchema)
def on_item_sold(session, event) -> None:
    """The seller is told their item sold."""
    sold = ItemSoldSchema().load(event.payload)
    notifications.notify(session, sold["seller_id"], "item.sold", source_id=event.id, actor_id=sold["buyer_id"],
                         subject_type="item", subject_id=sold["item_id"], data={"order_id": str(sold["order_id"])})
