"""Items: search, list one for sale, its page, change or remove it, and my items."""
from __future__ import annotations

import uuid

from flask import request
from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of
from servicekit.tokens import authenticate, current_principal

from marketplace import items, search
from marketplace.schemas import (ItemCreateSchema, ItemSchema, ItemSearchQuery, ItemSummarySchema, ItemUpdateSchema,
                                 OwnItemSchema)

blp = Blueprint("items", __name__, description="Items for sale")


def signed_in_viewer() -> uuid.UUID | None:
    """The caller's user id if the request carries a bearer token (an invalid one is a 401), else None."""
    if "Authorization" not in request.headers:
        return None
    return authenticate().user_id


@blp.route("/items")
class Items(MethodView):
    @blp.arguments(ItemSearchQuery, location="query")
    @blp.response(200, page_of(ItemSummarySchema))
    @blp.alt_response(401, description="A bearer token was sent and is not valid (search without one, or sign in)")
    def get(self, query):
        """Search items: full text, filters, sorted, a page at a time

        No sign-in needed; a signed-in caller (optional bearer token) does not find the items of sellers who
        blocked them or whom they blocked. Never found: removed items and banned sellers' items. `q` is read as
        a web search (words, "a phrase", or, -word) in English, stemmed, in titles and descriptions. `category`
        includes its sub-categories. Sorted newest first by default; price_asc, price_desc; relevance with `q`.
        A cursor belongs to its query: with other filters or another sort it may be refused (422) or skip.
        """
        return search.search_items(request_session(), signed_in_viewer(), **query)

    @blp.login_required
    @blp.arguments(ItemCreateSchema)
    @blp.response(201, ItemSchema)
    @blp.alt_response(403, description="Only verified users list items; banned users cannot")
    @blp.alt_response(422, description="Invalid input, or no such category")
    def post(self, body):
        """List an item for sale (verified users)"""
        principal = current_principal()
        return items.list_item(request_session(), principal.user_id, verified=principal.verified, **body)


@blp.route("/items/mine")
class MyItems(MethodView):
    @blp.login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(OwnItemSchema))
    def get(self, query):
        """Every item I listed, sold and removed ones too, the newest first"""
        return items.my_items(request_session(), current_principal().user_id, **query)


@blp.route("/items/<uuid:item_id>")
class OneItem(MethodView):
    @blp.response(200, ItemSchema)
    @blp.alt_response(404, description="No such item, or it is removed, or its seller is banned")
    def get(self, item_id: uuid.UUID):
        """An item's page, with its images, seller and available quantity (no sign-in needed)"""
        return items.item_page(request_session(), item_id)

    @blp.login_required
    @blp.arguments(ItemUpdateSchema)
    @blp.response(200, ItemSchema)
    @blp.alt_response(403, description="Not my item (items are public, so another's is forbidden, not hidden), "
                                       "or I am banned")
    @blp.alt_response(404, description="No such item, or it is removed")
    @blp.alt_response(409, description="A pending order holds the item")
    @blp.alt_response(422, description="Invalid input, or no such category")
    def patch(self, body, item_id: uuid.UUID):
        """Change my item (the fields given); not while a pending order holds it"""
        return items.update_item(request_session(), current_principal().user_id, item_id, body)

    @blp.login_required
    @blp.response(204)
    @blp.alt_response(403, description="Not my item, or I am banned")
    @blp.alt_response(404, description="No such item, or it is removed already")
    @blp.alt_response(409, description="A pending order holds the item")
    def delete(self, item_id: uuid.UUID):
        """Remove my item from sale (it stays in orders and in my list, as removed); not while a pending order
        holds it"""
        items.remove_item(request_session(), current_principal().user_id, item_id)
