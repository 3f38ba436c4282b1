"""Friends: my list, and ending a friendship."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of
from servicekit.tokens import current_principal

from social import friends
from social.schemas import FriendSchema

blp = Blueprint("friends", __name__, description="Friends")


@blp.route("/friends")
class Friends(MethodView):
    @blp.login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(FriendSchema))
    def get(self, query):
        """My friends, the newest friendship first"""
        return friends.list_friends(request_session(), current_principal().user_id, **query)


@blp.route("/friends/<uuid:user_id>")
class Friend(MethodView):
    @blp.login_required
    @blp.response(204)
    @blp.alt_response(404, description="We are not friends")
    def delete(self, user_id: uuid.UUID):
        """Unfriend a user"""
        friends.unfriend(request_session(), current_principal().user_id, user_id)
