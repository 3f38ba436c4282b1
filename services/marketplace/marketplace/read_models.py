"""What the marketplace keeps of other services' state, fed by their events: users (verified, banned) from
auth, blocks from social. The marketplace never asks either service while serving a request.

Every write is idempotent (a redelivered event changes nothing more) and none commits: they run in the
consumer's transaction. A verification or ban may overtake the registration it follows (a retried event
arrives late): it is kept on a row whose username the registration fills in, since a ban lost on the way
would leave a banned seller's items on sale.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from marketplace.models import Block, User

UNKNOWN_USERNAME = ""  # until auth.user.registered arrives (the seller is shown with a null username)


# --- users ----------------------------------------------------------------------------

def register_user(session: Session, *, user_id: uuid.UUID, username: str) -> None:
    """A new account (its username; flags a late registration finds are kept)."""
    session.execute(insert(User).values(user_id=user_id, username=username)
                    .on_conflict_do_update(index_elements=[User.user_id], set_={"username": username}))


def set_verified(session: Session, user_id: uuid.UUID) -> None:
    """Staff verified the user: they may list items."""
    _upsert_user(session, user_id, verified=True)


def set_banned(session: Session, user_id: uuid.UUID, *, banned: bool) -> None:
    """A banned user's items leave search and their pages; they may list, edit or buy nothing."""
    _upsert_user(session, user_id, banned=banned)


def _upsert_user(session: Session, user_id: uuid.UUID, **flags: bool) -> None:
    session.execute(insert(User).values(user_id=user_id, username=UNKNOWN_USERNAME, **flags)
                    .on_conflict_do_update(index_elements=[User.user_id], set_=flags))


# --- blocks -----------------------------------------------------------------------------

def add_block(session: Session, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> None:
    session.execute(insert(Block).values(blocker_id=blocker_id, blocked_id=blocked_id).on_conflict_do_nothing())


def remove_block(session: Session, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> None:
    session.execute(sa.delete(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id))


# --- the questions the rules ask ---------------------------------------------------------

def no_block_between(viewer_id: uuid.UUID, other: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """True where neither the viewer nor the user in `other` blocked the other (a condition for lists)."""
    # One anti-join per direction, each on an index (the primary key; blocked_id's): a single EXISTS with
    # an OR would compare every row with every block of the viewer.
    return sa.and_(~sa.exists().where(Block.blocker_id == viewer_id, Block.blocked_id == other),
                   ~sa.exists().where(Block.blocker_id == other, Block.blocked_id == viewer_id))


def blocked_between(session: Session, one: uuid.UUID, other: uuid.UUID) -> bool:
    """Whether either user blocked the other."""
    return session.scalar(sa.select(sa.not_(no_block_between(one, sa.literal(other, sa.Uuid))))) is True


def not_banned(user_id: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """True where the user in `user_id` is not banned (a user not heard of is not: their events may be on
    the way, and a ban is kept even if it came first)."""
    return ~sa.exists().where(User.user_id == user_id, User.banned)


def is_banned(session: Session, user_id: uuid.UUID) -> bool:
    return session.scalar(sa.select(User.banned).where(User.user_id == user_id)) is True


def is_verified(session: Session, user_id: uuid.UUID) -> bool:
    return session.scalar(sa.select(User.verified).where(User.user_id == user_id)) is True
