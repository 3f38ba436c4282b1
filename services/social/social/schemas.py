"""The social service's request and response schemas (marshmallow)."""
from __future__ import annotations

import unicodedata

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate
from marshmallow.utils import get_value
from servicekit.pagination import PageArgs

from social.models import (AVATAR_SIZES, BIO_MAX_CHARS, DISPLAY_NAME_MAX_CHARS, MODERATION_ACTIONS, REPORT_STATUSES,
                           REPORT_TARGET_TYPES)
from social.profiles import RELATIONSHIPS
from social.search import QUERY_MAX_CHARS, normalized_query


def avatar_urls(avatar_id) -> dict[str, str] | None:
    """Where each rendition of an avatar is served (the id changes with every upload, so they cache forever)."""
    if avatar_id is None:
        return None
    return {str(size): f"/api/social/avatars/{avatar_id}/{size}" for size in AVATAR_SIZES}


class UserSummarySchema(Schema):
    """A user as lists show them: who, by which names, verified or not, with an avatar."""

    user_id = fields.UUID(dump_only=True)
    username = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True, allow_none=True)
    verified = fields.Boolean(dump_only=True)
    avatar = fields.Function(
        lambda row: avatar_urls(get_value(row, "avatar_id")), dump_only=True, allow_none=True, metadata={
            "description": "URL of each avatar size (64, 256, 512 px), or null without an avatar.",
            "type": "object", "additionalProperties": {"type": "string"}})


# --- profiles and avatars ----------------------------------------------------------------

# Bidirectional embeddings, overrides and isolates: in a name they can make it read as another
# (the "Trojan Source" trick), and a name is shown beside other text everywhere.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ProfileText(fields.String):
    """Text a user writes about themselves: surrounding whitespace stripped, empty meaning none (null).

    Control characters are refused (a line break only where `multiline`), and so are lone
    surrogates, which JSON can carry but UTF-8, hence the database, cannot.
    """

    def __init__(self, *, max_chars: int, multiline: bool, **kwargs) -> None:
        super().__init__(allow_none=True, **kwargs)
        self.max_chars = max_chars
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.multiline:
            text = text.replace("\r\n", "\n")
        text = text.strip()
        if not text:
            return None
        if len(text) > self.max_chars:
            raise ValidationError(f"At most {self.max_chars} characters.")
        if any(self._refused(char) for char in text):
            raise ValidationError("Must not contain control characters" +
                                  (" (other than line breaks and tabs)." if self.multiline else "."))
        return text

    def _refused(self, char: str) -> bool:
        if self.multiline and char in "\n\t":
            return False
        category = unicodedata.category(char)
        if category in ("Cc", "Cs"):
            return True
        return not self.multiline and (category in ("Zl", "Zp") or char in BIDI_CONTROLS)


class ProfileUpdateSchema(Schema):
    """What I may change in my profile; a field left out stays as it is."""

    display_name = ProfileText(max_chars=DISPLAY_NAME_MAX_CHARS, multiline=False, metadata={
        "description": f"At most {DISPLAY_NAME_MAX_CHARS} characters, one line; surrounding whitespace is removed; "
                       "null or empty clears it."})
    bio = ProfileText(max_chars=BIO_MAX_CHARS, multiline=True, metadata={
        "description": f"At most {BIO_MAX_CHARS} characters; line breaks allowed; surrounding whitespace is removed; "
                       "null or empty clears it."})


