"""The social service's tables (servicekit adds outbox, inbox and revoked_sessions).

Users are auth's: a profile is created from `auth.user.registered` and keeps the
verified and banned state auth announces. Messages and items are known from
messaging's and marketplace's events only as far as social needs them (who sent a
message to whom, who sells an item): to notify, and to know whose content a report
is about.
"""
from __future__ import annotations

import datetime as dt
import uuid

from servicekit.db import new_metadata
from sqlalchemy import (ARRAY, Boolean, CheckConstraint, Computed, DateTime, ForeignKey, Index, Integer, LargeBinary,
                        PrimaryKeyConstraint, SmallInteger, String, Text, Uuid, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = new_metadata()


def _now():
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


BIO_MAX_CHARS = 500
DISPLAY_NAME_MAX_CHARS = 64
AVATAR_SIZES = (64, 256, 512)  # the renditions every avatar has, square, in pixels


class Profile(Base):
    """A user as others see them; the id is auth's user id."""

    __tablename__ = "profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX_CHARS))
    bio: Mapped[str | None] = mapped_column(String(BIO_MAX_CHARS))
    avatar_id: Mapped[uuid.UUID | None] = mapped_column()
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    banned: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    # What search matches: username and display name, lower-cased, in one trigram-indexed column.
    search_text: Mapped[str] = mapped_column(
        Text, Computed("lower(username || ' ' || coalesce(display_name, ''))", persisted=True))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        Index("uq_profiles_username_lower", func.lower(username), unique=True),
        # Usernames by prefix (searches of one or two characters): LIKE 'ab%' as an index range, whatever the
        # database's collation.
        Index("ix_profiles_username_prefix", func.lower(username).label("username_lower"),
              postgresql_ops={"username_lower": "text_pattern_ops"}),
        # Substring (ILIKE '%q%') and fuzzy (similarity, word similarity) search on one GIN index (pg_trgm).
        Index("ix_profiles_search_text_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
    )


class AvatarImage(Base):
    """One rendition of an avatar, re-encoded from the upload (the original is never kept)."""

    __tablename__ = "avatar_images"

    avatar_id: Mapped[uuid.UUID] = mapped_column()
    size: Mapped[int] = mapped_column(SmallInteger)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.user_id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (PrimaryKeyConstraint("avatar_id", "size"),)


class FriendRequest(Base):
    """A request from `sender_id` to `recipient_id`: pending until accepted, rejected or cancelled."""

    __tablename__ = "friend_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sender_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    recipient_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    created_at: Mapped[dt.datetime] = _now()
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("sender_id <> recipient_id", name="not_to_self"),
        CheckConstraint("status IN ('pending', 'accepted', 'rejected', 'cancelled')", name="status"),
        # At most one open request per pair of users, whichever way it goes.
        Index("uq_friend_requests_open_pair", func.least(sender_id, recipient_id),
              func.greatest(sender_id, recipient_id), unique=True, postgresql_where=text("status = 'pending'")),
        Index("ix_friend_requests_recipient_open", "recipient_id", "created_at",
              postgresql_where=text("status = 'pending'")),
        Index("ix_friend_requests_sender_open", "sender_id", "created_at",
              postgresql_where=text("status = 'pending'")),
    )


class Friendship(Base):
    """One direction of a friendship: every friendship is two rows, (a, b) and (b, a), written together."""

    __tablename__ = "friendships"

    user_id: Mapped[uuid.UUID] = mapped_column()
    friend_id: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        PrimaryKeyConstraint("user_id", "friend_id"),
        CheckConstraint("user_id <> friend_id", name="not_self"),
        Index("ix_friendships_user_created", "user_id", "created_at", "friend_id"),
    )


class Block(Base):
    """`blocker_id` blocked `blocked_id`: nothing passes between them, in either direction."""

    __tablename__ = "blocks"

    blocker_id: Mapped[uuid.UUID] = mapped_column()
    blocked_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        PrimaryKeyConstraint("blocker_id", "blocked_id"),
        CheckConstraint("blocker_id <> blocked_id", name="not_self"),
        Index("ix_blocks_blocker_created", "blocker_id", "created_at", "blocked_id"),
    )


