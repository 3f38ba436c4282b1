"""Notifications: what a user should know about, produced once per cause.

Every notification has a cause (`kind`, `source_id`: the event's id, or the friend
request's / report's id); the unique index on (user, kind, source) makes producing it
again — a redelivered event, a retried command — a no-op. None is created from
someone the recipient blocked (or who blocked them). The unread count is one count
over a partial index of unread rows: the hottest read of the platform. Every change of
it (a notification created, some marked read) publishes `social.notifications.changed`
with the new count, in the same transaction: messaging's live stream shows it.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.errors import NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from social.models import Notification, Profile
from social.relations import blocked_between

LIST_ORDER = (Notification.unread, Notification.created_at, Notification.id)  # unread first, newest first


def notify(session: Session, user_id: uuid.UUID, kind: str, *, source_id: uuid.UUID,
           actor_id: uuid.UUID | None = None, subject_type: str | None = None, subject_id: uuid.UUID | None = None,
           data: dict[str, Any] | None = None) -> bool:
    """Create the notification unless it exists, is about the user's own act, or comes from a blocked user.

    Returns whether one was created. Does not commit.
    """
    if actor_id is not None and (actor_id == user_id or blocked_between(session, user_id, actor_id)):
        return False
    created = session.execute(insert(Notification).values(
        user_id=user_id, kind=kind, source_id=source_id, actor_id=actor_id, subject_type=subject_type,
        subject_id=subject_id, data={key: value for key, value in (data or {}).items() if value is not None},
    ).on_conflict_do_nothing(index_elements=["user_id", "kind", "source_id"]).returning(Notification.id))
    if created.first() is None:
        return False
    _announce_count(session, user_id)
    return True


def _announce_count(session: Session, user_id: uuid.UUID) -> None:
    """Publish the user's unread count as it stands in this transaction (messaging's stream shows it live)."""
    publish(session, "social.notifications.changed", {"user_id": user_id, "unread": unread_count(session, user_id)})


def list_notifications(session: Session, user_id: uuid.UUID, *, unread_only: bool, limit: int,
                       cursor: list | None) -> dict[str, Any]:
    """The user's notifications, unread first, then newest first; each with its actor's public name."""
    query = _rows_of(user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return keyset_page(session, query, keys=LIST_ORDER, descending=True, limit=limit, cursor=cursor)


def _rows_of(user_id: uuid.UUID) -> sa.Select:
    actor = aliased(Profile)
    return (sa.select(Notification.id, Notification.kind, Notification.actor_id, Notification.subject_type,
                      Notification.subject_id, Notification.data, Notification.created_at, Notification.read_at,
                      Notification.unread, actor.username.label("actor_username"),
                      actor.display_name.label("actor_display_name"))
            .outerjoin(actor, actor.user_id == Notification.actor_id)
            .where(Notification.user_id == user_id))


def unread_count(session: Session, user_id: uuid.UUID) -> int:
    """How many of the user's notifications are unread (an index-only count, no join)."""
    return session.scalar(sa.select(sa.func.count()).select_from(Notification)
                          .where(Notification.user_id == user_id, Notification.read_at.is_(None)))


def mark_read(session: Session, user_id: uuid.UUID, notification_id: uuid.UUID) -> sa.Row:
    """Mark one of the user's notifications read (again is harmless); someone else's is `NotFound`."""
    marked = session.execute(sa.update(Notification).where(
        Notification.id == notification_id, Notification.user_id == user_id, Notification.read_at.is_(None),
    ).values(read_at=sa.func.now())).rowcount
    if marked:
        _announce_count(session, user_id)
    session.commit()
    row = session.execute(_rows_of(user_id).where(Notification.id == notification_id)).first()
    if row is None:
        raise NotFound("no such notification")
    return row


def mark_all_read(session: Session, user_id: uuid.UUID, *, up_to: dt.datetime | None = None) -> int:
    """Mark every unread notification of the user read (those created by `up_to`, if given); how many."""
    query = sa.update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if up_to is not None:
        query = query.where(Notification.created_at <= up_to)
    marked = session.execute(query.values(read_at=sa.func.now())).rowcount
    if marked:
        _announce_count(session, user_id)
    session.commit()
    return marked