class OwnProfileSchema(UserSummarySchema):
    """My profile, in full."""

    bio = fields.String(dump_only=True, allow_none=True)
    friends_count = fields.Integer(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class ProfileSchema(UserSummarySchema):
    """Another user's profile as I may see it, and how I stand towards them."""

    bio = fields.String(dump_only=True, allow_none=True, metadata={"description": "null in the limited view."})
    friends_count = fields.Integer(dump_only=True, allow_none=True, metadata={
        "description": "null in the limited view."})
    created_at = fields.AwareDateTime(dump_only=True)
    relationship = fields.String(dump_only=True, metadata={"enum": list(RELATIONSHIPS), "description": (
        "How I stand towards this user: self (my own profile); blocked (I blocked them; it wins if we blocked "
        "each other); blocked_by (they blocked me); friend; request_sent (my friend request awaits their answer); "
        "request_received (theirs awaits mine); none.")})
    friend_request_id = fields.UUID(dump_only=True, allow_none=True, metadata={
        "description": "The open friend request between us (request_sent, request_received), else null."})
    limited = fields.Boolean(dump_only=True, metadata={"description": (
        "true when either of us blocked the other: the limited view, whose bio and friends_count are null.")})


class AvatarUploadSchema(Schema):
    avatar = Upload(required=True, metadata={"description": (
        "The picture: JPEG, PNG or WebP (judged by its content), at most 5 MB and 40 megapixels. It is cropped "
        "to a square and re-encoded as WebP at 64, 256 and 512 px, without any metadata; the upload itself is "
        "not kept.")})


# --- search ------------------------------------------------------------------------------

class SearchText(fields.String):
    """Text to search for, whitespace-normalized before it is validated (so blank is empty)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return normalized_query(super()._deserialize(value, attr, data, **kwargs))


class UserSearchQuery(PageArgs):
    q = SearchText(required=True, validate=validate.Length(min=1, max=QUERY_MAX_CHARS), metadata={
        "description": "Part of a username or display name, or either misspelt (1 to 64 characters; case and "
                       "surrounding spaces do not matter). One or two characters match the start of usernames."})


class UserSearchResultSchema(UserSummarySchema):
    is_friend = fields.Boolean(dump_only=True, metadata={"description": "Whether this user is my friend."})


# --- friends -----------------------------------------------------------------------------

class FriendRequestCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=32),
                             metadata={"description": "Whom to ask."})


class FriendRequestQuery(PageArgs):
    direction = fields.String(load_default="incoming", validate=validate.OneOf(["incoming", "outgoing"]),
                              metadata={"description": "Requests sent to me (incoming) or by me (outgoing)."})


class FriendRequestSchema(Schema):
    id = fields.UUID(dump_only=True)
    status = fields.String(dump_only=True, metadata={"description": "pending, accepted, rejected or cancelled."})
    sender = fields.Nested(UserSummarySchema, dump_only=True)
    recipient = fields.Nested(UserSummarySchema, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)


class FriendSchema(UserSummarySchema):
    since = fields.DateTime(dump_only=True, attribute="created_at",
                            metadata={"description": "When the friendship began."})


# --- blocks ------------------------------------------------------------------------------

class BlockCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=32),
                             metadata={"description": "Whom to block."})
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500),
                           metadata={"description": "Private: only you see it."})


class BlockSchema(UserSummarySchema):
    reason = fields.String(dump_only=True, allow_none=True)
    blocked_at = fields.DateTime(dump_only=True, attribute="created_at")


# --- notifications -----------------------------------------------------------------------

class NotificationQuery(PageArgs):
    unread = fields.Boolean(load_default=False, metadata={"description": "Only unread notifications."})


class NotificationSchema(Schema):
    id = fields.UUID(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"description": (
        "friend_request.received, friend_request.accepted, message.received, order.placed, order.paid, "
        "item.sold, verification.approved, verification.rejected, report.resolved, moderation.action")})
    actor = fields.Method("_actor", dump_only=True, allow_none=True, metadata={
        "description": "Who caused it (user_id, username, display_name), if someone did.", "type": "object"})
    subject_type = fields.String(dump_only=True, allow_none=True)
    subject_id = fields.UUID(dump_only=True, allow_none=True)
    data = fields.Dict(dump_only=True, metadata={"description": "Details of the kind (ids, notes); never content."})
    created_at = fields.DateTime(dump_only=True)
    read_at = fields.DateTime(dump_only=True, allow_none=True)

    def _actor(self, row):
        if row.actor_id is None:
            return None
        return {"user_id": str(row.actor_id), "username": row.actor_username,
                "display_name": row.actor_display_name}


class UnreadCountSchema(Schema):
    unread = fields.Integer(dump_only=True)


class MarkAllReadSchema(Schema):
    up_to = fields.AwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "Only those created at or before this time (what the client has shown); all if absent."})


class MarkedSchema(Schema):
    marked = fields.Integer(dump_only=True, metadata={"description": "How many became read."})


# --- reports and moderation --------------------------------------------------------------

MAX_SUSPENSION_SECONDS = 10 * 365 * 24 * 3600  # longer is a ban


def screenshot_url(row) -> str | None:
    """Where a report's screenshot is served (to its reporter and staff), or None without one."""
    return f"/api/social/reports/{row.id}/screenshot" if row.has_screenshot else None


class ReportScreenshotUploadSchema(Schema):
    screenshot = Upload(load_default=None, metadata={
        "description": "Optional evidence: a JPEG, PNG or WebP image, at most 5 MB."})


class ReportFormSchema(Schema):
    """The multipart form of a report (the screenshot itself is read by ReportScreenshotUploadSchema)."""

    target_type = fields.String(required=True, validate=validate.OneOf(REPORT_TARGET_TYPES), metadata={
        "description": "What is reported: a user, a message you received, or a marketplace item."})
    target_id = fields.UUID(required=True, metadata={
        "description": "The id of the user, the message or the item."})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000), metadata={
        "description": "What is wrong, for staff (never shown to the reported user)."})
    screenshot = Upload(load_only=True, metadata={
        "description": "Optional evidence: a JPEG, PNG or WebP image, at most 5 MB; stored re-encoded as WebP "
                       "without its metadata, seen only by you and staff."})


