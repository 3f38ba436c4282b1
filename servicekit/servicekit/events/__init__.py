"""The event bus (DESIGN.md "The event bus"): one durable topic exchange, outbox on the
producing side, inbox + retries + dead letters on the consuming side, and declared
contracts between the two.

    handlers = EventHandlers()
    contracts = EventContracts("auth", handlers)              # in the service's events.py

    @contracts.publishes("auth.user.registered", version=1)
    class UserRegistered(Schema): ...                          # the payload, declared once

    publish(session, "auth.user.registered", {...})            # in the caller's transaction, checked

    @handlers.on("social.moderation.action_taken", schema=ModerationAction)
    def on_moderation_action_taken(session, event): ...        # in the consumer's transaction
"""
from servicekit.events.contracts import ContractViolation, EventContracts, InvalidPayload, UndeclaredEvent
from servicekit.events.envelope import Event, MalformedEvent
from servicekit.events.handlers import EventHandlers
from servicekit.events.outbox import publish, record
from servicekit.events.topology import Topology

__all__ = ["ContractViolation", "Event", "EventContracts", "EventHandlers", "InvalidPayload", "MalformedEvent",
           "Topology", "UndeclaredEvent", "publish", "record"]
