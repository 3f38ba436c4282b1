"""Events the marketplace service publishes, and the handlers of those it consumes.

Consumes (DESIGN.md): auth.user.*, social.block.*, social.moderation.action_taken; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from servicekit.events import EventHandlers

PUBLISHES = (
    "marketplace.item.listed",
    "marketplace.order.placed",
    "marketplace.order.paid",
    "marketplace.order.cancelled",
    "marketplace.item.sold",
)

handlers = EventHandlers()
