"""Events the ledger service publishes, and the handlers of those it consumes.

Consumes (DESIGN.md): messaging.message.created; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from servicekit.events import EventHandlers

PUBLISHES = (
    "ledger.block.mined",
    "ledger.integrity.failed",
)

handlers = EventHandlers()
