"""Domain errors and the one funnel that turns every error into problem+json (RFC 9457).

Domain code raises `NotFound`, `Forbidden`, `Conflict`, ... from here; routes never
catch. HTTP errors from Flask/werkzeug and validation errors from flask-smorest
(webargs) go through the same funnel; an unexpected exception becomes a 500 that
is logged with its traceback and answered without one.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from servicekit.logs import current_request_id

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule was broken; `status` and `code` say how it reaches the client."""

    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, errors: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(DomainError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(DomainError):
    status, code, title = 410, "gone", "Gone"


class Invalid(DomainError):
    status, code, title = 422, "invalid", "Invalid input"


class TooManyRequests(DomainError):
    status, code, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(DomainError):
    status, code, title = 503, "unavailable", "Service unavailable"


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
    return problem_response(error.status, error.title, error.detail, code=error.code,
                            errors=error.errors, headers=error.headers)


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
    app.register_error_handler(Exception, handle_unexpected)
