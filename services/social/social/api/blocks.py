"""Blocks: block and unblock users, and my list of them."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of
from servicekit.tokens import current_principal

from social import blocks
from social.schemas import BlockCreateSchema, BlockSchema

blp = Blueprint("blocks", __name__, description="Blocks")


@blp.route("/blocks")
class Blocks(MethodView):
    @blp.login_required
    @blp.arguments(BlockCreateSchema)
    @blp.response(201, BlockSchema)
    @blp.alt_response(404, description="No such user")
    @blp.alt_response(409, description="Already blocked")
    @blp.alt_response(422, description="Blocking myself, or invalid input")
    def post(self, body):
        """Block a user: ends our friendship and open requests; nothing passes between us in any service"""
        return blocks.block_user(request_session(), current_principal().user_id, body["username"],
                                 reason=body["reason"])

    @blp.login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(BlockSchema))
    def get(self, query):
        """The users I blocked, the latest first"""
        return blocks.list_blocks(request_session(), current_principal().user_id, **query)


@blp.route("/blocks/<uuid:user_id>")
class OneBlock(MethodView):
    @blp.login_required
    @blp.response(204)
    @blp.alt_response(404, description="I have not blocked this user")
    def delete(self, user_id: uuid.UUID):
        """Unblock a user"""
        blocks.unblock_user(request_session(), current_principal().user_id, user_id)
