"""The live stream: my notices as Server-Sent Events (GET /stream).

The gateway sends this path to the stream process (gunicorn's gevent worker, see
gunicorn_stream.py), where an open stream costs a greenlet, not a worker.
"""
from __future__ import annotations

from functools import wraps

from flask import Response, g, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from servicekit.api import Blueprint
from servicekit.context import service_context, service_resource, service_settings
from servicekit.db import request_session
from servicekit.tokens import authenticate, current_principal

from messaging import stream
from messaging.notices import NOTICE_TYPES

blp = Blueprint("stream", __name__, description="Live delivery: my notices as Server-Sent Events")

EVENT_ID = validate.Range(min=0, max=2**63 - 1)  # a bigint: anything larger could not be compared

STREAM_RESPONSE = {200: {
    "description": (
        "An endless `text/event-stream`. Each notice is an event with `id:` (resume after it with "
        "Last-Event-ID), `event:` (" + ", ".join(NOTICE_TYPES) + ") and `data:` (JSON: ids and counts, "
        "never content). A comment line comes every STREAM_HEARTBEAT_SECONDS. When the server ends the "
        "stream, its last event is `close` with `data: {\"reason\": ...}`: `token_expired` (reconnect with "
        "a fresh token), `session_revoked` (signed out), `lagging` or `interrupted` (reconnect with "
        "Last-Event-ID)."),
    # The schema of one event (as OpenAPI 3.2's itemSchema would say; before 3.2, tools such as schemathesis
    # read an event stream's `schema` as that of each event): its fields as an EventSource parses them.
    "content": {"text/event-stream": {"schema": {
        "type": "object", "required": ["event", "data"],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9]+$", "description": "Resume after it with Last-Event-ID."},
            "event": {"type": "string", "enum": [*NOTICE_TYPES, "close"]},
            "data": {"type": "string", "description": "JSON: ids and counts (never content), or the close reason."},
            "retry": {"type": "integer", "minimum": 0, "description": "Milliseconds to wait before reconnecting."},
        }}}}}}


class StreamQuerySchema(Schema):
    access_token = fields.String(metadata={"description": (
        "The access token, for clients that cannot send an Authorization header (a browser's EventSource). "
        "Accepted on this endpoint only, and only without an Authorization header.")})
    last_event_id = fields.Integer(validate=EVENT_ID, metadata={
        "description": "Resume after this event id, as the Last-Event-ID header does (the header wins)."})


class StreamHeadersSchema(Schema):
    last_event_id = fields.Integer(data_key="Last-Event-ID", validate=EVENT_ID, metadata={
        "description": "Resume after this event id (an EventSource sends it when it reconnects)."})


def login_required_or_token_in_query(view):
    """As `blp.login_required`; without an Authorization header, `?access_token=` may carry the token."""
    documented = blp.doc(security=[{"bearerAuth": []}])(view)

    @wraps(documented)
    def authenticated(*args, **kwargs):
        token = request.args.get("access_token", "").strip()
        if token and "Authorization" not in request.headers:
            g.principal = service_context().verifier.verify(token)
        else:
            authenticate()
        return documented(*args, **kwargs)

    return blp.alt_response(401, description="Not signed in")(authenticated)


def event_stream_response(body: stream.EventStream) -> Response:
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx passes each event on at once
    return response


@blp.route("/stream")
class Stream(MethodView):
    @login_required_or_token_in_query
    @blp.arguments(StreamQuerySchema, location="query")
    @blp.arguments(StreamHeadersSchema, location="headers")
    @blp.doc(responses=STREAM_RESPONSE)
    @blp.alt_response(503, description="Live delivery is unavailable right now (retry after Retry-After)")
    def get(self, query, headers):
        """My notices as they happen (Server-Sent Events), resumable with Last-Event-ID"""
        return event_stream_response(stream.open_stream(
            service_resource("stream"), request_session(), current_principal(),
            last_event_id=headers.get("last_event_id", query.get("last_event_id")),
            heartbeat_seconds=service_settings().stream_heartbeat_seconds,
            is_revoked=service_context().verifier.is_revoked))
