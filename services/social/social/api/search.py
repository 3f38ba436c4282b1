"""User search."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_settings
from servicekit.db import request_session
from servicekit.pagination import page_of
from servicekit.tokens import current_principal

from social import search
from social.schemas import UserSearchQuery, UserSearchResultSchema

blp = Blueprint("search", __name__, description="User search")


@blp.route("/users/search")
class UserSearch(MethodView):
    @blp.login_required
    @blp.arguments(UserSearchQuery, location="query")
    @blp.response(200, page_of(UserSearchResultSchema))
    def get(self, query):
        """Find users by username or display name

        Substrings and near misses (of longer words) of either; one or two characters match the
        start of usernames. Best matches first: the exact username, usernames starting with the
        text, display names with a word starting with it, other substrings, then similar names.
        Users who blocked me or whom I blocked, banned users and I myself are not found.
        """
        return search.search_users(request_session(), current_principal().user_id, query["q"],
                                   min_similarity=service_settings().search_min_similarity,
                                   limit=query["limit"], cursor=query["cursor"])
