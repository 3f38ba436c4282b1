"""The registry of a consumer's event handlers: `handler(session, event)` by event type."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, Any], None]


class EventHandlers:
    def __init__(self) -> None:
        self._by_type: dict[str, Handler] = {}

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        """Register the decorated function as the handler of `event_type`."""
        def register(handler: Handler) -> Handler:
            if event_type in self._by_type:
                raise ValueError(f"{event_type} already has a handler")
            self._by_type[event_type] = handler
            return handler
        return register

    def include(self, other: EventHandlers) -> EventHandlers:
        for event_type, handler in other._by_type.items():
            self.on(event_type)(handler)
        return self

    def get(self, event_type: str) -> Handler | None:
        return self._by_type.get(event_type)

    @property
    def event_types(self) -> list[str]:
        return sorted(self._by_type)

    def __bool__(self) -> bool:
        return bool(self._by_type)
