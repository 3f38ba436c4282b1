"""Avatars: upload or remove mine; anyone fetches a rendition by its id."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import RENDITION_RESPONSE, Blueprint, rendition_response
from servicekit.context import service_settings
from servicekit.db import request_session
from servicekit.tokens import current_principal

from social import avatars
from social.models import AVATAR_SIZES
from social.schemas import AvatarUploadSchema, OwnProfileSchema

blp = Blueprint("avatars", __name__, description="Avatar images")



@blp.route("/profiles/me/avatar")
class OwnAvatar(MethodView):
    @blp.login_required
    @blp.arguments(AvatarUploadSchema, location="files")
    @blp.response(200, OwnProfileSchema)
    @blp.alt_response(404, description="My profile does not exist yet (my registration has not reached social)")
    @blp.alt_response(413, description="The request body is larger than the service accepts (6 MB)")
    @blp.alt_response(422, description="No `avatar` file, or not a JPEG/PNG/WebP, damaged, over 5 MB, or too many "
                                        "pixels to decode safely")
    def put(self, files):
        """Upload my avatar (multipart field `avatar`): cropped square, re-encoded, stripped of metadata"""
        settings = service_settings()
        return avatars.set_avatar(request_session(), current_principal().user_id, upload=files["avatar"].stream,
                                  max_bytes=settings.avatar_max_bytes, max_pixels=settings.image_max_pixels)

    @blp.login_required
    @blp.response(204)
    @blp.alt_response(404, description="My profile does not exist yet (my registration has not reached social)")
    def delete(self):
        """Remove my avatar"""
        avatars.remove_avatar(request_session(), current_principal().user_id)


@blp.route("/avatars/<uuid:avatar_id>/<int:size>", parameters=[
    {"in": "path", "name": "avatar_id", "description": "The avatar's id, as in a profile's avatar URLs."},
    {"in": "path", "name": "size", "description": "The side of the square, in pixels.",
     "schema": {"type": "integer", "enum": list(AVATAR_SIZES)}}])
class AvatarImage(MethodView):
    @blp.doc(responses=RENDITION_RESPONSE)
    @blp.alt_response(304, description="Not modified (If-None-Match named this rendition's ETag)")
    @blp.alt_response(404, description=f"No such avatar, or a size other than {', '.join(map(str, AVATAR_SIZES))}")
    def get(self, avatar_id: uuid.UUID, size: int):
        """One rendition of an avatar (no sign-in needed: avatars are as public as usernames)"""
        image = avatars.avatar_image(request_session(), avatar_id, size)
        return rendition_response(image.data, image.content_type, f"{avatar_id}-{size}")
