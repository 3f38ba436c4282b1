"""GET /api/<service>/whoami: who this service takes the caller to be.

Every service answers it the same way, so a client (or an operator) can check
that a token is accepted everywhere, and that a revoked session is refused
everywhere, without depending on any one service's features.
"""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from servicekit.api import Blueprint
from servicekit.tokens import current_principal


class PrincipalSchema(Schema):
    user_id = fields.UUID()
    session_id = fields.UUID()
    roles = fields.List(fields.String())
    verified = fields.Boolean()
    expires_at = fields.AwareDateTime()


def whoami_blueprint() -> Blueprint:
    blp = Blueprint("whoami", __name__, description="The caller, as this service sees them")

    @blp.route("/whoami")
    class WhoAmI(MethodView):
        @blp.login_required
        @blp.response(200, PrincipalSchema)
        def get(self):
            """The caller's identity from the access token (401 if it is refused here)"""
            principal = current_principal()
            return {"user_id": principal.user_id, "session_id": principal.session_id,
                    "roles": sorted(principal.roles), "verified": principal.verified,
                    "expires_at": principal.expires_at}

    return blp
