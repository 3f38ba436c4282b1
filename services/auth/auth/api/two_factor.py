"""TOTP two-factor authentication of the signed-in user: setup, confirm, disable, recovery codes."""
from __future__ import annotations

from flask import request
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.tokens import current_principal

from auth import totp
from auth.schemas import (PasswordConfirmationSchema, RecoveryCodesSchema, TwoFactorCodeSchema, TwoFactorDisableSchema,
                          TwoFactorSetupSchema)

blp = Blueprint("two_factor", __name__, description="TOTP two-factor authentication and one-time recovery codes.")


@blp.post("/2fa/setup")
@blp.login_required
@blp.arguments(PasswordConfirmationSchema)
@blp.response(200, TwoFactorSetupSchema)
@blp.alt_response(409, description="2FA is already on")
@blp.alt_response(422, description="Wrong password")
@blp.alt_response(429, description="Too many wrong codes or passwords for the account")
def setup(body):
    """Start 2FA setup with the password: a new secret, its otpauth:// URI and QR code (off until confirmed)"""
    return totp.start_setup(request_session(), current_principal().user_id, body["password"],
                            ip=request.remote_addr, user_agent=request.user_agent.string)


@blp.post("/2fa/confirm")
@blp.login_required
@blp.arguments(TwoFactorCodeSchema)
@blp.response(200, RecoveryCodesSchema)
@blp.alt_response(409, description="No setup started, or 2FA is already on")
@blp.alt_response(429, description="Too many wrong codes or passwords for the account")
@blp.alt_response(422, description="The code is not valid")
def confirm(body):
    """Turn 2FA on with a current code from the app; returns 10 one-time recovery codes, shown only now"""
    return totp.confirm_setup(request_session(), current_principal().user_id, body["code"],
                              ip=request.remote_addr, user_agent=request.user_agent.string)


@blp.post("/2fa/disable")
@blp.login_required
@blp.arguments(TwoFactorDisableSchema)
@blp.response(204)
@blp.alt_response(409, description="2FA is not on")
@blp.alt_response(429, description="Too many wrong codes or passwords for the account")
@blp.alt_response(422, description="Wrong password or code")
def disable(body):
    """Turn 2FA off: needs the password and a current TOTP or recovery code"""
    totp.disable(request_session(), current_principal().user_id, body["password"], body["code"],
                 ip=request.remote_addr, user_agent=request.user_agent.string)


@blp.post("/2fa/recovery-codes")
@blp.login_required
@blp.arguments(TwoFactorCodeSchema)
@blp.response(200, RecoveryCodesSchema)
@blp.alt_response(409, description="2FA is not on")
@blp.alt_response(429, description="Too many wrong codes or passwords for the account")
@blp.alt_response(422, description="The code is not valid")
def regenerate_recovery_codes(body):
    """Replace the recovery codes (the old ones stop working); needs a current TOTP or recovery code"""
    return totp.regenerate_recovery_codes(request_session(), current_principal().user_id, body["code"],
                                          ip=request.remote_addr, user_agent=request.user_agent.string)
