"""Events the ledger service publishes, and the handlers of those it consumes.

Publishes: each type is declared here with its payload schema and version
(servicekit.events.contracts) by the feature that first publishes it; `publish`
refuses a type not declared, and the declarations are the ledger's AsyncAPI
document (/api/ledger/asyncapi.json). None is declared yet; to come with their
features (DESIGN.md): ledger.block.mined, ledger.integrity.failed.

Consumes (DESIGN.md): messaging.message.created; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from servicekit.events import EventContracts, EventHandlers

handlers = EventHandlers()
contracts = EventContracts("ledger", handlers)