class ReportSchema(Schema):
    """A report as its reporter sees it: what was reported, and the outcome once resolved."""

    id = fields.UUID(dump_only=True)
    target_type = fields.String(dump_only=True, metadata={"enum": list(REPORT_TARGET_TYPES)})
    target_id = fields.UUID(dump_only=True)
    reason = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": list(REPORT_STATUSES)})
    action = fields.String(dump_only=True, allow_none=True, metadata={
        "enum": [*MODERATION_ACTIONS, None], "description": "What staff decided, once resolved."})
    screenshot = fields.Function(screenshot_url, dump_only=True, allow_none=True, metadata={
        "type": "string", "description": "URL of the screenshot (image/webp), or null without one."})
    created_at = fields.AwareDateTime(dump_only=True)
    resolved_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class AdminReportSchema(ReportSchema):
    """A report as staff see it: also who reported whom, who reviewed and decided it, when, and the notes."""

    reporter_id = fields.UUID(dump_only=True)
    target_user_id = fields.UUID(dump_only=True, metadata={
        "description": "Whose the target is: the user reported, the message's sender, the item's seller."})
    reviewer_id = fields.UUID(dump_only=True, allow_none=True)
    review_started_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    notes = fields.String(dump_only=True, allow_none=True)
    duration_seconds = fields.Integer(dump_only=True, allow_none=True)
    resolved_by = fields.UUID(dump_only=True, allow_none=True)


class AdminReportQuery(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(REPORT_STATUSES), metadata={
        "description": "Only reports with this status (open, in_review, resolved); all if absent."})
    target_type = fields.String(load_default=None, validate=validate.OneOf(REPORT_TARGET_TYPES), metadata={
        "description": "Only reports of users, messages or items; all if absent."})


class ResolutionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(MODERATION_ACTIONS), metadata={
        "description": "dismiss, warn, suspend, ban, or remove_content (a reported message or item only). "
                       "ban on a message or item also removes it."})
    notes = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "Why: recorded with the decision, and shown to the user acted against (not to the "
                       "reporter)."})
    duration_seconds = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(
        min=1, max=MAX_SUSPENSION_SECONDS), metadata={
        "description": "How long a suspension lasts, in seconds: required for suspend, refused otherwise."})
