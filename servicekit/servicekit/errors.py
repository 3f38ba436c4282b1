"""Domain errors: what a broken rule is, and how it reaches the client.

Domain code raises `NotFound`, `Forbidden`, `Conflict`, ... from here; routes never
catch. This module knows nothing of Flask: `servicekit.problems` turns these (and
every other error) into problem+json (RFC 9457).
"""
from __future__ import annotations

from typing import Any


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
