"""The log as C2SP tlog-tiles under /api/ledger/log/: any tlog client verifies it without this project's code."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_resource, service_settings
from servicekit.db import request_session

from ledger import log

blp = Blueprint("tiles", __name__, description="The log as C2SP tlog-tiles")

# A tile's bytes at a given width never change (the log is append-only), so caches keep them; the
# checkpoint moves with every block.
IMMUTABLE = "public, max-age=31536000, immutable"
CHECKPOINT_CACHE = "public, max-age=1"


def _binary(description: str) -> dict:
    return {200: {"description": description,
                  "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                  "headers": {"Cache-Control": {"schema": {"type": "string"}, "description": IMMUTABLE}}}}


@blp.route("/log/checkpoint")
class TlogCheckpoint(MethodView):
    @blp.doc(responses={200: {"description": "The latest checkpoint as a signed note",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}})
    @blp.alt_response(404, description="Nothing has been sealed into a block yet")
    def get(self):
        """The latest checkpoint, text/plain (C2SP tlog-checkpoint, signed note)"""
        checkpoint = log.latest_checkpoint(request_session(), service_settings().log_origin)
        response = Response(checkpoint.note, mimetype="text/plain")
        response.headers["Cache-Control"] = CHECKPOINT_CACHE
        return response


@blp.route("/log/tile/<path:path>", parameters=[
    {"in": "path", "name": "path", "description": "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, N in 3-digit "
                                                  "groups (x001/234)"}])
class Tile(MethodView):
    @blp.doc(responses=_binary("A hash tile (concatenated 32-byte hashes) or an entry bundle (uint16 length ‖ leaf)"))
    @blp.alt_response(404, description="Not a tile path, or beyond the latest checkpoint")
    def get(self, path: str):
        """A tile of the log at the latest checkpoint or before (C2SP tlog-tiles)"""
        content = log.tile_content(request_session(), f"tile/{path}", service_resource("tiles"))
        response = Response(content, mimetype="application/octet-stream")
        response.headers["Cache-Control"] = IMMUTABLE
        return response
