"""The signed-in user's account."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import client_origin, service_settings
from servicekit.db import request_session
from servicekit.tokens import current_principal

from auth.accounts import change_password, get_account
from auth.schemas import AccountSchema, PasswordChangeSchema

blp = Blueprint("me", __name__, description="Your account.")


@blp.route("/me")
class Me(MethodView):
    @blp.login_required
    @blp.response(200, AccountSchema)
    def get(self):
        """Your account (never a secret)"""
        return get_account(request_session(), current_principal().user_id)


@blp.route("/me/password")
class MyPassword(MethodView):
    @blp.login_required
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.alt_response(422, description="Wrong current password, or the new one is not acceptable")
    @blp.alt_response(429, description="Too many wrong passwords: the account is locked for a while")
    def post(self, body):
        """Change your password (the current one is required); signs out your other sessions"""
        principal = current_principal()
        change_password(request_session(), service_settings(), principal.user_id,
                        current_session_id=principal.session_id, client=client_origin(), **body)
