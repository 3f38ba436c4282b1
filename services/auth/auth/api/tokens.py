"""Refreshing tokens and signing out."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import client_origin, service_resource, service_settings
from servicekit.db import request_session
from servicekit.tokens import current_principal

from auth.browser import CSRF_HEADER, REFRESH_PARAMETERS, SET_COOKIE, cleared_cookie, refresh_from
from auth.schemas import RefreshSchema, TokenPairSchema
from auth.sessions import revoke_own_session

blp = Blueprint("tokens", __name__, description="Token refresh and sign-out.")


@blp.route("/token/refresh")
class Refresh(MethodView):
    @blp.arguments(RefreshSchema)
    @blp.doc(parameters=REFRESH_PARAMETERS)
    @blp.response(200, TokenPairSchema, headers=SET_COOKIE)
    @blp.alt_response(401, description="No refresh token, or an unknown, expired or reused one (reuse revokes the "
                                        "session); a refused cookie is cleared", headers=SET_COOKIE)
    @blp.alt_response(403, description="The refresh cookie without the header X-BeYou-CSRF: 1 "
                                        "(urn:beyou:problem:csrf); nothing is spent or revoked")
    def post(self, body):
        """Trade a refresh token (the body's, else the browser-mode cookie) for new tokens; each works once"""
        settings = service_settings()
        return refresh_from(request_session(), settings, service_resource("cipher"),
                            body_token=body.get("refresh_token"),
                            cookie=request.cookies.get(settings.refresh_cookie_name),
                            csrf_header=request.headers.get(CSRF_HEADER), client=client_origin())


@blp.route("/logout")
class Logout(MethodView):
    @blp.login_required
    @blp.response(204, headers=SET_COOKIE)
    def post(self):
        """Sign out: revoke this session and every token of it (and clear the browser-mode cookie)"""
        principal = current_principal()
        revoke_own_session(request_session(), principal.user_id, principal.session_id)
        return None, {"Set-Cookie": cleared_cookie(service_settings())}
