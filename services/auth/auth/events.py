"""Events the auth service publishes, and the handlers of those it consumes.

Consumes (DESIGN.md): social.moderation.action_taken; handlers arrive with the features
that need them. Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from servicekit.events import EventHandlers

PUBLISHES = (
    "auth.user.registered",
    "auth.user.verified",
    "auth.user.verification_rejected",
    "auth.user.banned",
    "auth.user.unbanned",
    "auth.session.revoked",
    "auth.key.registered",
    "auth.key.revoked",
)

handlers = EventHandlers()
