"""Blocks: sealed ranges of leaves, mined and signed."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of

from ledger import log
from ledger.schemas import BlockSchema

blp = Blueprint("blocks", __name__, description="Blocks of the log")


@blp.route("/blocks")
class Blocks(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(BlockSchema))
    def get(self, query):
        """Blocks, newest first"""
        return log.list_blocks(request_session(), limit=query["limit"], cursor=query["cursor"])


@blp.route("/blocks/<int:height>")
class OneBlock(MethodView):
    @blp.response(200, BlockSchema)
    @blp.alt_response(404, description="No such block")
    def get(self, height: int):
        """One block: its header, hash, signature and checkpoint"""
        return log.get_block(request_session(), height)
