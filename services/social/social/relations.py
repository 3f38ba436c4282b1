"""The questions every rule of social asks about two users — does either block the other, are they
friends — and the lock that makes a command on a pair of users run alone.

`blocked_between` answers for one pair; `no_block_between(viewer_id, column)` is the same
rule as a SQL condition, for lists and search (each side is one primary-key lookup).
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from servicekit.errors import NotFound
from sqlalchemy.orm import Session

from social.models import Block, Friendship, Profile


def no_block_between(viewer_id: uuid.UUID, other: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """True where neither the viewer nor the user in `other` blocked the other."""
    # One anti-join per direction, each on an index: a single EXISTS with an OR makes a nested loop
    # comparing every row with every block of the viewer.
    return sa.and_(~sa.exists().where(Block.blocker_id == viewer_id, Block.blocked_id == other),
                   ~sa.exists().where(Block.blocker_id == other, Block.blocked_id == viewer_id))


def blocked_between(session: Session, one: uuid.UUID, other: uuid.UUID) -> bool:
    """Whether either user blocked the other."""
    return session.scalar(sa.select(sa.not_(no_block_between(one, sa.literal(other, sa.Uuid))))) is True


def are_friends(session: Session, one: uuid.UUID, other: uuid.UUID) -> bool:
    return session.get(Friendship, (one, other)) is not None


def profile_by_username(session: Session, username: str) -> Profile:
    """The profile of `username` (any case); a banned or unknown user is `NotFound`."""
    profile = session.scalars(sa.select(Profile).where(sa.func.lower(Profile.username) == username.lower())).first()
    if profile is None or profile.banned:
        raise NotFound("no such user")
    return profile


def lock_pair(session: Session, one: uuid.UUID, other: uuid.UUID) -> tuple[Profile, Profile]:
    """Lock both users' profiles, in id order (so two commands on a pair never deadlock); `NotFound` if either
    has none. Friend requests, friendships and blocks between the two change only under this lock."""
    profiles = {p.user_id: p for p in session.scalars(
        sa.select(Profile).where(Profile.user_id.in_([one, other])).order_by(Profile.user_id).with_for_update())}
    if one not in profiles or other not in profiles:
        raise NotFound("no such user")
    return profiles[one], profiles[other]
