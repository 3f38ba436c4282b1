"""TOTP two-factor authentication of the signed-in user: setup, confirm, disable, recovery codes."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import client_origin, service_resource, service_settings
from servicekit.db import request_session
from servicekit.tokens import current_principal

from auth import totp
from auth.schemas import (PasswordConfirmationSchema, RecoveryCodesSchema, TwoFactorCodeSchema, TwoFactorDisableSchema,
                          TwoFactorSetupSchema)

blp = Blueprint("two_factor", __name__, description="TOTP two-factor authentication and one-time recovery codes.")


def _dependencies() -> tuple:
    """What every 2FA command takes first: the session, settings, cipher and the signed-in user's id."""
    return request_session(), service_settings(), service_resource("cipher"), current_principal().user_id


@blp.route("/2fa/setup")
class Setup(MethodView):
    @blp.login_required
    @blp.arguments(PasswordConfirmationSchema)
    @blp.response(200, TwoFactorSetupSchema)
    @blp.alt_response(409, description="2FA is already on")
    @blp.alt_response(422, description="Wrong password")
    @blp.alt_response(429, description="Too many wrong codes or passwords for the account")
    def post(self, body):
        """Start 2FA setup with the password: a new secret, its otpauth:// URI and QR code (off until confirmed)"""
        return totp.start_setup(*_dependencies(), body["password"], client=client_origin())


@blp.route("/2fa/confirm")
class Confirm(MethodView):
    @blp.login_required
    @blp.arguments(TwoFactorCodeSchema)
    @blp.response(200, RecoveryCodesSchema)
    @blp.alt_response(409, description="No setup started, or 2FA is already on")
    @blp.alt_response(429, description="Too many wrong codes or passwords for the account")
    @blp.alt_response(422, description="The code is not valid")
    def post(self, body):
        """Turn 2FA on with a current code from the app; returns 10 one-time recovery codes, shown only now"""
        return totp.confirm_setup(*_dependencies(), body["code"], client=client_origin())


@blp.route("/2fa/disable")
class Disable(MethodView):
    @blp.login_required
    @blp.arguments(TwoFactorDisableSchema)
    @blp.response(204)
    @blp.alt_response(409, description="2FA is not on")
    @blp.alt_response(429, description="Too many wrong codes or passwords for the account")
    @blp.alt_response(422, description="Wrong password or code")
    def post(self, body):
        """Turn 2FA off: needs the password and a current TOTP or recovery code"""
        totp.disable(*_dependencies(), body["password"], body["code"], client=client_origin())


@blp.route("/2fa/recovery-codes")
class RecoveryCodes(MethodView):
    @blp.login_required
    @blp.arguments(TwoFactorCodeSchema)
    @blp.response(200, RecoveryCodesSchema)
    @blp.alt_response(409, description="2FA is not on")
    @blp.alt_response(429, description="Too many wrong codes or passwords for the account")
    @blp.alt_response(422, description="The code is not valid")
    def post(self, body):
        """Replace the recovery codes (the old ones stop working); needs a current TOTP or recovery code"""
        return totp.regenerate_recovery_codes(*_dependencies(), body["code"], client=client_origin())
