"""JSON logs carrying the request id, and the request id itself.

The request id comes from `X-Request-ID` (set by the gateway) or is generated,
is echoed back, travels in every event published while handling the request,
and is restored while a consumer handles that event.
"""
from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None):
    """Set the request id for the current context; returns a token for `reset_request_id`."""
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)


def accept_request_id(header_value: str | None) -> str:
    """The client's id if it is a sane token, a fresh one otherwise (never log raw input)."""
    if header_value and _SANE_ID.fullmatch(header_value):
        return header_value
    return uuid.uuid4().hex


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = _request_id.get()
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stderr for the whole process. Idempotent (tests build many apps)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_servicekit", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._servicekit = True  # type: ignore[attr-defined]
        handler.setFormatter(JsonFormatter(
            "%(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",  # UTC, ISO-8601
        ))
        root.addHandler(handler)
    for existing in list(handler.filters):
        handler.removeFilter(existing)
    handler.addFilter(_ContextFilter(service))
    root.setLevel(level.upper())
    # pika logs every failed connection attempt at ERROR, some with a traceback; the exception reaches
    # our code, which reports the outage once (servicekit.outages).
    logging.getLogger("pika").setLevel(logging.CRITICAL)
