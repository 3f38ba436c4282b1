"""The public-key registry: users' signing and encryption keys for end-to-end messaging."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_settings
from servicekit.db import request_session
from servicekit.pagination import page_of
from servicekit.tokens import current_principal

from auth import keys
from auth.schemas import KeyChallengeSchema, PublicKeyQuerySchema, PublicKeyRegistrationSchema, PublicKeySchema

blp = Blueprint("keys", __name__, description="Public-key registry (registration proves possession: "
                                              "docs/key-registration.md)")


@blp.route("/keys/challenge")
class KeyRegistrationChallenge(MethodView):
    @blp.login_required
    @blp.response(201, KeyChallengeSchema)
    def post(self):
        """Get a challenge to sign for registering a key

        Bound to the caller, usable for one registration, valid for 5 minutes. The signed statement
        is the UTF-8 text "BeYou key registration v1\\n<challenge>\\n<purpose>\\n<fingerprint>"
        (docs/key-registration.md).
        """
        return keys.issue_registration_challenge(service_settings().secret_key, current_principal().user_id)


@blp.route("/keys")
class MyKeys(MethodView):
    @blp.login_required
    @blp.arguments(PublicKeyRegistrationSchema)
    @blp.response(201, PublicKeySchema)
    @blp.alt_response(409, description="This key is already registered, or an encryption key and no active "
                                       "signing key to vouch for it")
    @blp.alt_response(422, description="Not a valid public key for this purpose and algorithm, a private key, "
                                       "or a proof of possession that does not hold (challenge, signature)")
    def post(self, registration):
        """Register a public key; it replaces my active key of the same purpose

        Proves possession (docs/key-registration.md): `signature` signs the statement
        "BeYou key registration v1\\n<challenge>\\n<purpose>\\n<fingerprint>" — by the key itself
        for a signing key, by my active signing key for an encryption key.
        """
        return keys.register_key(request_session(), current_principal().user_id,
                                 secret_key=service_settings().secret_key, **registration)


@blp.route("/keys/<string:fingerprint>")
class KeyByFingerprint(MethodView):
    @blp.login_required
    @blp.response(200, PublicKeySchema)
    @blp.alt_response(404, description="No such key")
    def get(self, fingerprint: str):
        """A public key by its fingerprint (SHA-256 hex of its DER SubjectPublicKeyInfo)"""
        return keys.get_key(request_session(), fingerprint)

    @blp.login_required
    @blp.response(204)
    @blp.alt_response(403, description="Not my key")
    @blp.alt_response(404, description="No such key")
    @blp.alt_response(409, description="Already revoked")
    def delete(self, fingerprint: str):
        """Revoke one of my keys (it stays listed, inactive, for verifying old messages)"""
        keys.revoke_key(request_session(), fingerprint, owner_id=current_principal().user_id)


@blp.route("/users/<uuid:user_id>/keys")
class UserKeys(MethodView):
    @blp.login_required
    @blp.arguments(PublicKeyQuerySchema, location="query")
    @blp.response(200, page_of(PublicKeySchema))
    @blp.alt_response(404, description="No such user")
    def get(self, query, user_id: uuid.UUID):
        """A user's public keys, active and historic, newest first"""
        return keys.list_user_keys(request_session(), user_id, **query)