# Kinds of which a user has at most one unread notification per subject (a conversation's messages): a new
# cause while it is unread bumps that one (notifications.py) instead of adding another.
ONE_UNREAD_PER_SUBJECT = ("message.received",)
# The rows that are a subject's one unread notification: the partial unique index below, ON CONFLICT's arbiter.
UNREAD_PER_SUBJECT_WHERE = f"read_at IS NULL AND kind IN ({', '.join(repr(kind) for kind in ONE_UNREAD_PER_SUBJECT)})"


class Notification(Base):
    """Something a user should know about; produced once per cause (`kind`, `source_id`), or for the kinds of
    ONE_UNREAD_PER_SUBJECT gathering every cause about its subject while it is unread (`source_id`: the latest)."""

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(String(48), nullable=False)
    # What caused it: the event's id, or the friend request's / report's id for social's own notifications (the
    # latest cause, for a notification that gathers its subject's).
    source_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID | None] = mapped_column()
    data: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[dt.datetime] = _now()  # a gathering notification's: when its latest cause came
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # 1 while unread: the first key of the list order (unread first), as an integer a cursor can hold.
    unread: Mapped[int] = mapped_column(Integer, Computed("CASE WHEN read_at IS NULL THEN 1 ELSE 0 END",
                                                          persisted=True))

    __table_args__ = (
        Index("uq_notifications_cause", "user_id", "kind", "source_id", unique=True),
        Index("ix_notifications_list", "user_id", "unread", "created_at", "id"),
        # The unread count is one index-only count over this partial index.
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
        # The one unread notification per subject of those kinds: what a new cause bumps (ON CONFLICT's arbiter).
        Index("uq_notifications_unread_subject", "user_id", "kind", "subject_id", unique=True,
              postgresql_where=text(UNREAD_PER_SUBJECT_WHERE)),
    )


class KnownMessage(Base):
    """A message as messaging announced it (no content): who sent it, in which conversation, to whom."""

    __tablename__ = "known_messages"

    message_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    sender_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    recipient_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class KnownItem(Base):
    """A marketplace item as marketplace announced it: who sells it."""

    __tablename__ = "known_items"

    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seller_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    title: Mapped[str | None] = mapped_column(String(200))
    listed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


REPORT_TARGET_TYPES = ("user", "message", "item")
REPORT_STATUSES = ("open", "in_review", "resolved")
MODERATION_ACTIONS = ("dismiss", "warn", "suspend", "ban", "remove_content")


class Report(Base):
    """A user's report of a user, a message or an item; staff take it into review and resolve it."""

    __tablename__ = "reports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reporter_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    target_type: Mapped[str] = mapped_column(String(16), nullable=False)
    target_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    # Whose the target is: the user reported, the message's sender, the item's seller.
    target_user_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    reason: Mapped[str] = mapped_column(String(1000), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    created_at: Mapped[dt.datetime] = _now()
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column()
    review_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    action: Mapped[str | None] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(String(2000))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("target_type IN ('user', 'message', 'item')", name="target_type"),
        CheckConstraint("status IN ('open', 'in_review', 'resolved')", name="status"),
        CheckConstraint("action IS NULL OR action IN ('dismiss', 'warn', 'suspend', 'ban', 'remove_content')",
                        name="action"),
        # One open report per reporter and target.
        Index("uq_reports_open_per_reporter_target", "reporter_id", "target_type", "target_id", unique=True,
              postgresql_where=text("status <> 'resolved'")),
        Index("ix_reports_queue", "status", "created_at", "id"),
    )


class ReportScreenshot(Base):
    """The screenshot a reporter attached, re-encoded (metadata stripped); seen only by the reporter and staff."""

    __tablename__ = "report_screenshots"

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
