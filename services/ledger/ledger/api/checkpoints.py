"""The latest signed checkpoint and the key that verifies it."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_resource, service_settings
from servicekit.db import request_session

from ledger import audit, log
from ledger.schemas import LatestCheckpointSchema, VerifierKeySchema

blp = Blueprint("checkpoints", __name__, description="Signed checkpoints (C2SP tlog-checkpoint)")


@blp.route("/checkpoint")
class LatestCheckpoint(MethodView):
    @blp.response(200, LatestCheckpointSchema)
    @blp.alt_response(404, description="Nothing has been sealed into a block yet")
    def get(self):
        """The latest checkpoint: tree size, root hash and the signed note, with the audit's verdict"""
        session = request_session()
        checkpoint = log.latest_checkpoint(session, service_settings().log_origin)
        return {**vars(checkpoint), "integrity": audit.integrity(session)["status"]}


@blp.route("/verifier-key")
class VerifierKey(MethodView):
    @blp.response(200, VerifierKeySchema)
    def get(self):
        """The note verifier key of the ledger's checkpoints (name = the log's origin)"""
        return {"vkey": service_resource("signer").vkey}
