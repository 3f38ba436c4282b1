"""Events the auth service publishes, and the handlers of those it consumes.

Publishes: each type below is declared with its payload schema and version
(servicekit.events.contracts); `publish` refuses anything else, and the schemas
are auth's AsyncAPI document (/api/auth/asyncapi.json). Events carry no secrets
and no contact data (no email, no phone, no password material).

Consumes (DESIGN.md): social.moderation.action_taken (a "ban"/"unban" of a user bans or
unbans the account, a "suspend" suspends it for the action's duration). Every worker also
keeps the revoked-session denylist (servicekit).
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid

from marshmallow import EXCLUDE, Schema, fields, validate
from servicekit.errors import NotFound
from servicekit.events import EventContracts, EventHandlers

from auth.moderation import apply_ban, apply_suspension, apply_unban

handlers = EventHandlers()
contracts = EventContracts("auth", handlers)
log = logging.getLogger(__name__)

KEY_PURPOSES = validate.OneOf(["signing", "encryption"])
FINGERPRINT = validate.Regexp(r"^[0-9a-f]{64}$")  # SHA-256, lowercase hex
KEY_ALGORITHMS = validate.OneOf(["rsa", "ed25519", "x25519"])


# --- accounts --------------------------------------------------------------------------

@contracts.publishes("auth.user.registered", version=1)
class UserRegistered(Schema):
    """A new account exists (its email and phone stay in auth)."""

    user_id = fields.UUID(required=True)
    username = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


@contracts.publishes("auth.user.verified", version=1)
class UserVerified(Schema):
    """Staff approved the user's identity verification: the user is verified from now on."""

    user_id = fields.UUID(required=True)
    request_id = fields.UUID(required=True, metadata={"description": "The verification request decided."})
    decided_at = fields.AwareDateTime(required=True)


@contracts.publishes("auth.user.verification_rejected", version=1)
class UserVerificationRejected(Schema):
    """Staff rejected the user's identity verification request."""

    user_id = fields.UUID(required=True)
    request_id = fields.UUID(required=True, metadata={"description": "The verification request decided."})
    decided_at = fields.AwareDateTime(required=True)
    notes = fields.String(required=True, metadata={"description": "Why, as staff told the user."})


@contracts.publishes("auth.user.banned", version=1)
class UserBanned(Schema):
    """The user is banned: sign-in is refused and every session of theirs is revoked."""

    user_id = fields.UUID(required=True)
    reason = fields.String(required=True)
    banned_at = fields.AwareDateTime(required=True)
    actor_id = fields.UUID(required=True, allow_none=True,
                           metadata={"description": "The staff member who decided the ban; null when a "
                                                    "moderation event named none."})


@contracts.publishes("auth.user.unbanned", version=1)
class UserUnbanned(Schema):
    """The user's ban is lifted: they may sign in again."""

    user_id = fields.UUID(required=True)
    unbanned_at = fields.AwareDateTime(required=True)
    actor_id = fields.UUID(required=True, allow_none=True,
                           metadata={"description": "The staff member who lifted the ban, if known."})


# --- sessions --------------------------------------------------------------------------

@contracts.publishes("auth.session.revoked", version=1)
class SessionRevoked(Schema):
    """A session ended before its time: every service refuses its access tokens from now on."""

    session_id = fields.UUID(required=True)
    user_id = fields.UUID(required=True)
    revoked_at = fields.AwareDateTime(required=True)
    reason = fields.String(required=True, metadata={"description": "Why, e.g. signed out, banned, "
                                                                   "refresh token reused."})


# --- the public-key registry -----------------------------------------------------------

@contracts.publishes("auth.key.registered", version=1)
class KeyRegistered(Schema):
    """A user registered a public key; it is their active key for its purpose (the previous one is revoked)."""

    user_id = fields.UUID(required=True)
    fingerprint = fields.String(required=True, validate=FINGERPRINT, metadata={
        "description": "SHA-256 (hex) of the key's DER SubjectPublicKeyInfo.",
        "example": "6f3d1c9ad0e5b2f4a7c8e1d2b3a4f5e6d7c8b9a0f1e2d3c4b5a6978877665544"})
    purpose = fields.String(required=True, validate=KEY_PURPOSES)
    algorithm = fields.String(required=True, validate=KEY_ALGORITHMS)
    pem = fields.String(required=True, metadata={"description": "The public key, PEM."})
    created_at = fields.AwareDateTime(required=True)


@contracts.publishes("auth.key.revoked", version=1)
class KeyRevoked(Schema):
    """A public key is no longer active (kept for verifying what it signed before)."""

    user_id = fields.UUID(required=True)
    fingerprint = fields.String(required=True, validate=FINGERPRINT, metadata={
        "example": "6f3d1c9ad0e5b2f4a7c8e1d2b3a4f5e6d7c8b9a0f1e2d3c4b5a6978877665544"})
    purpose = fields.String(required=True, validate=KEY_PURPOSES)
    deactivated_at = fields.AwareDateTime(required=True)


# --- social.moderation.action_taken: bans and suspensions decided by social's moderation

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
    duration = fields.Integer(load_default=None, allow_none=True)  # seconds; social sends it with a "suspend"


@handlers.on("social.moderation.action_taken", schema=ModerationActionSchema)
def on_moderation_action_taken(session, event) -> None:
    """Ban, unban or suspend the user a moderation action names; other actions are not auth's concern."""
    action = ModerationActionSchema().load(event.payload)
    if action["target_type"] != "user" or action["action"] not in ("ban", "unban", "suspend"):
        return
    user_id = uuid.UUID(action["target_id"])  # not a UUID: a malformed event, dead-lettered after retries
    try:
        if action["action"] == "ban":
            reason = action["reason"] or action["notes"] or "banned by moderation"
            apply_ban(session, user_id, reason=reason, actor_id=action["actor_id"])
        elif action["action"] == "unban":
            apply_unban(session, user_id, actor_id=action["actor_id"])
        else:
            _suspend(session, event, user_id, action["duration"])
    except NotFound:  # no such account here: nothing to act on, and retrying will not change that
        log.warning("moderation action for an unknown user", extra={"user_id": str(user_id), "event_id": str(event.id)})


def _suspend(session, event, user_id: uuid.UUID, duration: int | None) -> None:
    """Suspend for `duration` seconds from when staff decided, so a late delivery does not make it last longer."""
    end = _suspension_end(event.occurred_at, duration)
    if end is None:  # retrying would not give it a duration: say so and let the queue move on
        log.warning("moderation suspend without a usable duration ignored",
                    extra={"user_id": str(user_id), "event_id": str(event.id), "duration": duration})
        return
    apply_suspension(session, user_id, until=end)


def _suspension_end(decided_at: dt.datetime, duration: int | None) -> dt.datetime | None:
    """When a suspension of `duration` seconds from `decided_at` ends; None if it has no such end."""
    if duration is None or duration < 1:
        return None
    try:
        return decided_at + dt.timedelta(seconds=duration)
    except OverflowError:  # beyond the calendar: no suspension could end then
        return None
