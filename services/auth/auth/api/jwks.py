"""The public keys that verify access tokens (JWKS)."""
from __future__ import annotations

from flask import current_app
from servicekit.api import Blueprint
from servicekit.db import request_session

from auth.schemas import JwksSchema
from auth.signing_keys import jwks

blp = Blueprint("jwks", __name__, description="Token signing keys.")


@blp.get("/.well-known/jwks.json")
@blp.response(200, JwksSchema, headers={"Cache-Control": {"schema": {"type": "string"}}})
def signing_keys():
    """The Ed25519 public keys (JWKS) that verify access tokens, including retired keys whose tokens may live"""
    settings = current_app.extensions["servicekit"].settings
    return jwks(request_session(), rotation_days=settings.signing_key_rotation_days,
                access_token_ttl_seconds=settings.access_token_ttl_seconds,
                leeway_seconds=settings.token_leeway_seconds), {"Cache-Control": "public, max-age=60"}
