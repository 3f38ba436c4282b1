"""Events the messaging service publishes, and the handlers of those it consumes.

Publishes: each type is declared here with its payload schema and version
(servicekit.events.contracts); `publish` refuses a type not declared, and the
declarations are messaging's AsyncAPI document (/api/messaging/asyncapi.json).
Declared so far: messaging.message.created — its contract is fixed before the
feature that publishes it, because social (notifications, reports) and the ledger
(one leaf per message) consume it. Still to come with their features (DESIGN.md):
messaging.conversation.created, messaging.message.removed. Events carry no message
content: only who, where, and the hash of what is stored.

Consumes (DESIGN.md): auth.user.*, auth.key.*, social.friendship.*, social.block.*, social.moderation.action_taken; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from servicekit.events import EventContracts, EventHandlers

handlers = EventHandlers()
contracts = EventContracts("messaging", handlers)


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
        "description": "SHA-256 (hex) of the content as stored: the ciphertext envelope for e2e messages.",
        "example": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})
    signature_fingerprint = fields.String(required=True, allow_none=True, metadata={
        "description": "Fingerprint of the sender's signing key that signed the message; null if unsigned."})
    created_at = fields.AwareDateTime(required=True)
