"""Registration: a new account, from a solved proof-of-work challenge."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import GATEWAY_THROTTLED, RETRY_AFTER, Blueprint
from servicekit.context import service_settings
from servicekit.db import request_session

from auth.accounts import register_user
from auth.schemas import AccountSchema, RegistrationSchema

blp = Blueprint("register", __name__, description="Creating an account.")


@blp.route("/register")
class Registration(MethodView):
    @blp.arguments(RegistrationSchema)
    @blp.response(201, AccountSchema)
    @blp.alt_response(409, description="The username, email or phone is already registered (the challenge is spent)")
    @blp.alt_response(422, description="Invalid field, weak or common password (the challenge is spent), or a "
                                       "missing, forged, expired or used challenge")
    @blp.alt_response(429, description=GATEWAY_THROTTLED, headers=RETRY_AFTER)
    def post(self, body):
        """Create an account (username, email, phone, password) with a solved proof-of-work challenge"""
        return register_user(request_session(), service_settings().secret_key, **body)
