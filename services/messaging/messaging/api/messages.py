"""Messages: send (standard or end-to-end), read a conversation, read one, mark read."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_resource
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of
from servicekit.tokens import current_principal

from messaging import messages
from messaging.schemas import MessageCreateSchema, MessageSchema, ReadSchema, ReadStateSchema

blp = Blueprint("messages", __name__, description="Messages: standard (encrypted at rest) and end-to-end "
                                                  "(docs/e2e-envelope.md)")

NOT_A_PARTICIPANT = "No such conversation, or I take no part in it"


@blp.route("/conversations/<uuid:conversation_id>/messages")
class ConversationMessages(MethodView):
    @blp.login_required
    @blp.arguments(MessageCreateSchema)
    @blp.response(201, MessageSchema)
    @blp.alt_response(403, description="My account is banned, or either of us blocks the other (direct)")
    @blp.alt_response(404, description=NOT_A_PARTICIPANT)
    @blp.alt_response(409, description="A message with this id exists (a replayed envelope)")
    @blp.alt_response(422, description="Invalid input; an envelope or signature that does not hold, or a missing "
                                       "key (mine for signing, a participant's for encryption): the errors name "
                                       "the members; attachments that are not mine in this conversation")
    def post(self, body, conversation_id: uuid.UUID):
        """Send a message: standard (plaintext, optionally signed) or e2e (a signed envelope)"""
        return messages.send_message(request_session(), service_resource("cipher"), current_principal().user_id,
                                     conversation_id, **body)

    @blp.login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(MessageSchema))
    @blp.alt_response(404, description=NOT_A_PARTICIPANT)
    def get(self, query, conversation_id: uuid.UUID):
        """A conversation's messages, newest first"""
        return messages.list_messages(request_session(), service_resource("cipher"), current_principal().user_id,
                                      conversation_id, **query)


@blp.route("/messages/<uuid:message_id>")
class Message(MethodView):
    @blp.login_required
    @blp.response(200, MessageSchema)
    @blp.alt_response(404, description="No such message, removed, or not in a conversation I take part in")
    def get(self, message_id: uuid.UUID):
        """One message of a conversation I take part in"""
        return messages.get_message(request_session(), service_resource("cipher"), current_principal().user_id,
                                    message_id)


@blp.route("/conversations/<uuid:conversation_id>/read")
class ReadState(MethodView):
    @blp.login_required
    @blp.arguments(ReadSchema)
    @blp.response(200, ReadStateSchema)
    @blp.alt_response(404, description=NOT_A_PARTICIPANT)
    def post(self, body, conversation_id: uuid.UUID):
        """Mark a conversation read up to a message (the others see how far I read)"""
        return messages.mark_read(request_session(), current_principal().user_id, conversation_id, body["seq"])
