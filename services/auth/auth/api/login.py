"""Signing in: password, then the second factor when 2FA is on."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import GATEWAY_THROTTLED, RETRY_AFTER, Blueprint
from servicekit.context import client_origin, service_resource, service_settings
from servicekit.db import request_session

from auth.browser import SET_COOKIE, delivered
from auth.login import complete_mfa_login, log_in
from auth.schemas import LoginResultSchema, LoginSchema, MfaLoginSchema, TokenPairSchema

blp = Blueprint("login", __name__, description="Signing in.")


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResultSchema, headers=SET_COOKIE)
    @blp.alt_response(401, description="Invalid credentials (the same answer for every reason)")
    @blp.alt_response(429, description=GATEWAY_THROTTLED, headers=RETRY_AFTER)
    def post(self, body):
        """Sign in with username (or email) and password: tokens, or an MFA step when 2FA is on"""
        settings = service_settings()
        result = log_in(request_session(), settings, service_resource("cipher"), login=body["username"],
                        password=body["password"], client=client_origin())
        return delivered(settings, result, body["mode"])


@blp.route("/login/2fa")
class SecondFactor(MethodView):
    @blp.arguments(MfaLoginSchema)
    @blp.response(200, TokenPairSchema, headers=SET_COOKIE)
    @blp.alt_response(401, description="Wrong code, or the MFA token expired or was used")
    @blp.alt_response(429, description=GATEWAY_THROTTLED, headers=RETRY_AFTER)
    def post(self, body):
        """Finish a 2FA sign-in with the MFA token and a TOTP or recovery code"""
        settings = service_settings()
        tokens = complete_mfa_login(request_session(), settings, service_resource("cipher"),
                                    mfa_token=body["mfa_token"], code=body["code"], client=client_origin())
        return delivered(settings, tokens, body["mode"])
