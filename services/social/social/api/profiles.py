"""Profiles: my own, and other users'."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.tokens import current_principal

from social import profiles
from social.schemas import OwnProfileSchema, ProfileSchema, ProfileUpdateSchema

blp = Blueprint("profiles", __name__, description="Profiles: my own, and other users'")


@blp.route("/profiles/me")
class OwnProfile(MethodView):
    @blp.login_required
    @blp.response(200, OwnProfileSchema)
    @blp.alt_response(404, description="My profile does not exist yet (my registration has not reached social)")
    def get(self):
        """My profile"""
        return profiles.own_profile(request_session(), current_principal().user_id)

    @blp.login_required
    @blp.arguments(ProfileUpdateSchema)
    @blp.response(200, OwnProfileSchema)
    @blp.alt_response(404, description="My profile does not exist yet (my registration has not reached social)")
    @blp.alt_response(422, description="A value too long or with control characters, or an unknown field")
    def patch(self, changes):
        """Change my display name and/or bio (a field left out stays as it is; null clears it)"""
        return profiles.update_profile(request_session(), current_principal().user_id, **changes)


@blp.route("/profiles/<username>")
class UserProfile(MethodView):
    @blp.login_required
    @blp.response(200, ProfileSchema)
    @blp.alt_response(404, description="No such user (or a banned one, to all but staff)")
    def get(self, username: str):
        """A user's profile by username (any case); limited (no bio or friends count) if either blocked the other"""
        principal = current_principal()
        return profiles.view_profile(request_session(), username, viewer_id=principal.user_id,
                                     viewer_is_staff=principal.is_staff)
