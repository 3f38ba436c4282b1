"""Events the messaging service publishes, and the handlers of those it consumes.

Consumes (DESIGN.md): auth.user.*, auth.key.*, social.friendship.*, social.block.*, social.moderation.action_taken; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from servicekit.events import EventHandlers

PUBLISHES = (
    "messaging.conversation.created",
    "messaging.message.created",
    "messaging.message.removed",
)

handlers = EventHandlers()
