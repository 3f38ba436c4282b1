"""Events the social service publishes, and the handlers of those it consumes.

Publishes: each type is declared here with its payload schema and version
(servicekit.events.contracts) by the feature that first publishes it; `publish`
refuses a type not declared, and the declarations are social's AsyncAPI document
(/api/social/asyncapi.json). Declared so far: social.moderation.action_taken,
whose payload auth already consumes. Still to come with their features
(DESIGN.md): social.friendship.created/removed, social.block.created/removed.

Consumes (DESIGN.md): auth.user.*, messaging.message.created, marketplace.*; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from marshmallow import Schema, fields
from servicekit.events import EventContracts, EventHandlers

handlers = EventHandlers()
contracts = EventContracts("social", handlers)


@contracts.publishes("social.moderation.action_taken", version=1)
class ModerationActionTaken(Schema):
    """Staff resolved a report with an action; the service that owns the target applies it."""

    action = fields.String(required=True, metadata={
        "description": "What staff decided: dismiss, warn, suspend, ban, unban or remove content."})
    target_type = fields.String(required=True, metadata={
        "description": "What the action applies to: a user, a message or an item."})
    target_id = fields.UUID(required=True, metadata={"description": "The id of the user, message or item."})
    reason = fields.String(allow_none=True)
    notes = fields.String(allow_none=True, metadata={"description": "Staff's notes on the decision."})
    actor_id = fields.UUID(allow_none=True, metadata={"description": "The staff member who took the action."})
