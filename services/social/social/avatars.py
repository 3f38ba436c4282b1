"""Avatars: an uploaded picture becomes a fixed set of square WebP renditions; the upload itself is dropped.

Each upload gets a new avatar id, so a rendition's URL names bytes that never change
(served with a year-long immutable cache) and a new upload is new URLs. Renditions
are as public as usernames: anyone may fetch one by its id, except a banned user's
(a picture can be the very reason for a ban).
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import BinaryIO

import sqlalchemy as sa
from servicekit.errors import NotFound
from servicekit.images import read_upload, reencode_image
from sqlalchemy.orm import Session

from social.models import AVATAR_SIZES, AvatarImage, Profile
from social.profiles import NO_PROFILE_YET, ProfileView, own_profile

FIELD = "avatar"  # the multipart field, named by every refusal


def set_avatar(session: Session, user_id: uuid.UUID, *, upload: BinaryIO, max_bytes: int,
               max_pixels: int) -> ProfileView:
    """Make the uploaded image my avatar, replacing the previous one (whose URLs stop working)."""
    # Checked and re-encoded before the profile is locked: decoding takes a while, and the lock need not.
    renditions = reencode_image(read_upload(upload, max_bytes, FIELD), sizes=AVATAR_SIZES, square=True,
                                max_bytes=max_bytes, max_pixels=max_pixels, field=FIELD)
    profile = _locked_profile(session, user_id)
    avatar_id = uuid.uuid4()
    session.add_all(AvatarImage(avatar_id=avatar_id, size=rendition.size, user_id=user_id,
                                content_type=rendition.content_type, data=rendition.data)
                    for rendition in renditions)
    _delete_avatars(session, user_id, keep=avatar_id)
    profile.avatar_id = avatar_id
    profile.updated_at = dt.datetime.now(dt.UTC)
    session.commit()
    return own_profile(session, user_id)


def remove_avatar(session: Session, user_id: uuid.UUID) -> None:
    """Remove my avatar (having none already is fine)."""
    profile = _locked_profile(session, user_id)
    if profile.avatar_id is not None:
        _delete_avatars(session, user_id)
        profile.avatar_id = None
        profile.updated_at = dt.datetime.now(dt.UTC)
    session.commit()


def avatar_image(session: Session, avatar_id: uuid.UUID, size: int) -> AvatarImage:
    """One rendition of an avatar; `NotFound` for an unknown id or size, a replaced avatar, or a banned user's."""
    image = session.scalars(sa.select(AvatarImage).join(Profile, Profile.user_id == AvatarImage.user_id).where(
        AvatarImage.avatar_id == avatar_id, AvatarImage.size == size, sa.not_(Profile.banned))).first()
    if image is None:
        raise NotFound("no such avatar")
    return image


def _locked_profile(session: Session, user_id: uuid.UUID) -> Profile:
    # Locked so that two uploads by the same user run one after the other, and the loser's renditions go.
    profile = session.get(Profile, user_id, with_for_update=True)
    if profile is None:
        raise NotFound(NO_PROFILE_YET)
    return profile


def _delete_avatars(session: Session, user_id: uuid.UUID, *, keep: uuid.UUID | None = None) -> None:
    """Every rendition of the user's avatars but `keep`'s (there is normally one avatar, the current one)."""
    condition = AvatarImage.user_id == user_id
    if keep is not None:
        condition = sa.and_(condition, AvatarImage.avatar_id != keep)
    session.execute(sa.delete(AvatarImage).where(condition))
