"""Item images: the seller adds, removes and orders them; anyone fetches a rendition."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import RENDITION_RESPONSE, Blueprint, rendition_response
from servicekit.context import service_settings
from servicekit.db import request_session
from servicekit.tokens import current_principal

from marketplace import images
from marketplace.models import IMAGE_SIZES, MAX_IMAGES_PER_ITEM
from marketplace.schemas import ImageListSchema, ImageOrderSchema, ImageUploadSchema, ItemImageSchema

blp = Blueprint("images", __name__, description="Item images")

NOT_MINE = "Not my item, or I am banned"
HELD = "A pending order holds the item"


@blp.route("/items/<uuid:item_id>/images")
class ItemImages(MethodView):
    @blp.login_required
    @blp.arguments(ImageUploadSchema, location="files")
    @blp.response(201, ItemImageSchema)
    @blp.alt_response(403, description=NOT_MINE)
    @blp.alt_response(404, description="No such item, or it is removed")
    @blp.alt_response(409, description=f"{HELD}, or the item has {MAX_IMAGES_PER_ITEM} images already")
    @blp.alt_response(413, description="The request body is larger than the service accepts (6 MB)")
    @blp.alt_response(422, description="No `image` file, or not a JPEG/PNG/WebP, damaged, over 5 MB, or too many "
                                       "pixels to decode safely")
    def post(self, files, item_id: uuid.UUID):
        """Add an image to my item (multipart field `image`): re-encoded, stripped of metadata, after the others"""
        settings = service_settings()
        return images.add_image(request_session(), current_principal().user_id, item_id,
                                upload=files["image"].stream, max_bytes=settings.image_max_bytes,
                                max_pixels=settings.image_max_pixels)


@blp.route("/items/<uuid:item_id>/images/order")
class ImageOrder(MethodView):
    @blp.login_required
    @blp.arguments(ImageOrderSchema)
    @blp.response(200, ImageListSchema)
    @blp.alt_response(403, description=NOT_MINE)
    @blp.alt_response(404, description="No such item, or it is removed")
    @blp.alt_response(409, description=HELD)
    @blp.alt_response(422, description="The ids are not each of the item's images exactly once")
    def put(self, body, item_id: uuid.UUID):
        """Order my item's images: every image id, each once, the first shown in lists"""
        return {"images": images.reorder_images(request_session(), current_principal().user_id, item_id,
                                                body["image_ids"])}


@blp.route("/items/<uuid:item_id>/images/<uuid:image_id>")
class ItemImage(MethodView):
    @blp.login_required
    @blp.response(204)
    @blp.alt_response(403, description=NOT_MINE)
    @blp.alt_response(404, description="No such item or image, or the item is removed")
    @blp.alt_response(409, description=HELD)
    def delete(self, item_id: uuid.UUID, image_id: uuid.UUID):
        """Remove an image of my item (its URLs stop working; the others close up)"""
        images.remove_image(request_session(), current_principal().user_id, item_id, image_id)


@blp.route("/items/<uuid:item_id>/images/<uuid:image_id>/<int:size>", parameters=[
    {"in": "path", "name": "item_id", "description": "The item's id."},
    {"in": "path", "name": "image_id", "description": "The image's id, as in the item's image URLs."},
    {"in": "path", "name": "size", "description": "The longest side the rendition fits, in pixels.",
     "schema": {"type": "integer", "enum": list(IMAGE_SIZES)}}])
class ImageRendition(MethodView):
    @blp.doc(responses=RENDITION_RESPONSE)
    @blp.alt_response(304, description="Not modified (If-None-Match named this rendition's ETag)")
    @blp.alt_response(404, description=f"No such image, a size other than {', '.join(map(str, IMAGE_SIZES))}, or "
                                       "an item no one may see (removed, or its seller banned)")
    def get(self, item_id: uuid.UUID, image_id: uuid.UUID, size: int):
        """One rendition of an item's image (no sign-in needed)"""
        rendition = images.rendition(request_session(), item_id, image_id, size)
        return rendition_response(rendition.data, rendition.content_type, f"{image_id}-{size}")
