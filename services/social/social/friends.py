"""Friend requests and friendships.

Rules: no request to oneself, none while either user blocks the other, none between
friends, and at most one open request per pair — a request that crosses an open one
from the other side accepts it. Only the recipient accepts or rejects; only the sender
cancels. Every command on a pair of users first locks both profiles (in id order), so
two commands on the same pair — crossing requests, a block during an accept — run one
after the other; the unique index on open pairs is the last line of defence.

A friendship is two rows, one per direction; `social.friendship.created` /
`social.friendship.removed` announce it (messaging builds groups from friends).
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.orm import Session

from social.models import FriendRequest, Friendship, Profile
from social.notifications import notify
from social.relations import are_friends, blocked_between, lock_pair, profile_by_username

REQUEST_ORDER = (FriendRequest.created_at, FriendRequest.id)


def send_request(session: Session, sender_id: uuid.UUID, username: str) -> tuple[dict[str, Any], bool]:
    """Ask `username` to be friends; (the request, whether it is new).

    If they already asked me, their request is accepted instead (and is what comes back).
    """
    recipient = profile_by_username(session, username)
    if recipient.user_id == sender_id:
        raise Invalid("you cannot send a friend request to yourself",
                      errors={"username": ["You cannot send a friend request to yourself."]})
    sender, recipient = lock_pair(session, sender_id, recipient.user_id)
    _refuse_if_blocked(session, sender_id, recipient.user_id)
    if are_friends(session, sender_id, recipient.user_id):
        raise Conflict("you are already friends")
    crossing = _open_request(session, recipient.user_id, sender_id)
    if crossing is not None:
        _accept(session, crossing)
        session.commit()
        return _view(session, crossing), False
    if _open_request(session, sender_id, recipient.user_id) is not None:
        raise Conflict("you already sent this user a friend request")
    request = FriendRequest(id=uuid.uuid4(), sender_id=sender_id, recipient_id=recipient.user_id, status="pending")
    session.add(request)
    session.flush()
    notify(session, recipient.user_id, "friend_request.received", source_id=request.id, actor_id=sender_id,
           subject_type="friend_request", subject_id=request.id)
    session.commit()
    return _view(session, request), True


def accept_request(session: Session, user_id: uuid.UUID, request_id: uuid.UUID) -> dict[str, Any]:
    """The recipient accepts: the two are friends from now on."""
    request = _locked_party_request(session, user_id, request_id)
    if request.recipient_id != user_id:
        raise Forbidden("only the recipient can accept a friend request")
    _require_open(request)
    _refuse_if_blocked(session, request.sender_id, request.recipient_id)
    _accept(session, request)
    session.commit()
    return _view(session, request)


def reject_request(session: Session, user_id: uuid.UUID, request_id: uuid.UUID) -> dict[str, Any]:
    """The recipient declines (the sender is not told, and may ask again later)."""
    request = _locked_party_request(session, user_id, request_id)
    if request.recipient_id != user_id:
        raise Forbidden("only the recipient can reject a friend request")
    _close(request, "rejected")
    session.commit()
    return _view(session, request)


def cancel_request(session: Session, user_id: uuid.UUID, request_id: uuid.UUID) -> dict[str, Any]:
    """The sender withdraws their request."""
    request = _locked_party_request(session, user_id, request_id)
    if request.sender_id != user_id:
        raise Forbidden("only the sender can cancel a friend request")
    _close(request, "cancelled")
    session.commit()
    return _view(session, request)


def visible_request(session: Session, user_id: uuid.UUID, request_id: uuid.UUID) -> dict[str, Any]:
    """A request the user sent or received; any other is `NotFound`."""
    request = session.get(FriendRequest, request_id)
    if request is None or user_id not in (request.sender_id, request.recipient_id):
        raise NotFound("no such friend request")
    return _view(session, request)


def list_requests(session: Session, user_id: uuid.UUID, *, direction: str, limit: int,
                  cursor: list | None) -> dict[str, Any]:
    """My open requests, received (`incoming`) or sent (`outgoing`), newest first."""
    mine = FriendRequest.recipient_id if direction == "incoming" else FriendRequest.sender_id
    page = keyset_page(session, sa.select(FriendRequest).where(mine == user_id, FriendRequest.status == "pending"),
                       keys=REQUEST_ORDER, descending=True, limit=limit, cursor=cursor)
    profiles = _profiles(session, {uid for r in page["items"] for uid in (r.sender_id, r.recipient_id)})
    return {**page, "items": [_view(session, request, profiles) for request in page["items"]]}


def list_friends(session: Session, user_id: uuid.UUID, *, limit: int, cursor: list | None) -> dict[str, Any]:
    """My friends, the newest friendship first (banned accounts left out)."""
    query = (sa.select(Friendship.created_at, Friendship.friend_id, Profile.user_id, Profile.username,
                       Profile.display_name, Profile.verified, Profile.avatar_id)
             .join(Profile, Profile.user_id == Friendship.friend_id)
             .where(Friendship.user_id == user_id, Profile.banned.is_(False)))
    return keyset_page(session, query, keys=(Friendship.created_at, Friendship.friend_id), descending=True,
                       limit=limit, cursor=cursor)


def unfriend(session: Session, user_id: uuid.UUID, friend_id: uuid.UUID) -> None:
    """End a friendship (either friend may); not friends is `NotFound`."""
    if user_id == friend_id or session.get(Profile, friend_id) is None:
        raise NotFound("you are not friends with this user")
    lock_pair(session, user_id, friend_id)
    if not remove_friendship(session, user_id, friend_id, reason="unfriended"):
        raise NotFound("you are not friends with this user")
    session.commit()


def remove_friendship(session: Session, user_id: uuid.UUID, friend_id: uuid.UUID, *, reason: str) -> bool:
    """Delete both rows of a friendship and announce it; whether there was one. Does not commit."""
    removed = session.execute(sa.delete(Friendship).where(sa.or_(
        sa.and_(Friendship.user_id == user_id, Friendship.friend_id == friend_id),
        sa.and_(Friendship.user_id == friend_id, Friendship.friend_id == user_id)))).rowcount
    if removed:
        publish(session, "social.friendship.removed", {"user_id": user_id, "friend_id": friend_id,
                                                       "reason": reason, "removed_at": dt.datetime.now(dt.UTC)})
    return bool(removed)


def close_open_requests(session: Session, one: uuid.UUID, other: uuid.UUID) -> None:
    """Cancel every open request between two users, either way. Does not commit."""
    session.execute(sa.update(FriendRequest).where(
        FriendRequest.status == "pending",
        sa.or_(sa.and_(FriendRequest.sender_id == one, FriendRequest.recipient_id == other),
               sa.and_(FriendRequest.sender_id == other, FriendRequest.recipient_id == one)),
    ).values(status="cancelled", decided_at=sa.func.now()))


def _accept(session: Session, request: FriendRequest) -> None:
    _close(request, "accepted")
    session.add_all([Friendship(user_id=request.recipient_id, friend_id=request.sender_id, created_at=request.decided_at),
                     Friendship(user_id=request.sender_id, friend_id=request.recipient_id, created_at=request.decided_at)])
    publish(session, "social.friendship.created", {"user_id": request.recipient_id, "friend_id": request.sender_id,
                                                   "request_id": request.id, "created_at": request.decided_at})
    notify(session, request.sender_id, "friend_request.accepted", source_id=request.id,
           actor_id=request.recipient_id, subject_type="friend_request", subject_id=request.id)


def _close(request: FriendRequest, status: str) -> None:
    _require_open(request)
    request.status = status
    request.decided_at = dt.datetime.now(dt.UTC)


def _require_open(request: FriendRequest) -> None:
    if request.status != "pending":
        raise Conflict(f"the friend request was already {request.status}")


def _locked_party_request(session: Session, user_id: uuid.UUID, request_id: uuid.UUID) -> FriendRequest:
    request = session.get(FriendRequest, request_id)
    if request is None or user_id not in (request.sender_id, request.recipient_id):
        raise NotFound("no such friend request")
    lock_pair(session, request.sender_id, request.recipient_id)
    session.refresh(request, with_for_update=True)  # as it is now that the pair is ours
    return request


def _refuse_if_blocked(session: Session, one: uuid.UUID, other: uuid.UUID) -> None:
    if blocked_between(session, one, other):
        raise Forbidden("no friend requests between users when either blocks the other")


def _open_request(session: Session, sender_id: uuid.UUID, recipient_id: uuid.UUID) -> FriendRequest | None:
    return session.scalars(sa.select(FriendRequest).where(
        FriendRequest.sender_id == sender_id, FriendRequest.recipient_id == recipient_id,
        FriendRequest.status == "pending").with_for_update()).first()


def _profiles(session: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, Profile]:
    if not user_ids:
        return {}
    return {p.user_id: p for p in session.scalars(sa.select(Profile).where(Profile.user_id.in_(user_ids)))}


def _view(session: Session, request: FriendRequest, profiles: dict[uuid.UUID, Profile] | None = None) -> dict:
    profiles = profiles if profiles is not None else _profiles(session, {request.sender_id, request.recipient_id})
    return {"id": request.id, "status": request.status, "created_at": request.created_at,
            "decided_at": request.decided_at, "sender": profiles.get(request.sender_id),
            "recipient": profiles.get(request.recipient_id)}
