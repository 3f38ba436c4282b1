"""What social keeps of other services' state, fed by their events: profiles from auth's
accounts (with the verified badge and the ban), and whose a message or an item is.

Every write is idempotent (a redelivered or repeated event changes nothing more), and
none commits: they run in the consumer's transaction.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from social.models import KnownItem, KnownMessage, Profile

log = logging.getLogger(__name__)


def create_profile(session: Session, *, user_id: uuid.UUID, username: str, created_at: dt.datetime) -> None:
    """The profile of a new account (nothing happens if it exists)."""
    session.execute(insert(Profile).values(user_id=user_id, username=username, created_at=created_at,
                                           updated_at=created_at).on_conflict_do_nothing())


def set_verified(session: Session, user_id: uuid.UUID) -> None:
    if not _update_profile(session, user_id, verified=True):
        log.warning("verified: no profile for this user", extra={"user_id": str(user_id)})


def set_banned(session: Session, user_id: uuid.UUID, *, banned: bool) -> None:
    if not _update_profile(session, user_id, banned=banned):
        log.warning("ban state: no profile for this user", extra={"user_id": str(user_id)})


def _update_profile(session: Session, user_id: uuid.UUID, **values) -> bool:
    return session.execute(sa.update(Profile).where(Profile.user_id == user_id).values(**values)).rowcount > 0


def remember_message(session: Session, *, message_id: uuid.UUID, conversation_id: uuid.UUID, sender_id: uuid.UUID,
                     recipient_ids: list[uuid.UUID], created_at: dt.datetime) -> None:
    session.execute(insert(KnownMessage).values(
        message_id=message_id, conversation_id=conversation_id, sender_id=sender_id,
        recipient_ids=list(dict.fromkeys(recipient_ids)), created_at=created_at).on_conflict_do_nothing())


def remember_item(session: Session, *, item_id: uuid.UUID, seller_id: uuid.UUID, title: str | None,
                  listed_at: dt.datetime) -> None:
    session.execute(insert(KnownItem).values(item_id=item_id, seller_id=seller_id, title=title,
                                             listed_at=listed_at).on_conflict_do_nothing())
