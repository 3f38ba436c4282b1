"""Staff: the report queue and moderation."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import page_of
from servicekit.tokens import current_principal

from social import reports
from social.schemas import AdminReportQuery, AdminReportSchema, ResolutionSchema

blp = Blueprint("admin_reports", __name__, description="Staff: the report queue and moderation")


@blp.route("/admin/reports")
class ReportQueue(MethodView):
    @blp.staff_required
    @blp.arguments(AdminReportQuery, location="query")
    @blp.response(200, page_of(AdminReportSchema))
    def get(self, query):
        """Reports, optionally by status and target type, oldest first"""
        return reports.list_reports(request_session(), **query)


@blp.route("/admin/reports/<uuid:report_id>")
class ReviewedReport(MethodView):
    @blp.staff_required
    @blp.response(200, AdminReportSchema)
    @blp.alt_response(404, description="No such report")
    def get(self, report_id: uuid.UUID):
        """One report"""
        return reports.report_for_staff(request_session(), report_id)


@blp.route("/admin/reports/<uuid:report_id>/review")
class Review(MethodView):
    @blp.staff_required
    @blp.response(200, AdminReportSchema)
    @blp.alt_response(404, description="No such report")
    @blp.alt_response(409, description="Resolved, in review by another staff member, or a report about you")
    def post(self, report_id: uuid.UUID):
        """Take an open report into review (you alone may resolve it then)"""
        return reports.take_into_review(request_session(), report_id, staff_id=current_principal().user_id)


@blp.route("/admin/reports/<uuid:report_id>/resolve")
class Resolution(MethodView):
    @blp.staff_required
    @blp.arguments(ResolutionSchema)
    @blp.response(200, AdminReportSchema)
    @blp.alt_response(404, description="No such report")
    @blp.alt_response(409, description="Already resolved, in review by another staff member, or a report about you")
    def post(self, resolution, report_id: uuid.UUID):
        """Resolve a report with an action and notes; the action takes effect in the service owning the target"""
        return reports.resolve_report(request_session(), report_id, staff_id=current_principal().user_id,
                                      **resolution)
