"""Events the messaging service publishes, and the handlers of those it consumes.

Publishes: each type is declared here with its payload schema and version
(servicekit.events.contracts) by the feature that first publishes it; `publish`
refuses a type not declared, and the declarations are messaging's AsyncAPI
document (/api/messaging/asyncapi.json). None is declared yet; to come with their
features (DESIGN.md): messaging.conversation.created, messaging.message.created,
messaging.message.removed.

Consumes (DESIGN.md): auth.user.*, auth.key.*, social.friendship.*, social.block.*, social.moderation.action_taken; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from servicekit.events import EventContracts, EventHandlers

handlers = EventHandlers()
contracts = EventContracts("messaging", handlers)
