"""Profiles: my own (read and edit), and another user's as I may see it.

A profile exists once auth's `auth.user.registered` has reached social (read_models);
until then my own is `NotFound`. Another user's profile is the full view, or the
limited view (no bio, no friends count) when either of us blocked the other: a user
who blocked me keeps what they wrote to themselves, and so do I towards a user I
blocked. A banned user's profile is `NotFound` to everyone but staff.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import sqlalchemy as sa
from servicekit.errors import NotFound
from sqlalchemy.orm import Session

from social.models import Block, FriendRequest, Friendship, Profile
from social.relations import are_friends

# How the viewer stands towards the profile's user, most telling first: a block outranks a
# friendship (there is none under a block), and my own block outranks theirs (mine I can lift).
RELATIONSHIPS = ("self", "blocked", "blocked_by", "friend", "request_sent", "request_received", "none")

NO_PROFILE_YET = ("Your profile does not exist yet: it is created when your new account reaches the social "
                  "service, usually within seconds of registering. Try again shortly.")
UNCHANGED = object()  # what update_profile gets for a field the client did not send


@dataclasses.dataclass(frozen=True)
class ProfileView:
    """A profile as a viewer may see it; `bio` and `friends_count` are None in the limited view."""

    user_id: uuid.UUID
    username: str
    display_name: str | None
    bio: str | None
    verified: bool
    avatar_id: uuid.UUID | None
    friends_count: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    relationship: str = "self"
    friend_request_id: uuid.UUID | None = None
    limited: bool = False


def own_profile(session: Session, user_id: uuid.UUID) -> ProfileView:
    """My profile, in full."""
    profile = session.get(Profile, user_id)
    if profile is None:
        raise NotFound(NO_PROFILE_YET)
    return _view(session, profile)


def update_profile(session: Session, user_id: uuid.UUID, *, display_name: str | None | object = UNCHANGED,
                   bio: str | None | object = UNCHANGED) -> ProfileView:
    """Set my display name and/or bio (None clears one; a field left UNCHANGED stays as it is).

    The values come checked by the request schema (length, control characters, whitespace).
    """
    profile = session.get(Profile, user_id, with_for_update=True)
    if profile is None:
        raise NotFound(NO_PROFILE_YET)
    changes = {name: value for name, value in (("display_name", display_name), ("bio", bio))
               if value is not UNCHANGED and getattr(profile, name) != value}
    if changes:
        for name, value in changes.items():
            setattr(profile, name, value)
        profile.updated_at = dt.datetime.now(dt.UTC)
    session.commit()
    return _view(session, profile)


def view_profile(session: Session, username: str, *, viewer_id: uuid.UUID, viewer_is_staff: bool) -> ProfileView:
    """`username`'s profile (any case) as the viewer may see it, with how the viewer stands towards them."""
    profile = session.scalars(sa.select(Profile).where(sa.func.lower(Profile.username) == username.lower())).first()
    if profile is None or (profile.banned and not viewer_is_staff):
        raise NotFound("no such user")
    if profile.user_id == viewer_id:
        return _view(session, profile)
    relationship, request_id = _relationship(session, viewer_id, profile.user_id)
    return _view(session, profile, relationship=relationship, friend_request_id=request_id,
                 limited=relationship in ("blocked", "blocked_by"))


def _view(session: Session, profile: Profile, *, limited: bool = False, **standing) -> ProfileView:
    """The profile as a view: in full, or limited (no bio, no friends count); `standing` is the viewer's."""
    friends_count = None if limited else session.scalar(
        sa.select(sa.func.count()).where(Friendship.user_id == profile.user_id))
    return ProfileView(user_id=profile.user_id, username=profile.username, display_name=profile.display_name,
                       bio=None if limited else profile.bio, verified=profile.verified, avatar_id=profile.avatar_id,
                       friends_count=friends_count, created_at=profile.created_at, updated_at=profile.updated_at,
                       limited=limited, **standing)


def _relationship(session: Session, viewer_id: uuid.UUID, other_id: uuid.UUID) -> tuple[str, uuid.UUID | None]:
    """(one of RELATIONSHIPS but "self", the open friend request's id if there is one)."""
    blockers = set(session.scalars(sa.select(Block.blocker_id).where(sa.or_(
        sa.and_(Block.blocker_id == viewer_id, Block.blocked_id == other_id),
        sa.and_(Block.blocker_id == other_id, Block.blocked_id == viewer_id)))))
    if viewer_id in blockers:
        return "blocked", None
    if blockers:
        return "blocked_by", None
    if are_friends(session, viewer_id, other_id):
        return "friend", None
    request = session.execute(sa.select(FriendRequest.id, FriendRequest.sender_id).where(
        FriendRequest.status == "pending",
        sa.or_(sa.and_(FriendRequest.sender_id == viewer_id, FriendRequest.recipient_id == other_id),
               sa.and_(FriendRequest.sender_id == other_id, FriendRequest.recipient_id == viewer_id)))).first()
    if request is None:
        return "none", None
    return ("request_sent" if request.sender_id == viewer_id else "request_received"), request.id
