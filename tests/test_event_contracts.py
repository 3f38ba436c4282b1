"""The event contracts between the services: for every event type, an example built from the
producer's declared schema loads in every consumer's schema.

A producer that renames or drops a field a consumer needs, makes it optional or
nullable, or changes its type fails here, before deployment. The services'
events modules are imported at test time only; at run time no service imports
another. Nothing here needs the running stack.
"""
from __future__ import annotations

import importlib

import pytest
from marshmallow import EXCLUDE, Schema, fields
from servicekit.events import EventHandlers
from servicekit.testing.event_contracts import example_payload, refusals
from servicekit.tokens import revocation_handlers

SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")
CONTRACTS = {service: importlib.import_module(f"{service}.events").contracts for service in SERVICES}
DECLARED = {contract.event_type: contract for contracts in CONTRACTS.values() for contract in contracts.published}
# Every worker also runs servicekit's handlers (the revoked-session denylist).
CONSUMERS: dict[str, EventHandlers] = {**{service: contracts.handlers for service, contracts in CONTRACTS.items()},
                                       "servicekit (every worker)": revocation_handlers}
CONSUMED = [(consumer, event_type, schema) for consumer, handlers in CONSUMERS.items()
            for event_type, schema in handlers.schemas.items()]


def consumption_id(consumption) -> str:
    consumer, event_type, _schema = consumption
    return f"{event_type}->{consumer}"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_declares_only_its_own_event_types(service):
    assert CONTRACTS[service].service == service
    assert all(contract.producer == service for contract in CONTRACTS[service].published)


@pytest.mark.parametrize("event_type", sorted(DECLARED))
def test_an_example_of_every_declared_payload_loads_in_its_own_schema(event_type):
    schema = DECLARED[event_type].schema
    assert schema().validate(example_payload(schema)) == {}
    assert schema().validate(example_payload(schema, sparse=True)) == {}


@pytest.mark.parametrize("consumption", CONSUMED, ids=consumption_id)
def test_what_a_service_consumes_is_declared_by_its_producer(consumption):
    consumer, event_type, _schema = consumption
    producer = event_type.split(".", 1)[0]
    assert event_type in DECLARED, (f"{consumer} consumes {event_type}, which {producer} does not declare "
                                    f"(declare it in {producer}/events.py)")


@pytest.mark.parametrize("consumption", [c for c in CONSUMED if c[1] in DECLARED], ids=consumption_id)
def test_every_consumer_loads_what_the_producer_declares(consumption):
    consumer, event_type, schema = consumption
    contract = DECLARED[event_type]
    problems = refusals(contract.schema, schema)
    assert not problems, (
        f"{event_type}: {consumer}'s {schema.__module__}.{schema.__qualname__} refuses what "
        f"{contract.producer}'s {contract.schema_name} declares:\n  " + "\n  ".join(problems))


# --- the check itself catches a break ----------------------------------------------------

class NeedsTarget(Schema):
    """A consumer that needs `target_id`, a UUID, always there."""

    class Meta:
        unknown = EXCLUDE

    action = fields.String(required=True)
    target_id = fields.UUID(required=True)


class SendsTarget(Schema):
    action = fields.String(required=True)
    target_id = fields.UUID(required=True)
    notes = fields.String(allow_none=True)


class DroppedTarget(Schema):
    action = fields.String(required=True)


class RenamedTarget(Schema):
    action = fields.String(required=True)
    target = fields.UUID(required=True)


class OptionalTarget(Schema):
    action = fields.String(required=True)
    target_id = fields.UUID()


class NullableTarget(Schema):
    action = fields.String(required=True)
    target_id = fields.UUID(required=True, allow_none=True)


class TextTarget(Schema):
    action = fields.String(required=True)
    target_id = fields.String(required=True)


def test_a_consumer_loads_a_producer_that_sends_what_it_needs_and_more():
    assert refusals(SendsTarget, NeedsTarget) == []


@pytest.mark.parametrize("producer, broken_by", [
    (DroppedTarget, "Missing data for required field."),
    (RenamedTarget, "Missing data for required field."),
    (OptionalTarget, "Missing data for required field. (required fields only, nulls where allowed)"),
    (NullableTarget, "Field may not be null. (required fields only, nulls where allowed)"),
    (TextTarget, "Not a valid UUID."),
])
def test_a_producer_that_breaks_a_field_a_consumer_needs_fails_the_check(producer, broken_by):
    problems = refusals(producer, NeedsTarget)
    assert problems, f"{producer.__name__} should break {NeedsTarget.__name__}"
    assert all(problem.startswith("target_id: ") for problem in problems)
    assert any(broken_by in problem for problem in problems)
