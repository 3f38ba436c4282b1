"""The one funnel that turns every error into problem+json (RFC 9457).

Domain errors (`servicekit.errors`), HTTP errors from Flask/werkzeug and
validation errors from flask-smorest (webargs) all leave through here. A
database that cannot be reached is a 503 with Retry-After, not a bug; any other
unexpected exception becomes a 500 that is logged with its traceback and
answered without one.
"""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, json, request
from werkzeug.exceptions import HTTPException

from servicekit.errors import DomainError
from servicekit.logs import current_request_id
from servicekit.outages import outages

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "5"  # how soon a client may try again when a dependency is away
log = logging.getLogger(__name__)

# Errors that mean "PostgreSQL is away" (refused, restarting, connection lost, pool exhausted),
# not "the request is wrong": the client should come back later.
DATABASE_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


def problem_response(status: int, title: str, detail: str | None = None, *, code: str | None = None,
                     errors: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
    """Build an `application/problem+json` response."""
    body: dict[str, Any] = {
        "type": f"urn:beyou:problem:{code}" if code else "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": request.path if request else None,
        "request_id": current_request_id(),
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    return response


def handle_domain_error(error: DomainError) -> Response:
    headers = dict(error.headers)
    if error.status == 503:
        headers.setdefault("Retry-After", RETRY_AFTER_SECONDS)
    return problem_response(error.status, error.title, error.detail, code=error.code,
                            errors=error.errors, headers=headers)


def handle_http_exception(error: HTTPException) -> Response:
    """werkzeug/Flask errors, including flask-smorest's 422 with webargs messages."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = _field_errors(data.get("messages")) if isinstance(data, dict) else None
    detail = data.get("message") if isinstance(data, dict) and data.get("message") else error.description
    headers = dict(error.get_headers()) if status == 405 else {}
    headers.pop("Content-Type", None)
    if status == 422:
        detail = "The request has invalid fields; see errors."
    elif status == 400 and errors:
        detail = "The request could not be read; see errors."
    return problem_response(status, error.name, detail, errors=errors, headers=headers)


def handle_database_unavailable(error: Exception) -> Response:
    """PostgreSQL is away: 503 with Retry-After, logged once per outage (not a traceback per request)."""
    g.database_failed = True
    outages.down("database", getattr(error, "orig", None) or error)
    return problem_response(503, "Service Unavailable", "The service's database is unavailable; retry shortly.",
                            code="database-unavailable", headers={"Retry-After": RETRY_AFTER_SECONDS})


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.path})
    return problem_response(500, "Internal Server Error", "An unexpected error occurred; it has been logged.")


def _field_errors(messages: Any) -> dict[str, Any] | None:
    """webargs groups messages by location (json, query, ...); clients want them by field."""
    if not isinstance(messages, dict):
        return None
    merged: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            merged.update(fields)
        else:
            merged[location] = fields
    return merged


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
