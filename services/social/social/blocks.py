"""Blocks: a user shuts another out, both ways.

Blocking ends a friendship and every open friend request between the two, in the
same transaction, and is announced (`social.block.created`) so that messaging and
marketplace enforce it too. The reason is private to the blocker and never leaves
social.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.errors import Conflict, Invalid, NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.orm import Session

from social.friends import close_open_requests, remove_friendship
from social.models import Block, Profile
from social.relations import lock_pair

BLOCK_ORDER = (Block.created_at, Block.blocked_id)


def block_user(session: Session, blocker_id: uuid.UUID, username: str, *, reason: str | None) -> dict[str, Any]:
    """Block `username` (banned users too: a block outlives a ban)."""
    blocked = session.scalars(sa.select(Profile).where(sa.func.lower(Profile.username) == username.lower())).first()
    if blocked is None:
        raise NotFound("no such user")
    if blocked.user_id == blocker_id:
        raise Invalid("you cannot block yourself", errors={"username": ["You cannot block yourself."]})
    lock_pair(session, blocker_id, blocked.user_id)
    if session.get(Block, (blocker_id, blocked.user_id)) is not None:
        raise Conflict("you already blocked this user")
    block = Block(blocker_id=blocker_id, blocked_id=blocked.user_id, reason=reason or None,
                  created_at=dt.datetime.now(dt.UTC))
    session.add(block)
    remove_friendship(session, blocker_id, blocked.user_id, reason="blocked")
    close_open_requests(session, blocker_id, blocked.user_id)
    publish(session, "social.block.created",
            {"blocker_id": blocker_id, "blocked_id": blocked.user_id, "created_at": block.created_at})
    session.commit()
    return _view(block, blocked)


def unblock_user(session: Session, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> None:
    """Lift my block of a user (a friendship it ended does not come back); not blocked is `NotFound`."""
    block = session.get(Block, (blocker_id, blocked_id), with_for_update=True)
    if block is None:
        raise NotFound("you have not blocked this user")
    session.delete(block)
    publish(session, "social.block.removed",
            {"blocker_id": blocker_id, "blocked_id": blocked_id, "removed_at": dt.datetime.now(dt.UTC)})
    session.commit()


def list_blocks(session: Session, blocker_id: uuid.UUID, *, limit: int, cursor: list | None) -> dict[str, Any]:
    """The users I blocked, the latest first."""
    query = (sa.select(Block.created_at, Block.blocked_id, Block.reason, Profile.user_id, Profile.username,
                       Profile.display_name, Profile.verified, Profile.avatar_id)
             .join(Profile, Profile.user_id == Block.blocked_id)
             .where(Block.blocker_id == blocker_id))
    return keyset_page(session, query, keys=BLOCK_ORDER, descending=True, limit=limit, cursor=cursor)


def _view(block: Block, profile: Profile) -> dict[str, Any]:
    return {"user_id": profile.user_id, "username": profile.username, "display_name": profile.display_name,
            "verified": profile.verified, "avatar_id": profile.avatar_id, "reason": block.reason,
            "created_at": block.created_at}
