"""Conversations: start one (direct or group), list mine, and manage a group's members."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of
from servicekit.tokens import current_principal

from messaging import conversations
from messaging.schemas import (ConversationCreateSchema, ConversationSchema, ConversationUpdateSchema,
                               ParticipantAddSchema)

blp = Blueprint("conversations", __name__, description="Conversations: direct and group")

NOT_A_PARTICIPANT = "No such conversation, or I take no part in it"


@blp.route("/conversations")
class Conversations(MethodView):
    @blp.login_required
    @blp.arguments(ConversationCreateSchema)
    @blp.response(201, ConversationSchema)
    @blp.alt_response(200, schema=ConversationSchema, description="The direct conversation with this user "
                                                                  "already exists (one per pair)")
    @blp.alt_response(403, description="Either of us blocks the other (direct), I am not verified (group), or "
                                       "my account is banned")
    @blp.alt_response(404, description="No such user (or banned)")
    @blp.alt_response(422, description="Invalid input, myself, or members who are not my friends")
    def post(self, body):
        """Start a direct conversation (or get the existing one), or create a group"""
        principal = current_principal()
        conversation, created = conversations.start_conversation(
            request_session(), principal.user_id, verified=principal.verified, type=body["type"],
            other_id=body.get("user_id"), name=body.get("name"), member_ids=body.get("member_ids", []))
        return conversation, 201 if created else 200

    @blp.login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(ConversationSchema))
    def get(self, query):
        """My conversations, the most recently active first, with my unread counts"""
        return conversations.list_conversations(request_session(), current_principal().user_id, **query)


@blp.route("/conversations/<uuid:conversation_id>")
class Conversation(MethodView):
    @blp.login_required
    @blp.response(200, ConversationSchema)
    @blp.alt_response(404, description=NOT_A_PARTICIPANT)
    def get(self, conversation_id: uuid.UUID):
        """One of my conversations"""
        return conversations.conversation_view(request_session(), current_principal().user_id, conversation_id)

    @blp.login_required
    @blp.arguments(ConversationUpdateSchema)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(403, description="Not the group's owner (or a direct conversation)")
    @blp.alt_response(404, description=NOT_A_PARTICIPANT)
    def patch(self, body, conversation_id: uuid.UUID):
        """Rename a group I own"""
        return conversations.rename_group(request_session(), current_principal().user_id, conversation_id,
                                          body["name"])

    @blp.login_required
    @blp.response(204)
    @blp.alt_response(403, description="Not the group's owner (or a direct conversation)")
    @blp.alt_response(404, description=NOT_A_PARTICIPANT)
    def delete(self, conversation_id: uuid.UUID):
        """Delete a group I own: it is gone for every member"""
        conversations.delete_group(request_session(), current_principal().user_id, conversation_id)


@blp.route("/conversations/<uuid:conversation_id>/participants")
class Participants(MethodView):
    @blp.login_required
    @blp.arguments(ParticipantAddSchema)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(403, description="Not the group's owner (or a direct conversation)")
    @blp.alt_response(404, description=NOT_A_PARTICIPANT)
    @blp.alt_response(409, description="Already a member, or the group is full")
    @blp.alt_response(422, description="Not my friend (or banned)")
    def post(self, body, conversation_id: uuid.UUID):
        """Add a friend of mine to a group I own"""
        return conversations.add_member(request_session(), current_principal().user_id, conversation_id,
                                        body["user_id"])


@blp.route("/conversations/<uuid:conversation_id>/participants/<uuid:user_id>")
class Participant(MethodView):
    @blp.login_required
    @blp.response(204)
    @blp.alt_response(403, description="Not the group's owner (or a direct conversation)")
    @blp.alt_response(404, description=f"{NOT_A_PARTICIPANT}; or no such member")
    @blp.alt_response(409, description="The owner (who deletes the group instead)")
    def delete(self, conversation_id: uuid.UUID, user_id: uuid.UUID):
        """Remove a member from a group I own: no new message reaches them"""
        conversations.remove_member(request_session(), current_principal().user_id, conversation_id, user_id)


@blp.route("/conversations/<uuid:conversation_id>/leave")
class Leave(MethodView):
    @blp.login_required
    @blp.response(204)
    @blp.alt_response(404, description=NOT_A_PARTICIPANT)
    @blp.alt_response(409, description="A direct conversation, or I own the group (I delete it instead)")
    def post(self, conversation_id: uuid.UUID):
        """Leave a group"""
        conversations.leave(request_session(), current_principal().user_id, conversation_id)
