"""The keys a client seals an end-to-end message for."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.tokens import current_principal

from messaging import keys
from messaging.schemas import ConversationKeysSchema

blp = Blueprint("keys", __name__, description="Participants' public keys, as envelopes are checked against them")


@blp.route("/conversations/<uuid:conversation_id>/keys")
class ConversationKeys(MethodView):
    @blp.login_required
    @blp.response(200, ConversationKeysSchema)
    @blp.alt_response(404, description="No such conversation, or I take no part in it")
    def get(self, conversation_id: uuid.UUID):
        """Every participant's active signing and encryption key: what an e2e message is sealed for and checked
        against"""
        return keys.conversation_keys(request_session(), current_principal().user_id, conversation_id)
