"""Attachments: upload a file for a conversation, download one."""
from __future__ import annotations

import uuid

from flask import Response
from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_resource, service_settings
from servicekit.db import request_session
from servicekit.tokens import current_principal

from messaging import attachments
from messaging.schemas import AttachmentFileSchema, AttachmentFormSchema, AttachmentSchema

blp = Blueprint("attachments", __name__, description="Attachments: images and PDFs, or e2e client ciphertext")


def _header(description: str) -> dict:
    return {"description": description, "required": True, "schema": {"type": "string"}}


FILE_RESPONSE = {200: {
    "description": "The file: a WebP image (inline), a PDF or client ciphertext (as a download).",
    "content": {content_type: {"schema": {"type": "string", "format": "binary"}}
                for content_type in ("image/webp", attachments.PDF, attachments.OPAQUE)},
    "headers": {
        "Cache-Control": _header("private, no-store: decrypted files stay out of every cache."),
        "X-Content-Type-Options": _header("nosniff"),
        "Content-Disposition": _header("inline for images, attachment otherwise, with a file name."),
        "Content-Security-Policy": _header("default-src 'none'; sandbox"),
    }}}


@blp.route("/attachments")
class Attachments(MethodView):
    @blp.login_required
    @blp.arguments(AttachmentFileSchema, location="files")
    @blp.arguments(AttachmentFormSchema, location="form", content_type="multipart/form-data")
    @blp.doc(parameters=[])  # the file is documented in the multipart body, not as a parameter
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(403, description="I am not verified, or my account is banned")
    @blp.alt_response(404, description="No such conversation, or I take no part in it")
    @blp.alt_response(413, description="The request body is too large")
    @blp.alt_response(422, description="Invalid form, an empty or too large file, or (unless encrypted_by_client) "
                                       "not a JPEG, PNG or WebP image or a PDF")
    def post(self, files, form):
        """Upload a file for a conversation (multipart form); name it in a message's attachment_ids"""
        principal = current_principal()
        return attachments.upload_attachment(
            request_session(), service_resource("cipher"), principal.user_id, verified=principal.verified,
            conversation_id=form["conversation_id"], upload=files["file"].stream,
            encrypted_by_client=form["encrypted_by_client"], max_bytes=service_settings().attachment_max_bytes)


@blp.route("/attachments/<uuid:attachment_id>")
class AttachmentFile(MethodView):
    @blp.login_required
    @blp.doc(responses=FILE_RESPONSE)
    @blp.alt_response(404, description="No such attachment, or not in a conversation I take part in")
    def get(self, attachment_id: uuid.UUID):
        """An attachment of a conversation I take part in"""
        file = attachments.read_attachment(request_session(), service_resource("cipher"),
                                           current_principal().user_id, attachment_id)
        disposition = "inline" if file.content_type.startswith("image/") else "attachment"
        return Response(file.data, mimetype=file.content_type, headers={
            "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'{disposition}; filename="{file.filename}"',
            "Content-Security-Policy": "default-src 'none'; sandbox"})
