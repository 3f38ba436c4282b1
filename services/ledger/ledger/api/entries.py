"""Entries of the log: a message's leaf, a key's leaves, every key logged for a user."""
from __future__ import annotations

import dataclasses
import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import page_of

from ledger import entries
from ledger.schemas import FINGERPRINT, KeyEntrySchema, LoggedKeySchema, LoggedKeysQuery, MessageEntrySchema

blp = Blueprint("entries", __name__, description="Entries of the log (public: the log is)")

NOT_LOGGED = "Not in the log (yet: an entry reaches it within a block interval)"


@blp.route("/entries/<uuid:message_id>")
class MessageEntry(MethodView):
    @blp.response(200, MessageEntrySchema)
    @blp.alt_response(404, description=NOT_LOGGED)
    def get(self, message_id: uuid.UUID):
        """A message's leaf: its index, bytes, hash, block, and whether moderation removed the message"""
        return entries.message_entry(request_session(), message_id)


@blp.route("/entries/keys/<string:fingerprint>", parameters=[
    {"in": "path", "name": "fingerprint", "description": "SHA-256 (hex) of the key's DER SubjectPublicKeyInfo.",
     "schema": {"type": "string", "pattern": FINGERPRINT.regex.pattern}}])
class KeyEntry(MethodView):
    @blp.response(200, KeyEntrySchema)
    @blp.alt_response(404, description=NOT_LOGGED)
    def get(self, fingerprint: str):
        """A public key's registration leaf (key transparency), and its revocation leaf if revoked"""
        registration, revocation = entries.key_entry(request_session(), fingerprint)
        return {**dataclasses.asdict(registration), "revocation": revocation}


@blp.route("/entries/keys")
class LoggedKeys(MethodView):
    @blp.arguments(LoggedKeysQuery, location="query")
    @blp.response(200, page_of(LoggedKeySchema))
    def get(self, query):
        """Every key ever logged for a user, oldest first: what a monitor compares with the keys it registered"""
        return entries.keys_of_user(request_session(), query["user_id"], limit=query["limit"], cursor=query["cursor"])
