"""Identity verification, as the user sees it: submit a document, follow one's requests."""
from __future__ import annotations

import io
import uuid

from flask import Response, send_file
from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_resource, service_settings
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of
from servicekit.tokens import current_principal

from auth import verification
from auth.schemas import VerificationDocumentSchema, VerificationRequestSchema, VerificationSubmissionSchema

blp = Blueprint("verification", __name__, description="Identity verification")

DOCUMENT_RESPONSE = {200: {"description": "The document, decrypted (served as an attachment).", "content": {
    content_type: {"schema": {"type": "string", "format": "binary"}}
    for _magic, content_type, _extension in verification.DOCUMENT_SIGNATURES}}}


def document_response(document: bytes, content_type: str, filename: str) -> Response:
    """A document as a download that a browser will neither sniff nor render in place, nor cache."""
    response = send_file(io.BytesIO(document), mimetype=content_type, as_attachment=True, download_name=filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/verification")
class OwnVerificationRequests(MethodView):
    @blp.login_required
    @blp.arguments(VerificationDocumentSchema, location="files")
    @blp.arguments(VerificationSubmissionSchema, location="form", content_type="multipart/form-data")
    @blp.doc(parameters=[])  # the file is documented in the multipart body, not as a parameter
    @blp.response(201, VerificationRequestSchema)
    @blp.alt_response(409, description="A request is already pending, or the account is already verified")
    @blp.alt_response(422, description="Not a JPEG, PNG or PDF, empty, or larger than 5 MB")
    def post(self, files, form):
        """Ask to be verified: upload an ID document (JPEG, PNG or PDF, at most 5 MB) with a reason"""
        return verification.submit_request(
            request_session(), current_principal().user_id, upload=files["document"].stream, reason=form["reason"],
            store=service_resource("documents"), cipher=service_resource("cipher"),
            max_bytes=service_settings().document_max_bytes)

    @blp.login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(VerificationRequestSchema))
    def get(self, query):
        """My verification requests, newest first"""
        return verification.list_own_requests(request_session(), current_principal().user_id, **query)


@blp.route("/verification/<uuid:request_id>")
class OwnVerificationRequest(MethodView):
    @blp.login_required
    @blp.response(200, VerificationRequestSchema)
    @blp.alt_response(404, description="No such request, or not yours")
    def get(self, request_id: uuid.UUID):
        """One of my verification requests"""
        principal = current_principal()
        return verification.visible_request(request_session(), request_id, viewer_id=principal.user_id,
                                            viewer_is_staff=principal.is_staff)


@blp.route("/verification/<uuid:request_id>/document")
class OwnVerificationDocument(MethodView):
    @blp.login_required
    @blp.doc(responses=DOCUMENT_RESPONSE)
    @blp.alt_response(404, description="No such request, or not yours")
    def get(self, request_id: uuid.UUID):
        """The document of one of my verification requests"""
        principal = current_principal()
        return document_response(*verification.read_document(
            request_session(), request_id, viewer_id=principal.user_id, viewer_is_staff=principal.is_staff,
            store=service_resource("documents"), cipher=service_resource("cipher")))
