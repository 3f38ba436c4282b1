"""Refreshing tokens and signing out."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import client_origin, service_resource, service_settings
from servicekit.db import request_session
from servicekit.tokens import current_principal

from auth.schemas import RefreshSchema, TokenPairSchema
from auth.sessions import revoke_own_session
from auth.tokens import refresh

blp = Blueprint("tokens", __name__, description="Token refresh and sign-out.")


@blp.route("/token/refresh")
class Refresh(MethodView):
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="Unknown, expired or reused refresh token (reuse revokes the session)")
    def post(self, body):
        """Trade a refresh token for a new pair (each refresh token works once)"""
        return refresh(request_session(), service_settings(), service_resource("cipher"), body["refresh_token"],
                       client=client_origin())


@blp.route("/logout")
class Logout(MethodView):
    @blp.login_required
    @blp.response(204)
    def post(self):
        """Sign out: revoke this session and every token of it"""
        principal = current_principal()
        revoke_own_session(request_session(), principal.user_id, principal.session_id)
