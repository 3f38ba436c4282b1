"""Events the marketplace service publishes, and the handlers of those it consumes.

Publishes: each type is declared here with its payload schema and version
(servicekit.events.contracts) by the feature that first publishes it; `publish`
refuses a type not declared, and the declarations are the marketplace's AsyncAPI
document (/api/marketplace/asyncapi.json). None is declared yet; to come with their
features (DESIGN.md): marketplace.item.listed, marketplace.order.placed,
marketplace.order.paid, marketplace.order.cancelled, marketplace.item.sold.

Consumes (DESIGN.md): auth.user.*, social.block.*, social.moderation.action_taken; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from servicekit.events import EventContracts, EventHandlers

handlers = EventHandlers()
contracts = EventContracts("marketplace", handlers)
