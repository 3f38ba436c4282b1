"""Identity verification, as staff see it: the queue, the documents, the decisions."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_resource
from servicekit.db import request_session
from servicekit.pagination import page_of
from servicekit.tokens import current_principal

from auth import verification
from auth.api.verification import DOCUMENT_RESPONSE, document_response
from auth.schemas import (AdminVerificationQuerySchema, AdminVerificationRequestSchema, VerificationDecisionSchema,
                          VerificationRejectionSchema)

blp = Blueprint("admin_verifications", __name__, description="Identity verification: staff review")


@blp.route("/admin/verifications")
class VerificationQueue(MethodView):
    @blp.staff_required
    @blp.arguments(AdminVerificationQuerySchema, location="query")
    @blp.response(200, page_of(AdminVerificationRequestSchema))
    def get(self, query):
        """Verification requests by status (pending by default), oldest first"""
        return verification.list_requests(request_session(), **query)


@blp.route("/admin/verifications/<uuid:request_id>")
class ReviewedRequest(MethodView):
    @blp.staff_required
    @blp.response(200, AdminVerificationRequestSchema)
    @blp.alt_response(404, description="No such request")
    def get(self, request_id: uuid.UUID):
        """One verification request"""
        principal = current_principal()
        return verification.visible_request(request_session(), request_id, viewer_id=principal.user_id,
                                            viewer_is_staff=True)


@blp.route("/admin/verifications/<uuid:request_id>/document")
class ReviewedDocument(MethodView):
    @blp.staff_required
    @blp.doc(responses=DOCUMENT_RESPONSE)
    @blp.alt_response(404, description="No such request")
    def get(self, request_id: uuid.UUID):
        """The document of a verification request"""
        principal = current_principal()
        return document_response(*verification.read_document(
            request_session(), request_id, viewer_id=principal.user_id, viewer_is_staff=True,
            store=service_resource("documents"), cipher=service_resource("cipher")))


@blp.route("/admin/verifications/<uuid:request_id>/approve")
class Approval(MethodView):
    @blp.staff_required
    @blp.arguments(VerificationDecisionSchema)
    @blp.response(200, AdminVerificationRequestSchema)
    @blp.alt_response(404, description="No such request")
    @blp.alt_response(409, description="The request was already decided")
    def post(self, decision, request_id: uuid.UUID):
        """Approve a pending request: the user becomes verified"""
        return verification.approve_request(request_session(), request_id, staff_id=current_principal().user_id,
                                            **decision)


@blp.route("/admin/verifications/<uuid:request_id>/reject")
class Rejection(MethodView):
    @blp.staff_required
    @blp.arguments(VerificationRejectionSchema)
    @blp.response(200, AdminVerificationRequestSchema)
    @blp.alt_response(404, description="No such request")
    @blp.alt_response(409, description="The request was already decided")
    def post(self, decision, request_id: uuid.UUID):
        """Reject a pending request, with notes for the user"""
        return verification.reject_request(request_session(), request_id, staff_id=current_principal().user_id,
                                           **decision)
