"""The signed-in user's sessions (devices)."""
from __future__ import annotations

import uuid

from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of
from servicekit.tokens import current_principal

from auth import sessions
from auth.schemas import RevokedSessionsSchema, SessionSchema

blp = Blueprint("sessions", __name__, description="Your sessions: list and revoke.")


@blp.get("/sessions")
@blp.login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(SessionSchema))
def list_sessions(query):
    """Your sessions, newest first: when, from where, which is this one, which are revoked"""
    principal = current_principal()
    return sessions.list_sessions(request_session(), principal.user_id, current_session_id=principal.session_id,
                                  **query)


@blp.delete("/sessions/<uuid:session_id>")
@blp.login_required
@blp.response(204)
@blp.alt_response(404, description="No such session of yours")
def revoke_session(session_id: uuid.UUID):
    """Revoke one of your sessions (signs that device out)"""
    sessions.revoke_own_session(request_session(), current_principal().user_id, session_id)


@blp.post("/sessions/revoke-others")
@blp.login_required
@blp.response(200, RevokedSessionsSchema)
def revoke_other_sessions():
    """Revoke every session of yours but this one"""
    principal = current_principal()
    return {"revoked": sessions.revoke_other_sessions(request_session(), principal.user_id, principal.session_id)}
