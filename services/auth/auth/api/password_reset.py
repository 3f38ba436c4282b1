"""Password reset: start with a username or email, verify a code, confirm the new password."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import GATEWAY_THROTTLED, RETRY_AFTER, Blueprint
from servicekit.context import client_origin, service_resource, service_settings
from servicekit.db import request_session

from auth import password_reset
from auth.schemas import (PasswordResetCodeSchema, PasswordResetConfirmSchema, PasswordResetStartedSchema,
                          PasswordResetStartSchema, PasswordResetVerifiedSchema)

blp = Blueprint("password_reset", __name__,
                description="Reset a forgotten password: with TOTP or a recovery code when 2FA is on, "
                            "with a one-time code sent to the account otherwise.")


@blp.route("/password-reset")
class PasswordResets(MethodView):
    @blp.arguments(PasswordResetStartSchema)
    @blp.response(202, PasswordResetStartedSchema)
    @blp.alt_response(429, description="Too many reset attempts for this account or from this address",
                      headers=RETRY_AFTER)
    def post(self, body):
        """Start a reset (the answer is the same for every login name)"""
        return password_reset.start_reset(request_session(), service_settings(), body["username_or_email"],
                                          client=client_origin())


@blp.route("/password-reset/<uuid:reset_id>/verify")
class Verification(MethodView):
    @blp.arguments(PasswordResetCodeSchema)
    @blp.response(200, PasswordResetVerifiedSchema)
    @blp.alt_response(404, description="No such reset")
    @blp.alt_response(409, description="Already verified")
    @blp.alt_response(410, description="Expired, used, or too many wrong codes")
    @blp.alt_response(422, description="The code is not valid")
    @blp.alt_response(429, description="Too many reset attempts for this account or from this address",
                      headers=RETRY_AFTER)
    def post(self, body, reset_id: uuid.UUID):
        """Prove control of the account: a TOTP or recovery code if 2FA is on, else the one-time code sent"""
        return password_reset.verify_reset(request_session(), service_settings(), service_resource("cipher"),
                                           reset_id, body["code"], client=client_origin())


@blp.route("/password-reset/<uuid:reset_id>/confirm")
class Confirmation(MethodView):
    @blp.arguments(PasswordResetConfirmSchema)
    @blp.response(204)
    @blp.alt_response(404, description="No such reset")
    @blp.alt_response(409, description="Not verified yet")
    @blp.alt_response(410, description="Expired or already used")
    @blp.alt_response(422, description="The new password is not acceptable")
    @blp.alt_response(429, description=GATEWAY_THROTTLED, headers=RETRY_AFTER)
    def post(self, body, reset_id: uuid.UUID):
        """Set the new password of a verified reset; every session of the account is signed out"""
        password_reset.confirm_reset(request_session(), reset_id, body["new_password"])
