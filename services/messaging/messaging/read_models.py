"""What messaging keeps of other services' state, fed by their events: users (verified, banned) and
their public keys from auth, friendships and blocks from social.

Every write is idempotent (a redelivered or repeated event changes nothing more) and
none commits: they run in the consumer's transaction. Events of one kind may arrive out
of order (a retried one overtakes the next), so where order matters the event's own time
decides, not its arrival: a key registered before the user's active one is kept inactive.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from messaging.models import Block, Friendship, PublicKey, User

log = logging.getLogger(__name__)


# --- users ----------------------------------------------------------------------------

def register_user(session: Session, *, user_id: uuid.UUID, username: str) -> None:
    """A new account (nothing happens if it is known)."""
    session.execute(insert(User).values(user_id=user_id, username=username).on_conflict_do_nothing())


def set_verified(session: Session, user_id: uuid.UUID) -> None:
    if not _update_user(session, user_id, verified=True):
        log.warning("verified: no such user in messaging", extra={"user_id": str(user_id)})


def set_banned(session: Session, user_id: uuid.UUID, *, banned: bool) -> None:
    if not _update_user(session, user_id, banned=banned):
        log.warning("ban state: no such user in messaging", extra={"user_id": str(user_id)})


def _update_user(session: Session, user_id: uuid.UUID, **values) -> bool:
    return session.execute(sa.update(User).where(User.user_id == user_id).values(**values)).rowcount > 0


# --- public keys ----------------------------------------------------------------------

def register_key(session: Session, *, user_id: uuid.UUID, fingerprint: str, purpose: str, algorithm: str,
                 pem: str, created_at: dt.datetime) -> None:
    """A newly registered key becomes the user's active key of its purpose, deactivating the previous one;
    a key older than the active one (its event came late) is kept, inactive, for verifying old messages."""
    if session.get(PublicKey, fingerprint) is not None:
        return
    current = session.scalars(sa.select(PublicKey).where(
        PublicKey.user_id == user_id, PublicKey.purpose == purpose, PublicKey.active).with_for_update()).first()
    newest = current is None or current.created_at <= created_at
    if current is not None and newest:
        current.active = False
        current.deactivated_at = created_at
        session.flush()  # before the new active row: one active key per user and purpose (a unique index)
    session.add(PublicKey(fingerprint=fingerprint, user_id=user_id, purpose=purpose, algorithm=algorithm, pem=pem,
                          active=newest, created_at=created_at, deactivated_at=None if newest else created_at))
    session.flush()


def revoke_key(session: Session, *, fingerprint: str, deactivated_at: dt.datetime) -> None:
    """The key is no longer active (it stays, for verifying what it signed)."""
    key = session.get(PublicKey, fingerprint, with_for_update=True)
    if key is None:
        log.warning("key revoked: no such key in messaging", extra={"fingerprint": fingerprint})
        return
    if key.active:
        key.active = False
        key.deactivated_at = deactivated_at


# --- friendships and blocks -------------------------------------------------------------

def add_friendship(session: Session, one: uuid.UUID, other: uuid.UUID) -> None:
    """Both directions of a friendship."""
    session.execute(insert(Friendship).values([{"user_id": one, "friend_id": other},
                                               {"user_id": other, "friend_id": one}]).on_conflict_do_nothing())


def remove_friendship(session: Session, one: uuid.UUID, other: uuid.UUID) -> None:
    session.execute(sa.delete(Friendship).where(sa.or_(
        sa.and_(Friendship.user_id == one, Friendship.friend_id == other),
        sa.and_(Friendship.user_id == other, Friendship.friend_id == one))))


def add_block(session: Session, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> None:
    session.execute(insert(Block).values(blocker_id=blocker_id, blocked_id=blocked_id).on_conflict_do_nothing())


def remove_block(session: Session, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> None:
    session.execute(sa.delete(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id))


# --- the questions the rules ask ---------------------------------------------------------

def blocked_between(session: Session, one: uuid.UUID, other: uuid.UUID) -> bool:
    """Whether either user blocked the other."""
    return session.scalar(sa.select(sa.exists().where(sa.or_(
        sa.and_(Block.blocker_id == one, Block.blocked_id == other),
        sa.and_(Block.blocker_id == other, Block.blocked_id == one))))) is True


def friends_of(session: Session, user_id: uuid.UUID, candidates: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `candidates` who are `user_id`'s friends."""
    if not candidates:
        return set()
    return set(session.scalars(sa.select(Friendship.friend_id).where(
        Friendship.user_id == user_id, Friendship.friend_id.in_(candidates))))


def is_banned(session: Session, user_id: uuid.UUID) -> bool:
    """Whether auth announced a ban of the user (unknown users are not banned: their events may be on the way)."""
    return session.scalar(sa.select(User.banned).where(User.user_id == user_id)) is True


def is_verified(session: Session, user_id: uuid.UUID) -> bool:
    return session.scalar(sa.select(User.verified).where(User.user_id == user_id)) is True
