"""The registry of a consumer's event handlers: by event type, the handler and the schema it reads with.

    handlers = EventHandlers()

    class ModerationAction(Schema):          # this service's own copy of what it needs
        class Meta:
            unknown = EXCLUDE                # fields it does not know are ignored (DESIGN.md)
        action = fields.String(required=True)

    @handlers.on("social.moderation.action_taken", schema=ModerationAction)
    def on_moderation_action_taken(session, event):
        action = ModerationAction().load(event.payload)
        ...

A handler receives the event as it arrived (`event.payload` is the JSON payload)
and loads the payload itself with the schema it names in `on(...)`. The
declaration is what the service's AsyncAPI document shows it receives, and what
the contract test (tests/test_event_contracts.py) checks every producer's
declared payload against, so a producer cannot drop or rename a field this
handler needs without a test failing. A consumer's schema must ignore unknown
fields: producers may add fields at any time.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema

Handler = Callable[[Any, Any], None]


@dataclass(frozen=True)
class Subscription:
    handler: Handler
    schema: type[Schema]


class EventHandlers:
    def __init__(self) -> None:
        self._by_type: dict[str, Subscription] = {}

    def on(self, event_type: str, *, schema: type[Schema]) -> Callable[[Handler], Handler]:
        """Register the decorated function as the handler of `event_type`, reading payloads with `schema`."""
        if not (isinstance(schema, type) and issubclass(schema, Schema)):
            raise TypeError(f"the schema of {event_type} must be a marshmallow Schema class, not {schema!r}")
        if schema.opts.unknown != EXCLUDE:
            raise ValueError(f"{schema.__qualname__} (consumer of {event_type}) must ignore fields it does not "
                             "know: producers may add fields (class Meta: unknown = EXCLUDE)")

        def register(handler: Handler) -> Handler:
            if event_type in self._by_type:
                raise ValueError(f"{event_type} already has a handler")
            self._by_type[event_type] = Subscription(handler, schema)
            return handler
        return register

    def include(self, other: EventHandlers) -> EventHandlers:
        for event_type, subscription in other._by_type.items():
            self.on(event_type, schema=subscription.schema)(subscription.handler)
        return self

    def get(self, event_type: str) -> Handler | None:
        subscription = self._by_type.get(event_type)
        return subscription.handler if subscription else None

    @property
    def schemas(self) -> dict[str, type[Schema]]:
        """The consumer's schema of each event type it handles, by type."""
        return {event_type: self._by_type[event_type].schema for event_type in self.event_types}

    @property
    def event_types(self) -> list[str]:
        return sorted(self._by_type)

    def __bool__(self) -> bool:
        return bool(self._by_type)
