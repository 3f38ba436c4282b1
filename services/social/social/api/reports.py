"""Reports of users, messages and items, as their reporter sees them."""
from __future__ import annotations

import uuid

from flask import Response
from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_settings
from servicekit.db import request_session
from servicekit.images import CONTENT_TYPE as SCREENSHOT_CONTENT_TYPE
from servicekit.pagination import PageArgs, page_of
from servicekit.tokens import current_principal

from social import reports
from social.schemas import ReportFormSchema, ReportSchema, ReportScreenshotUploadSchema

blp = Blueprint("reports", __name__, description="Reports of users, messages and items")

SCREENSHOT_RESPONSE = {200: {
    "description": "The screenshot, re-encoded as WebP (never the original upload).",
    "content": {SCREENSHOT_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        "Cache-Control": {"description": "private, no-store: evidence is kept out of every cache.",
                          "required": True, "schema": {"type": "string"}},
        "X-Content-Type-Options": {"description": "nosniff", "required": True, "schema": {"type": "string"}},
    },
}}


@blp.route("/reports")
class OwnReports(MethodView):
    @blp.login_required
    @blp.arguments(ReportScreenshotUploadSchema, location="files")
    @blp.arguments(ReportFormSchema, location="form", content_type="multipart/form-data")
    @blp.doc(parameters=[])  # the file is documented in the multipart body, not as a parameter
    @blp.response(201, ReportSchema)
    @blp.alt_response(404, description="No such user, item, or message you received")
    @blp.alt_response(409, description="You already have an open report of this")
    @blp.alt_response(413, description="The request body is too large")
    @blp.alt_response(422, description="Invalid form, yourself or your own content, or a screenshot that is not "
                                       "a JPEG, PNG or WebP image of at most 5 MB")
    def post(self, files, form):
        """Report a user, a message you received or an item (multipart form, optional screenshot)"""
        settings = service_settings()
        screenshot = files["screenshot"]
        return reports.file_report(
            request_session(), current_principal().user_id, target_type=form["target_type"],
            target_id=form["target_id"], reason=form["reason"],
            screenshot=None if screenshot is None else screenshot.stream,
            screenshot_max_bytes=settings.screenshot_max_bytes, image_max_pixels=settings.image_max_pixels)

    @blp.login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(ReportSchema))
    def get(self, query):
        """My reports, newest first"""
        return reports.list_own_reports(request_session(), current_principal().user_id, **query)


@blp.route("/reports/<uuid:report_id>")
class OwnReport(MethodView):
    @blp.login_required
    @blp.response(200, ReportSchema)
    @blp.alt_response(404, description="No such report, or not yours")
    def get(self, report_id: uuid.UUID):
        """One of my reports"""
        return reports.own_report(request_session(), current_principal().user_id, report_id)


@blp.route("/reports/<uuid:report_id>/screenshot")
class ReportScreenshot(MethodView):
    @blp.login_required
    @blp.doc(responses=SCREENSHOT_RESPONSE)
    @blp.alt_response(404, description="No such report, not yours, or no screenshot")
    def get(self, report_id: uuid.UUID):
        """The screenshot of one of my reports (staff: of any report)"""
        principal = current_principal()
        screenshot = reports.read_screenshot(request_session(), report_id, viewer_id=principal.user_id,
                                             viewer_is_staff=principal.is_staff)
        return Response(screenshot.data, mimetype=screenshot.content_type, headers={
            "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
