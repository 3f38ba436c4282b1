"""Refreshing tokens and signing out."""
from __future__ import annotations

from flask import request
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.tokens import current_principal

from auth.schemas import RefreshSchema, TokenPairSchema
from auth.sessions import log_out
from auth.tokens import refresh

blp = Blueprint("tokens", __name__, description="Token refresh and sign-out.")


@blp.post("/token/refresh")
@blp.arguments(RefreshSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, description="Unknown, expired or reused refresh token (reuse revokes the session)")
def refresh_tokens(body):
    """Trade a refresh token for a new pair (each refresh token works once)"""
    return refresh(request_session(), body["refresh_token"], ip=request.remote_addr,
                   user_agent=request.user_agent.string)


@blp.post("/logout")
@blp.login_required
@blp.response(204)
def logout():
    """Sign out: revoke this session and every token of it"""
    principal = current_principal()
    log_out(request_session(), principal.user_id, principal.session_id)
