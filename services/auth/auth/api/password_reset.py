"""Password reset: start with a username or email, verify a code, confirm the new password."""
from __future__ import annotations

import uuid

from flask import request
from servicekit.api import Blueprint
from servicekit.db import request_session

from auth import password_reset
from auth.schemas import (PasswordResetCodeSchema, PasswordResetConfirmSchema, PasswordResetStartedSchema,
                          PasswordResetStartSchema, PasswordResetVerifiedSchema)

blp = Blueprint("password_reset", __name__, description="Reset a forgotten password: with TOTP or a recovery code when 2FA is on, "
                            "with a one-time code sent to the account otherwise.")


@blp.post("/password-reset")
@blp.arguments(PasswordResetStartSchema)
@blp.response(202, PasswordResetStartedSchema)
@blp.alt_response(429, description="Too many reset attempts for this account or from this address")
def start(body):
    """Start a reset (the answer is the same whether or not the account exists)"""
    return password_reset.start_reset(request_session(), body["username_or_email"], ip=request.remote_addr,
                                      user_agent=request.user_agent.string)


@blp.post("/password-reset/<uuid:reset_id>/verify")
@blp.arguments(PasswordResetCodeSchema)
@blp.response(200, PasswordResetVerifiedSchema)
@blp.alt_response(404, description="No such reset")
@blp.alt_response(409, description="Already verified")
@blp.alt_response(410, description="Expired, used, or too many wrong codes")
@blp.alt_response(422, description="The code is not valid")
@blp.alt_response(429, description="Too many reset attempts for this account or from this address")
def verify(body, reset_id: uuid.UUID):
    """Prove control of the account: a TOTP or recovery code (method totp) or the code sent (method code)"""
    return password_reset.verify_reset(request_session(), reset_id, body["code"], ip=request.remote_addr,
                                       user_agent=request.user_agent.string)


@blp.post("/password-reset/<uuid:reset_id>/confirm")
@blp.arguments(PasswordResetConfirmSchema)
@blp.response(204)
@blp.alt_response(404, description="No such reset")
@blp.alt_response(409, description="Not verified yet")
@blp.alt_response(410, description="Expired or already used")
@blp.alt_response(422, description="The new password is not acceptable")
def confirm(body, reset_id: uuid.UUID):
    """Set the new password of a verified reset; every session of the account is signed out"""
    password_reset.confirm_reset(request_session(), reset_id, body["new_password"])
