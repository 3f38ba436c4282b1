"""Notifications: what a user should know about, produced once per cause.

Every notification has a cause (`kind`, `source_id`: the event's id, or the friend
request's / report's id); the unique index on (user, kind, source) makes producing it
again — a redelivered event, a retried command — a no-op. None is created from
someone the recipient blocked (or who blocked them).

Of the kinds in ONE_UNREAD_PER_SUBJECT (a conversation's `message.received`) a user has
at most one unread notification per subject. A new cause while it is unread bumps it
instead of adding another: `data.count` counts what it gathered, its actor, its other
data (`message_id`) and `source_id` become the latest cause's, and `created_at` that
cause's arrival, so it moves to the top of the list. Once it is read, the next cause
makes a new one. The consumer's inbox runs each event once; besides, an event that a
notification holds as its cause (the latest it gathered, read or not) adds nothing again.

The unread count is one count over a partial index of unread rows: the hottest read of
the platform, bounded by what the user has not read (and, messages being gathered, by
conversations rather than messages). Every change of it (a notification created, some
marked read) publishes `social.notifications.changed` with the new count, in the same
transaction: messaging's live stream shows it. A bump changes no count and publishes
nothing.
"""
from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.errors import NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from social.models import ONE_UNREAD_PER_SUBJECT, UNREAD_PER_SUBJECT_WHERE, Notification, Profile
from social.relations import no_block_between

LIST_ORDER = (Notification.unread, Notification.created_at, Notification.id)  # unread first, newest first


def notify(session: Session, user_id: uuid.UUID, kind: str, *, source_id: uuid.UUID,
           actor_id: uuid.UUID | None = None, subject_type: str | None = None, subject_id: uuid.UUID | None = None,
           data: dict[str, Any] | None = None) -> bool:
    """Create the notification — or, for a kind of ONE_UNREAD_PER_SUBJECT, bump its subject's unread one — unless
    the cause was seen, it is about the user's own act, or it comes from a blocked user.

    Returns whether a notification was created (a bump creates none: the unread count stays). One statement, and
    the announcement of a new count; does not commit.
    """
    if actor_id is not None and actor_id == user_id:
        return False
    gathers = kind in ONE_UNREAD_PER_SUBJECT and subject_id is not None
    details = {key: value for key, value in (data or {}).items() if value is not None}
    new = {"id": uuid.uuid4(), "user_id": user_id, "kind": kind, "source_id": source_id, "actor_id": actor_id,
           "subject_type": subject_type, "subject_id": subject_id,
           "data": {**details, "count": 1} if gathers else details}
    outcome = session.execute(_notify_statement(gathers=gathers),
                              {f"new_{column}": value for column, value in new.items()}).first()
    if outcome is None or not outcome.created:  # blocked, seen, or a bump
        return False
    _announce(session, user_id, outcome.unread)
    return True


_COLUMNS = (Notification.id, Notification.user_id, Notification.kind, Notification.source_id, Notification.actor_id,
            Notification.subject_type, Notification.subject_id, Notification.data)


@functools.cache  # built once (building it costs more CPU than running it), run with its parameters
def _notify_statement(*, gathers: bool) -> sa.Select:
    """Insert the notification `:new_<column>` unless the recipient and the actor block one another; if it
    `gathers`, unless its cause was seen, and bumping the subject's unread one if there is one. Returns a row if one
    was inserted or bumped: whether it was created, and then the new unread count."""
    new = {column.key: sa.bindparam(f"new_{column.key}", type_=column.type) for column in _COLUMNS}
    candidate = sa.select(*new.values()).where(
        sa.or_(new["actor_id"].is_(None), no_block_between(new["user_id"], new["actor_id"])))
    if not gathers:
        statement = (insert(Notification).from_select(_COLUMNS, candidate)
                     .on_conflict_do_nothing(index_elements=["user_id", "kind", "source_id"]))
    else:
        # ON CONFLICT takes one arbiter, here the subject's unread notification; a conflict on the cause's index
        # would be an error, so a cause seen before is left out first.
        seen = sa.exists().where(Notification.user_id == new["user_id"], Notification.kind == new["kind"],
                                 Notification.source_id == new["source_id"])
        statement = insert(Notification).from_select(_COLUMNS, candidate.where(~seen))
        latest = statement.excluded
        gathered = sa.func.coalesce(Notification.data["count"].astext.cast(sa.Integer), 1)
        statement = statement.on_conflict_do_update(
            index_elements=[Notification.user_id, Notification.kind, Notification.subject_id],
            index_where=sa.text(UNREAD_PER_SUBJECT_WHERE),
            set_={Notification.source_id: latest.source_id, Notification.actor_id: latest.actor_id,
                  Notification.data: latest.data.op("||")(sa.func.jsonb_build_object("count", gathered + 1)),
                  Notification.created_at: latest.created_at})  # the latest cause's arrival: to the top of the list
    notified = statement.returning(Notification.id).cte("notified")
    created = notified.c.id == new["id"]
    # Counted in the same statement, and only for a new notification. The count sees the table as the statement
    # began (PostgreSQL runs a WITH's insert and the main query on one snapshot): the new one is added to it.
    unread = sa.case((created, _unread_of(new["user_id"]).scalar_subquery() + 1))
    return sa.select(created.label("created"), unread.label("unread"))


def _announce(session: Session, user_id: uuid.UUID, unread: int) -> None:
    """Publish the user's new unread count (messaging's stream shows it live)."""
    publish(session, "social.notifications.changed", {"user_id": user_id, "unread": unread})


def _announce_count(session: Session, user_id: uuid.UUID) -> None:
    """Publish the user's unread count as it stands in this transaction."""
    _announce(session, user_id, unread_count(session, user_id))


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
    return session.scalar(_unread_of(user_id))


def _unread_of(user_id: uuid.UUID | sa.BindParameter) -> sa.Select:
    return sa.select(sa.func.count()).select_from(Notification).where(Notification.user_id == user_id,
                                                                      Notification.read_at.is_(None))


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
