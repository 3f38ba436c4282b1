"""Events the auth service publishes, and the handlers of those it consumes.

Consumes (DESIGN.md): social.moderation.action_taken (a "ban"/"unban" of a user bans or
unbans the account). Every worker also keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

import logging
import uuid

from marshmallow import EXCLUDE, Schema, fields
from servicekit.errors import NotFound
from servicekit.events import EventHandlers

from auth.moderation import ban_user, unban_user

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
log = logging.getLogger(__name__)


# --- social.moderation.action_taken: bans decided by social's moderation -------------

class ModerationActionSchema(Schema):
    """The part of social's moderation event that auth acts on (social owns the payload)."""

    class Meta:
        unknown = EXCLUDE

    action = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(required=True)    # the user id when target_type is "user"
    reason = fields.String(load_default=None, allow_none=True)
    notes = fields.String(load_default=None, allow_none=True)
    actor_id = fields.UUID(load_default=None, allow_none=True)


@handlers.on("social.moderation.action_taken")
def on_moderation_action_taken(session, event) -> None:
    """Ban or unban the user a moderation action names; other actions are not auth's concern."""
    action = ModerationActionSchema().load(event.payload)
    if action["target_type"] != "user" or action["action"] not in ("ban", "unban"):
        return
    user_id = uuid.UUID(action["target_id"])  # not a UUID: a malformed event, dead-lettered after retries
    try:
        if action["action"] == "ban":
            reason = action["reason"] or action["notes"] or "banned by moderation"
            ban_user(session, user_id, reason=reason, actor_id=action["actor_id"])
        else:
            unban_user(session, user_id, actor_id=action["actor_id"])
    except NotFound:  # no such account here: nothing to ban, and retrying will not change that
        log.warning("moderation action for an unknown user", extra={"user_id": str(user_id), "event_id": str(event.id)})
