"""The public keys that verify access tokens (JWKS)."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_resource, service_settings
from servicekit.db import request_session

from auth.schemas import JwksSchema
from auth.signing_keys import jwks

blp = Blueprint("jwks", __name__, description="Token signing keys.")


@blp.route("/.well-known/jwks.json")
class Jwks(MethodView):
    @blp.response(200, JwksSchema, headers={"Cache-Control": {"schema": {"type": "string"}}})
    def get(self):
        """The Ed25519 public keys (JWKS) that verify access tokens, including retired keys whose tokens may live"""
        settings = service_settings()
        document = jwks(request_session(), service_resource("cipher"), rotation_days=settings.signing_key_rotation_days,
                        access_token_ttl_seconds=settings.access_token_ttl_seconds,
                        leeway_seconds=settings.token_leeway_seconds)
        return document, {"Cache-Control": "public, max-age=60"}
