"""Event contracts: each event type a service publishes is declared once, with its payload schema and version.

In a service's events.py:

    handlers = EventHandlers()                    # what it consumes (servicekit.events.handlers)
    contracts = EventContracts("auth", handlers)  # what it publishes, and the handlers, for its AsyncAPI document

    @contracts.publishes("auth.user.registered", version=1)
    class UserRegistered(Schema):
        '''A new account exists.'''               # the message's summary in the AsyncAPI document
        user_id = fields.UUID(required=True)
        username = fields.String(required=True)
        created_at = fields.AwareDateTime(required=True)

and `create_app` passes `contracts=contracts` to `create_service_app`, which serves
the AsyncAPI document built from them (servicekit.events.asyncapi) and so makes
the API and the worker (which builds the app) import the declarations.

`publish(session, "auth.user.registered", payload)` looks the type up in the
declarations, puts the declared version on the envelope and checks the payload
as it will be sent (its JSON form) against the schema. An undeclared type
raises `UndeclaredEvent`, a payload the schema does not load (a required field
missing, a wrong type, a field not declared) raises `InvalidPayload`. Both are
programming errors, found by the test that exercises the code, never a
malformed event on the bus. The check is one marshmallow load of the
payload (10-15 µs for a few fields).

The rules of a producer's schema:
- It says what is sent, exactly: `required=True` for a field that is always
  present, `allow_none=True` where it may be null, and unknown fields are
  refused (marshmallow's default `RAISE`), so nothing undeclared (an email, a
  secret) reaches the bus and the document lists every field.
- Field `metadata={"description": ...}` and the class docstring appear in the
  AsyncAPI document.
- Adding an optional field is compatible. Renaming or removing a field, or
  changing its type, breaks consumers: tests/test_event_contracts.py fails when a
  consumer's schema (servicekit.events.handlers) no longer loads what a producer
  declares. A change consumers must adapt to is published under a new version.

Declarations are kept per process, by event type (the type's first part names
its producer, so two services never declare the same type). A test that
stands in for another service's producer, whose declarations this process does
not load, writes the event with `servicekit.events.record(session, Event.new(...))`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import RAISE, Schema

from servicekit.events.envelope import EVENT_TYPE
from servicekit.events.handlers import EventHandlers


class ContractViolation(Exception):
    """A publish that breaks the declared event contracts: a programming error, never the client's."""


class UndeclaredEvent(ContractViolation):
    """The event type has no declaration in this process."""


class InvalidPayload(ContractViolation):
    """The payload does not load with the schema declared for its type."""

    def __init__(self, contract: Contract, errors: Mapping[str, Any]) -> None:
        self.errors = dict(errors)
        super().__init__(f"{contract.event_type} payload does not match {contract.schema_name}: {self.errors}")


@dataclass(frozen=True)
class Contract:
    """One published event type: its payload schema and its version."""

    event_type: str
    version: int
    schema: type[Schema]
    _checker: Schema = field(repr=False, compare=False)

    @property
    def producer(self) -> str:
        return self.event_type.split(".", 1)[0]

    @property
    def schema_name(self) -> str:
        return f"{self.schema.__module__}.{self.schema.__qualname__}"

    def check(self, payload: Mapping[str, Any]) -> None:
        """Raise `InvalidPayload` unless `payload` (its JSON form) loads with the schema."""
        errors = self._checker.validate(payload)
        if errors:
            raise InvalidPayload(self, errors)


_declared: dict[str, Contract] = {}


def declared_contract(event_type: str) -> Contract:
    """The declaration of `event_type`; `UndeclaredEvent` if none was imported."""
    try:
        return _declared[event_type]
    except KeyError:
        producer = event_type.split(".", 1)[0]
        raise UndeclaredEvent(
            f"{event_type} is not declared: declare it in {producer}'s events.py with "
            f"@contracts.publishes({event_type!r}, version=...); a test standing in for {producer} "
            "records its event with record(session, Event.new(...))") from None


class EventContracts:
    """What a service publishes (declared with `publishes`) and, through `handlers`, what it consumes."""

    def __init__(self, service: str, handlers: EventHandlers | None = None) -> None:
        self.service = service
        self.handlers = handlers if handlers is not None else EventHandlers()
        self._published: dict[str, Contract] = {}

    def publishes(self, event_type: str, *, version: int) -> Callable[[type[Schema]], type[Schema]]:
        """Declare the decorated schema as the payload of `event_type`, published with `version`."""
        match = EVENT_TYPE.match(event_type)
        if not match:
            raise ValueError(f"event type {event_type!r} is not <producer>.<entity>.<past-tense verb>")
        if match["producer"] != self.service:
            raise ValueError(f"{self.service} cannot declare {event_type}: only {match['producer']} publishes it")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"the version of {event_type} must be a positive integer, not {version!r}")

        def declare(schema: type[Schema]) -> type[Schema]:
            if schema.opts.unknown != RAISE:
                raise ValueError(f"{schema.__qualname__} must refuse undeclared fields (marshmallow's RAISE): "
                                 "what is sent is exactly what is declared")
            contract = Contract(event_type, version, schema, schema())
            _register(contract)
            self._published[event_type] = contract
            return schema
        return declare

    @property
    def published(self) -> list[Contract]:
        """The declared contracts, by event type."""
        return [self._published[event_type] for event_type in sorted(self._published)]


def _register(contract: Contract) -> None:
    known = _declared.get(contract.event_type)
    # The same module.class declaring again is that module imported again (a reload), not a clash.
    if known is not None and known.schema_name != contract.schema_name:
        raise ValueError(f"{contract.event_type} is already declared by {known.schema_name}")
    _declared[contract.event_type] = contract
