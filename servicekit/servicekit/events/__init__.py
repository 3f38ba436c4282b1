"""The event bus (DESIGN.md "The event bus"): one durable topic exchange, outbox on the
producing side, inbox + retries + dead letters on the consuming side.

    publish(session, "auth.user.registered", {...})      # in the caller's transaction
    handlers = EventHandlers()
    @handlers.on("auth.user.registered")
    def on_user_registered(session, event): ...          # in the consumer's transaction
"""
from servicekit.events.envelope import Event, MalformedEvent
from servicekit.events.handlers import EventHandlers
from servicekit.events.outbox import publish
from servicekit.events.topology import Topology

__all__ = ["Event", "EventHandlers", "MalformedEvent", "Topology", "publish"]
