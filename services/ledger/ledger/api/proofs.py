"""Inclusion and consistency proofs (RFC 9162), against signed checkpoints."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_resource, service_settings
from servicekit.db import request_session

from ledger import log
from ledger.schemas import ConsistencyProofSchema, ConsistencyQuery, InclusionProofSchema, InclusionQuery

blp = Blueprint("proofs", __name__, description="Merkle proofs (RFC 9162)")


@blp.route("/proofs/inclusion")
class InclusionProof(MethodView):
    @blp.arguments(InclusionQuery, location="query")
    @blp.response(200, InclusionProofSchema)
    @blp.alt_response(404, description="No such leaf in the log, or not in a checkpoint yet")
    @blp.alt_response(422, description="Not exactly one leaf named, or a tree size that is not checkpointed or "
                                       "does not contain the leaf")
    def get(self, query):
        """The audit path of a leaf (by message id, key fingerprint or leaf index) in a checkpointed tree, with the
        signed checkpoint it proves against"""
        return log.inclusion(request_session(), service_settings().log_origin, **query,
                             cache=service_resource("tiles"))


@blp.route("/proofs/consistency")
class ConsistencyProof(MethodView):
    @blp.arguments(ConsistencyQuery, location="query")
    @blp.response(200, ConsistencyProofSchema)
    @blp.alt_response(422, description="first > second, or second is not a checkpointed tree size")
    def get(self, query):
        """The proof that the tree of size `first` is a prefix of the checkpointed tree of size `second`"""
        return log.consistency(request_session(), service_settings().log_origin, query["first"], query["second"],
                               cache=service_resource("tiles"))
