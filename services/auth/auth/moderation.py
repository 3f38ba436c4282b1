"""Staff, bans and suspensions: the staff role, bans that staff (or social's moderation) decide,
and suspensions that social's moderation decides.

A banned user cannot sign in and loses every session. A suspended user likewise, until
the suspension ends by itself: sign-in compares the time, so no job has to lift it.

`ban_user` / `unban_user` are the staff's commands (they commit); `apply_ban` /
`apply_unban` are the rules they share with the consumer of
`social.moderation.action_taken`, which runs them (and `apply_suspension`) inside its own
transaction. All are idempotent, so a repeated moderation action changes nothing and
publishes nothing.
"""
from __future__ import annotations

import datetime as dt
import uuid

from servicekit.errors import Conflict, NotFound
from servicekit.events import publish
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auth.models import User
from auth.sessions import revoke_all_sessions


def promote_to_staff(session: Session, username: str) -> User:
    """Give an existing account the staff role (its next tokens carry it); commits."""
    user = session.scalars(select(User).where(func.lower(User.username) == username.lower())
                           .with_for_update()).first()
    if user is None:
        raise NotFound(f"no account named {username}")
    if "staff" not in user.roles:
        user.roles = [*user.roles, "staff"]
    session.commit()
    return user


def ban_user(session: Session, user_id: uuid.UUID, *, reason: str, actor_id: uuid.UUID) -> User:
    """Staff ban a user (banning a banned user changes nothing)."""
    user = apply_ban(session, user_id, reason=reason, actor_id=actor_id)
    session.commit()
    return user


def unban_user(session: Session, user_id: uuid.UUID, *, actor_id: uuid.UUID) -> User:
    """Staff lift a user's ban."""
    user = apply_unban(session, user_id, actor_id=actor_id)
    session.commit()
    return user


def apply_ban(session: Session, user_id: uuid.UUID, *, reason: str, actor_id: uuid.UUID | None = None) -> User:
    """Ban a user: sign-in refused, every session revoked, `auth.user.banned` published. Does not commit."""
    if actor_id is not None and actor_id == user_id:
        raise Conflict("you cannot ban yourself")
    user = _locked_user(session, user_id)
    if user.banned_at is not None:
        return user
    user.banned_at = dt.datetime.now(dt.UTC)
    user.ban_reason = reason
    revoke_all_sessions(session, user.id, "banned")
    publish(session, "auth.user.banned",
            {"user_id": user.id, "reason": reason, "banned_at": user.banned_at, "actor_id": actor_id})
    return user


def apply_unban(session: Session, user_id: uuid.UUID, *, actor_id: uuid.UUID | None = None) -> User:
    """Lift a user's ban (they may sign in again); `auth.user.unbanned` published. Does not commit."""
    user = _locked_user(session, user_id)
    if user.banned_at is None:
        return user
    user.banned_at = None
    user.ban_reason = None
    publish(session, "auth.user.unbanned",
            {"user_id": user.id, "unbanned_at": dt.datetime.now(dt.UTC), "actor_id": actor_id})
    return user


def apply_suspension(session: Session, user_id: uuid.UUID, *, until: dt.datetime) -> User:
    """Suspend a user until `until`: sign-in refused until then, every session revoked now. Does not commit.

    A longer suspension replaces a shorter one; a shorter one, or one already over, changes
    nothing, so a repeated or late action is harmless. A ban is left as it is: should it be
    lifted while the suspension runs, the suspension still holds.
    """
    user = _locked_user(session, user_id)
    if until <= dt.datetime.now(dt.UTC) or (user.suspended_until is not None and user.suspended_until >= until):
        return user
    user.suspended_until = until
    revoke_all_sessions(session, user.id, "suspended")
    return user


def is_suspended(user: User, at: dt.datetime) -> bool:
    """Whether a suspension of the user is running at `at`."""
    return user.suspended_until is not None and user.suspended_until > at


def _locked_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("no such user")
    return user
