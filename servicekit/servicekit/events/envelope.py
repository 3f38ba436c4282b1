"""The event envelope: id, type, version, occurred_at, producer, request_id, payload."""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from servicekit.logs import current_request_id

EVENT_TYPE = re.compile(r"^(?P<producer>[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class MalformedEvent(ValueError):
    """A message body that is not a valid envelope (it is dead-lettered, never retried)."""


def _encode(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in an event payload; use timezone-aware UTC")
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass(frozen=True)
class Event:
    type: str
    payload: dict[str, Any]
    version: int = 1
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    producer: str = ""
    request_id: str | None = None

    @classmethod
    def new(cls, event_type: str, payload: dict[str, Any], version: int = 1) -> Event:
        """A new event; the producer is the type's first part, the request id the current one."""
        match = EVENT_TYPE.match(event_type)
        if not match:
            raise ValueError(f"event type {event_type!r} is not <producer>.<entity>.<past-tense verb>")
        return cls(type=event_type, payload=payload, version=version, producer=match["producer"],
                   request_id=current_request_id())

    def to_json(self) -> str:
        return json.dumps({
            "id": self.id, "type": self.type, "version": self.version, "occurred_at": self.occurred_at,
            "producer": self.producer, "request_id": self.request_id, "payload": self.payload,
        }, default=_encode, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: bytes | str) -> Event:
        try:
            data = json.loads(body)
            event = cls(
                id=uuid.UUID(data["id"]),
                type=str(data["type"]),
                version=int(data["version"]),
                occurred_at=dt.datetime.fromisoformat(data["occurred_at"]),
                producer=str(data["producer"]),
                request_id=data.get("request_id"),
                payload=data["payload"],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedEvent(f"not an event envelope: {exc}") from exc
        if not isinstance(event.payload, dict) or not EVENT_TYPE.match(event.type):
            raise MalformedEvent("not an event envelope: bad type or payload")
        return event
