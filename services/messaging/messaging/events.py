"""Events the messaging service publishes, and the handlers of those it consumes.

Publishes: each type is declared here with its payload schema and version
(servicekit.events.contracts); `publish` refuses a type not declared, and the
declarations are messaging's AsyncAPI document (/api/messaging/asyncapi.json).
Events carry no message content: only who, where, and the hash of what is stored.
social (notifications, reports) and the ledger (one leaf per message) consume
messaging.message.created; the ledger also consumes messaging.message.removed.

Consumes (DESIGN.md): auth's user events (the verified flag, bans) and key events
(the public keys envelopes are checked against), social's friendships and blocks
(who may be in a group, who may talk directly), moderation actions (a message
removed for everyone) and social's unread notification count (passed on to the
user's live streams). Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate
from servicekit.events import EventContracts, EventHandlers

from messaging import messages, read_models
from messaging.notices import notify_users

handlers = EventHandlers()
contracts = EventContracts("messaging", handlers)


# --- published ---------------------------------------------------------------------------

@contracts.publishes("messaging.conversation.created", version=1)
class ConversationCreated(Schema):
    """A conversation began: a direct one between two users, or a group with its first members."""

    conversation_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["direct", "group"]))
    owner_id = fields.UUID(required=True, allow_none=True, metadata={
        "description": "The group's owner (its creator); null for a direct conversation."})
    participant_ids = fields.List(fields.UUID(), required=True, metadata={
        "description": "Every participant when the conversation was created (the owner included)."})
    created_at = fields.AwareDateTime(required=True)


@contracts.publishes("messaging.message.created", version=1)
class MessageCreated(Schema):
    """A message was accepted into a conversation (no content: who, where, to whom, and the stored bytes' hash)."""

    message_id = fields.UUID(required=True)
    conversation_id = fields.UUID(required=True)
    conversation_type = fields.String(required=True, validate=validate.OneOf(["direct", "group"]))
    sender_id = fields.UUID(required=True)
    recipient_ids = fields.List(fields.UUID(), required=True, metadata={
        "description": "Every participant of the conversation but the sender, when the message was sent."})
    kind = fields.String(required=True, validate=validate.OneOf(["standard", "e2e"]))
    content_sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"), metadata={
        "description": "e2e: SHA-256 (hex) of the envelope's signed bytes (docs/e2e-envelope.md); standard: "
                       "SHA-256 of the message's salt followed by its UTF-8 text (salted: the ledger is public).",
        "example": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})
    signature_fingerprint = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"),
                                          metadata={
        "description": "Fingerprint of the sender's signing key that signed the message; null if unsigned.",
        "example": "6f3d1c9ad0e5b2f4a7c8e1d2b3a4f5e6d7c8b9a0f1e2d3c4b5a6978877665544"})
    created_at = fields.AwareDateTime(required=True)


@contracts.publishes("messaging.message.removed", version=1)
class MessageRemoved(Schema):
    """A message was removed for everyone (by moderation): its content is gone; its ledger record stays."""

    message_id = fields.UUID(required=True)
    conversation_id = fields.UUID(required=True)
    sender_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(["moderation"]), metadata={
        "description": "Why it was removed: `moderation` (staff's remove_content on a report)."})
    removed_at = fields.AwareDateTime(required=True)


# --- consumed: auth ----------------------------------------------------------------------

class _Consumed(Schema):
    class Meta:
        unknown = EXCLUDE


class UserRegisteredSchema(_Consumed):
    user_id = fields.UUID(required=True)
    username = fields.String(required=True)


class UserStateSchema(_Consumed):
    """auth.user.verified, auth.user.banned, auth.user.unbanned: messaging needs only whose."""

    user_id = fields.UUID(required=True)


class KeyRegisteredSchema(_Consumed):
    user_id = fields.UUID(required=True)
    fingerprint = fields.String(required=True)
    purpose = fields.String(required=True, validate=validate.OneOf(["signing", "encryption"]))
    algorithm = fields.String(required=True, validate=validate.OneOf(["rsa", "ed25519", "x25519"]))
    pem = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


class KeyRevokedSchema(_Consumed):
    user_id = fields.UUID(required=True)
    fingerprint = fields.String(required=True)
    deactivated_at = fields.AwareDateTime(required=True)


