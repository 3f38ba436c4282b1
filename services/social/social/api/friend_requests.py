"""Friend requests: send, accept, reject, cancel, and the lists of mine."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import page_of
from servicekit.tokens import current_principal

from social import friends
from social.schemas import FriendRequestCreateSchema, FriendRequestQuery, FriendRequestSchema

blp = Blueprint("friend_requests", __name__, description="Friend requests")


@blp.route("/friend-requests")
class FriendRequests(MethodView):
    @blp.login_required
    @blp.arguments(FriendRequestCreateSchema)
    @blp.response(201, FriendRequestSchema, description="The request, sent")
    @blp.alt_response(200, schema=FriendRequestSchema,
                      description="They had already asked me: their request is accepted, and we are friends")
    @blp.alt_response(403, description="One of us blocks the other")
    @blp.alt_response(404, description="No such user")
    @blp.alt_response(409, description="Already friends, or a request of mine is already open")
    @blp.alt_response(422, description="A request to myself, or invalid input")
    def post(self, body):
        """Ask a user to be friends"""
        request, created = friends.send_request(request_session(), current_principal().user_id, body["username"])
        return request, 201 if created else 200

    @blp.login_required
    @blp.arguments(FriendRequestQuery, location="query")
    @blp.response(200, page_of(FriendRequestSchema))
    def get(self, query):
        """My open friend requests, received or sent, newest first"""
        return friends.list_requests(request_session(), current_principal().user_id, **query)


@blp.route("/friend-requests/<uuid:request_id>")
class OneFriendRequest(MethodView):
    @blp.login_required
    @blp.response(200, FriendRequestSchema)
    @blp.alt_response(404, description="No such request, or not one I sent or received")
    def get(self, request_id: uuid.UUID):
        """A friend request I sent or received"""
        return friends.visible_request(request_session(), current_principal().user_id, request_id)


def _decision(command, summary: str, who: str):
    """A POST that decides an open request (accept, reject, cancel)."""

    @blp.login_required
    @blp.response(200, FriendRequestSchema)
    @blp.alt_response(403, description=f"Only the {who} may do this (or one of us now blocks the other)")
    @blp.alt_response(404, description="No such request, or not one I sent or received")
    @blp.alt_response(409, description="The request is no longer open")
    def post(self, request_id: uuid.UUID):
        return command(request_session(), current_principal().user_id, request_id)

    post.__doc__ = summary
    return post


@blp.route("/friend-requests/<uuid:request_id>/accept")
class AcceptFriendRequest(MethodView):
    post = _decision(friends.accept_request, "Accept a friend request I received", "recipient")


@blp.route("/friend-requests/<uuid:request_id>/reject")
class RejectFriendRequest(MethodView):
    post = _decision(friends.reject_request, "Reject a friend request I received", "recipient")


@blp.route("/friend-requests/<uuid:request_id>/cancel")
class CancelFriendRequest(MethodView):
    post = _decision(friends.cancel_request, "Withdraw a friend request I sent", "sender")
