"""Staff actions on accounts: ban and unban."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.tokens import current_principal

from auth.moderation import ban_user, unban_user
from auth.schemas import BanSchema, BanStateSchema

blp = Blueprint("admin_users", __name__, description="Staff actions on accounts")


@blp.route("/admin/users/<uuid:user_id>/ban")
class Ban(MethodView):
    @blp.staff_required
    @blp.arguments(BanSchema)
    @blp.response(200, BanStateSchema)
    @blp.alt_response(404, description="No such user")
    @blp.alt_response(409, description="Staff cannot ban themselves")
    def post(self, ban, user_id: uuid.UUID):
        """Ban a user: sign-in refused and every session revoked (banning a banned user changes nothing)"""
        return ban_user(request_session(), user_id, reason=ban["reason"], actor_id=current_principal().user_id)


@blp.route("/admin/users/<uuid:user_id>/unban")
class Unban(MethodView):
    @blp.staff_required
    @blp.response(200, BanStateSchema)
    @blp.alt_response(404, description="No such user")
    def post(self, user_id: uuid.UUID):
        """Lift a user's ban: they may sign in again"""
        return unban_user(request_session(), user_id, actor_id=current_principal().user_id)