@handlers.on("auth.user.registered", schema=UserRegisteredSchema)
def on_user_registered(session, event) -> None:
    read_models.register_user(session, **UserRegisteredSchema().load(event.payload))


@handlers.on("auth.user.verified", schema=UserStateSchema)
def on_user_verified(session, event) -> None:
    """A verified user may create groups and send attachments."""
    read_models.set_verified(session, UserStateSchema().load(event.payload)["user_id"])


@handlers.on("auth.user.banned", schema=UserStateSchema)
def on_user_banned(session, event) -> None:
    """A banned user sends nothing more (and cannot be added to conversations)."""
    read_models.set_banned(session, UserStateSchema().load(event.payload)["user_id"], banned=True)


@handlers.on("auth.user.unbanned", schema=UserStateSchema)
def on_user_unbanned(session, event) -> None:
    read_models.set_banned(session, UserStateSchema().load(event.payload)["user_id"], banned=False)


@handlers.on("auth.key.registered", schema=KeyRegisteredSchema)
def on_key_registered(session, event) -> None:
    """The user's new active key of its purpose (the previous one is kept, inactive, for old messages)."""
    read_models.register_key(session, **KeyRegisteredSchema().load(event.payload))


@handlers.on("auth.key.revoked", schema=KeyRevokedSchema)
def on_key_revoked(session, event) -> None:
    revoked = KeyRevokedSchema().load(event.payload)
    read_models.revoke_key(session, fingerprint=revoked["fingerprint"], deactivated_at=revoked["deactivated_at"])


# --- consumed: social --------------------------------------------------------------------

class FriendshipSchema(_Consumed):
    """social.friendship.created and social.friendship.removed: the two friends."""

    user_id = fields.UUID(required=True)
    friend_id = fields.UUID(required=True)


class BlockSchema(_Consumed):
    """social.block.created and social.block.removed: who blocked whom."""

    blocker_id = fields.UUID(required=True)
    blocked_id = fields.UUID(required=True)


class ModerationActionSchema(_Consumed):
    """The part of social's moderation event that messaging acts on: remove_content on a message."""

    action = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.UUID(required=True)


class NotificationsChangedSchema(_Consumed):
    user_id = fields.UUID(required=True)
    unread = fields.Integer(required=True, validate=validate.Range(min=0))


@handlers.on("social.friendship.created", schema=FriendshipSchema)
def on_friendship_created(session, event) -> None:
    """Friends may be put in each other's groups."""
    friendship = FriendshipSchema().load(event.payload)
    read_models.add_friendship(session, friendship["user_id"], friendship["friend_id"])


@handlers.on("social.friendship.removed", schema=FriendshipSchema)
def on_friendship_removed(session, event) -> None:
    friendship = FriendshipSchema().load(event.payload)
    read_models.remove_friendship(session, friendship["user_id"], friendship["friend_id"])


@handlers.on("social.block.created", schema=BlockSchema)
def on_block_created(session, event) -> None:
    """No direct conversation or message between the two, either way."""
    block = BlockSchema().load(event.payload)
    read_models.add_block(session, block["blocker_id"], block["blocked_id"])


@handlers.on("social.block.removed", schema=BlockSchema)
def on_block_removed(session, event) -> None:
    block = BlockSchema().load(event.payload)
    read_models.remove_block(session, block["blocker_id"], block["blocked_id"])


@handlers.on("social.moderation.action_taken", schema=ModerationActionSchema)
def on_moderation_action_taken(session, event) -> None:
    """Staff removed a reported message: it disappears for everyone. Other actions are not messaging's concern
    (bans reach messaging from auth)."""
    action = ModerationActionSchema().load(event.payload)
    if action["action"] == "remove_content" and action["target_type"] == "message":
        messages.remove_message(session, action["target_id"])


@handlers.on("social.notifications.changed", schema=NotificationsChangedSchema)
def on_notifications_changed(session, event) -> None:
    """The user's open streams learn their unread notification count (a count, never the notification)."""
    changed = NotificationsChangedSchema().load(event.payload)
    notify_users(session, [changed["user_id"]], "notifications", {"unread": changed["unread"]})
