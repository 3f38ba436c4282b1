"""Events the social service publishes, and the handlers of those it consumes.

Consumes (DESIGN.md): auth.user.*, messaging.message.created, marketplace.*; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from servicekit.events import EventHandlers

PUBLISHES = (
    "social.friendship.created",
    "social.friendship.removed",
    "social.block.created",
    "social.block.removed",
    "social.moderation.action_taken",
)

handlers = EventHandlers()
