"""Staff: per-conversation statistics and the audit."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_resource, service_settings
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of

from ledger import audit, log
from ledger.schemas import AuditQuery, AuditReportSchema, ConversationStatsSchema

blp = Blueprint("admin", __name__, description="Staff: statistics and the audit")


@blp.route("/admin/stats")
class Stats(MethodView):
    @blp.staff_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(ConversationStatsSchema))
    def get(self, query):
        """Per conversation: messages sealed, blocks holding them, the first and last such block"""
        return log.conversation_stats(request_session(), limit=query["limit"], cursor=query["cursor"])


@blp.route("/admin/audit")
class Audit(MethodView):
    @blp.staff_required
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditReportSchema)
    @blp.alt_response(409, description="Another audit is running (the worker's scheduled one, say): ask again shortly")
    def post(self, query):
        """Run the audit: recompute leaf hashes, tiles, block links, proof of work and signatures from storage
        (`mode=incremental`: what is new since the last audit; `full`: everything) and name the first bad record.
        A request stops after AUDIT_REQUEST_SECONDS (`complete` false): the next incremental audit continues"""
        settings = service_settings()
        return audit.audit_log(request_session(), service_resource("verifier"), settings.log_origin,
                               full=query["mode"] == "full", seconds=settings.audit_request_seconds)
