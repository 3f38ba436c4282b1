"""Item images: each upload becomes WebP renditions (IMAGE_SIZES, the longest side, aspect ratio kept); the
upload itself is dropped (servicekit.images: decoded by content, bomb-guarded, stripped of metadata).

An item has at most MAX_IMAGES_PER_ITEM images, in the order its seller gives them (positions 0, 1, ...
without gaps: the first is the one lists show). An image's bytes never change (a new upload is a new id),
so a rendition's URL may be cached for good. Renditions are served to anyone while the item's page is
(not once it is removed or its seller banned). Images are part of what a buyer checked out: like the
item's other fields, they do not change while a pending order holds the item.
"""
from __future__ import annotations

import uuid
from typing import Any, BinaryIO

import sqlalchemy as sa
from servicekit.errors import Conflict, Invalid, NotFound
from servicekit.images import read_upload, reencode_image
from sqlalchemy.orm import Session

from marketplace import items
from marketplace.models import IMAGE_SIZES, MAX_IMAGES_PER_ITEM, ImageRendition, Item, ItemImage, User

FIELD = "image"  # the multipart field, named by every refusal


def add_image(session: Session, seller_id: uuid.UUID, item_id: uuid.UUID, *, upload: BinaryIO, max_bytes: int,
              max_pixels: int) -> dict[str, Any]:
    """Add an image after my item's others; `Conflict` if it has MAX_IMAGES_PER_ITEM already."""
    items.lock_own_item(session, seller_id, item_id)
    _refuse_when_full(session, item_id)
    session.rollback()  # decoding takes a while: not with the item locked (checked again below)
    renditions = reencode_image(read_upload(upload, max_bytes, FIELD), sizes=IMAGE_SIZES, square=False,
                                max_bytes=max_bytes, max_pixels=max_pixels, field=FIELD)
    items.lock_own_item(session, seller_id, item_id)
    count = _refuse_when_full(session, item_id)
    image = ItemImage(id=uuid.uuid4(), item_id=item_id, position=count)
    session.add(image)
    session.flush()  # the image before its renditions (no ORM relationship orders them)
    session.add_all(ImageRendition(image_id=image.id, size=rendition.size, content_type=rendition.content_type,
                                   data=rendition.data) for rendition in renditions)
    session.commit()
    return {"id": image.id, "item_id": item_id, "position": image.position}


def remove_image(session: Session, seller_id: uuid.UUID, item_id: uuid.UUID, image_id: uuid.UUID) -> None:
    """Remove one of my item's images (its URLs stop working); the others close up."""
    items.lock_own_item(session, seller_id, item_id)
    deleted = session.execute(sa.delete(ItemImage).where(ItemImage.item_id == item_id, ItemImage.id == image_id))
    if deleted.rowcount == 0:
        raise NotFound("no such image")
    _renumber(session, item_id, [image["id"] for image in items.images_of(session, item_id)])
    session.commit()


def reorder_images(session: Session, seller_id: uuid.UUID, item_id: uuid.UUID,
                   image_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Put my item's images in this order; `image_ids` must name each of them once."""
    items.lock_own_item(session, seller_id, item_id)
    current = {image["id"] for image in items.images_of(session, item_id)}
    if len(image_ids) != len(set(image_ids)) or set(image_ids) != current:
        message = "Must list each of the item's images exactly once."
        raise Invalid(message, errors={"image_ids": [message]})
    _renumber(session, item_id, image_ids)
    session.commit()
    return items.images_of(session, item_id)


def rendition(session: Session, item_id: uuid.UUID, image_id: uuid.UUID, size: int) -> ImageRendition:
    """One rendition of an item's image; `NotFound` for an unknown image or size, or an item no one may see."""
    found = session.scalars(
        sa.select(ImageRendition)
        .join(ItemImage, ItemImage.id == ImageRendition.image_id)
        .join(Item, Item.id == ItemImage.item_id)
        .outerjoin(User, User.user_id == Item.seller_id)
        .where(ImageRendition.image_id == image_id, ImageRendition.size == size, ItemImage.item_id == item_id,
               Item.removed_at.is_(None), sa.or_(User.banned.is_(None), ~User.banned))).first()
    if found is None:
        raise NotFound("no such image")
    return found


def _refuse_when_full(session: Session, item_id: uuid.UUID) -> int:
    """How many images the item has; `Conflict` if it may have no more."""
    count = session.scalar(sa.select(sa.func.count()).where(ItemImage.item_id == item_id))
    if count >= MAX_IMAGES_PER_ITEM:
        raise Conflict(f"an item has at most {MAX_IMAGES_PER_ITEM} images; remove one first")
    return count


def _renumber(session: Session, item_id: uuid.UUID, image_ids: list[uuid.UUID]) -> None:
    """Positions 0, 1, ... in this order (the unique position is checked at commit: swaps pass)."""
    for position, image_id in enumerate(image_ids):
        session.execute(sa.update(ItemImage).where(ItemImage.item_id == item_id, ItemImage.id == image_id)
                        .values(position=position))
