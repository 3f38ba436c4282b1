"""The signed-in user's sessions (devices)."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of
from servicekit.tokens import current_principal

from auth import sessions
from auth.schemas import RevokedSessionsSchema, SessionSchema

blp = Blueprint("sessions", __name__, description="Your sessions: list and revoke.")


@blp.route("/sessions")
class Sessions(MethodView):
    @blp.login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(SessionSchema))
    def get(self, query):
        """Your sessions, newest first: when, from where, which is this one, which are revoked"""
        principal = current_principal()
        return sessions.list_sessions(request_session(), principal.user_id, current_session_id=principal.session_id,
                                      **query)


@blp.route("/sessions/<uuid:session_id>")
class OneSession(MethodView):
    @blp.login_required
    @blp.response(204)
    @blp.alt_response(404, description="No such session of yours")
    def delete(self, session_id: uuid.UUID):
        """Revoke one of your sessions (signs that device out)"""
        sessions.revoke_own_session(request_session(), current_principal().user_id, session_id)


@blp.route("/sessions/revoke-others")
class OtherSessions(MethodView):
    @blp.login_required
    @blp.response(200, RevokedSessionsSchema)
    def post(self):
        """Revoke every session of yours but this one"""
        principal = current_principal()
        return {"revoked": sessions.revoke_other_sessions(request_session(), principal.user_id, principal.session_id)}
