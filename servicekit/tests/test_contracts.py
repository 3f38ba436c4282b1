"""Event contracts: `publish` holds every event to its declared schema and version
(servicekit.events.contracts); a consumer declares the schema it reads with."""
import datetime as dt
import enum
import uuid

import pytest
import sqlalchemy as sa
from marshmallow import EXCLUDE, INCLUDE, Schema, fields, validate

from servicekit.context import context_of
from servicekit.events import (Event, EventContracts, EventHandlers, InvalidPayload, UndeclaredEvent, publish,
                               record)
from servicekit.tables import outbox
from servicekit.testing.event_contracts import example_payload

contracts = EventContracts("test")


@contracts.publishes("test.contract.checked", version=2)
class ContractChecked(Schema):
    """A contract was checked (the schema these tests publish against)."""

    thing_id = fields.UUID(required=True)
    count = fields.Integer(required=True)
    checked_at = fields.AwareDateTime(required=True)
    note = fields.String(required=True, allow_none=True)
    tags = fields.List(fields.String())


def outbox_envelopes(app) -> list[dict]:
    with context_of(app).db.session() as session:
        return list(session.scalars(sa.select(outbox.c.envelope).order_by(outbox.c.seq)))


def publish_checked(app, **changes):
    """Publish test.contract.checked with a valid payload, changed by `changes` (a field given `...` is left out)."""
    payload = {"thing_id": uuid.uuid4(), "count": 3, "checked_at": dt.datetime.now(dt.UTC), "note": None, **changes}
    with context_of(app).db.transaction() as session:
        return publish(session, "test.contract.checked", {k: v for k, v in payload.items() if v is not ...})


def unique_type(entity: str) -> str:
    return f"test.{entity}{uuid.uuid4().hex[:8]}.happened"


# --- publish ---------------------------------------------------------------------------

def test_a_payload_that_matches_its_contract_is_recorded_as_json_with_the_declared_version(app):
    thing_id, checked_at = uuid.uuid4(), dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    event = publish_checked(app, thing_id=thing_id, checked_at=checked_at, tags=["a", "b"])

    assert event.version == 2
    [envelope] = outbox_envelopes(app)
    assert (envelope["id"], envelope["type"], envelope["version"]) == (str(event.id), "test.contract.checked", 2)
    assert envelope["payload"] == {"thing_id": str(thing_id), "count": 3, "checked_at": "2026-03-04T05:06:07+00:00",
                                   "note": None, "tags": ["a", "b"]}


def test_an_undeclared_event_type_is_refused_and_nothing_is_recorded(app):
    with pytest.raises(UndeclaredEvent, match="test.never.declared is not declared"):
        with context_of(app).db.transaction() as session:
            publish(session, "test.never.declared", {"thing_id": uuid.uuid4()})
    assert outbox_envelopes(app) == []


def test_a_payload_missing_a_required_field_is_refused(app):
    with pytest.raises(InvalidPayload) as refused:
        publish_checked(app, count=...)
    assert refused.value.errors == {"count": ["Missing data for required field."]}
    assert outbox_envelopes(app) == []


@pytest.mark.parametrize("field, value", [
    ("thing_id", "not-a-uuid"), ("thing_id", 42), ("count", "three"), ("count", None), ("note", 7),
    ("tags", "a"), ("checked_at", "yesterday"),
])
def test_a_field_of_the_wrong_type_is_refused(app, field, value):
    with pytest.raises(InvalidPayload) as refused:
        publish_checked(app, **{field: value})
    assert list(refused.value.errors) == [field]
    assert "test.contract.checked" in str(refused.value) and field in str(refused.value)
    assert outbox_envelopes(app) == []


def test_a_field_the_contract_does_not_declare_is_refused_so_nothing_undeclared_reaches_the_bus(app):
    with pytest.raises(InvalidPayload) as refused:
        publish_checked(app, email="someone@example.org")
    assert refused.value.errors == {"email": ["Unknown field."]}


def test_a_naive_datetime_is_refused_before_it_could_be_sent(app):
    with pytest.raises(TypeError, match="naive datetime"):
        publish_checked(app, checked_at=dt.datetime(2026, 1, 1))


def test_a_test_standing_in_for_another_producer_records_its_event_as_given(app):
    stand_in = Event.new("other.thing.happened", {"anything": "as the other service would send it"})
    with context_of(app).db.transaction() as session:
        record(session, stand_in)
    [envelope] = outbox_envelopes(app)
    assert (envelope["id"], envelope["type"], envelope["payload"]) == (
        str(stand_in.id), "other.thing.happened", {"anything": "as the other service would send it"})


# --- declaring -------------------------------------------------------------------------

def test_a_service_declares_only_events_it_produces():
    with pytest.raises(ValueError, match="only auth publishes it"):
        EventContracts("test").publishes("auth.user.registered", version=1)


def test_an_event_type_has_one_declaration():
    event_type = unique_type("clash")
    declare = EventContracts("test").publishes

    @declare(event_type, version=1)
    class First(Schema):
        a = fields.String()

    with pytest.raises(ValueError, match=f"{event_type} is already declared by .*First"):
        @declare(event_type, version=1)
        class Second(Schema):
            b = fields.String()


@pytest.mark.parametrize("version", [0, -1, "1", True])
def test_a_version_is_a_positive_integer(version):
    with pytest.raises(ValueError, match="positive integer"):
        EventContracts("test").publishes(unique_type("versioned"), version=version)


def test_a_producer_schema_must_refuse_undeclared_fields():
    with pytest.raises(ValueError, match="must refuse undeclared fields"):
        @EventContracts("test").publishes(unique_type("lenient"), version=1)
        class Lenient(Schema):
            class Meta:
                unknown = INCLUDE


def test_a_consumer_declares_the_schema_it_reads_with_and_that_schema_ignores_unknown_fields():
    handlers = EventHandlers()

    class Strict(Schema):
        a = fields.String()

    class Tolerant(Schema):
        class Meta:
            unknown = EXCLUDE
        a = fields.String()

    with pytest.raises(ValueError, match="must ignore fields it does not know"):
        handlers.on("test.contract.checked", schema=Strict)
    with pytest.raises(TypeError):
        handlers.on("test.contract.checked", schema=Tolerant())

    @handlers.on("test.contract.checked", schema=Tolerant)
    def on_contract_checked(session, event):
        pass

    assert handlers.schemas == {"test.contract.checked": Tolerant}
    assert EventHandlers().include(handlers).schemas == {"test.contract.checked": Tolerant}


# --- example payloads (for the contract test) ------------------------------------------

class Colour(enum.Enum):
    RED = "red"


class Part(Schema):
    number = fields.Integer(required=True, validate=validate.Range(min=10))
    label = fields.String(allow_none=True)


class EveryFieldType(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=12))
    kind = fields.String(validate=validate.OneOf(["small", "large"]))
    email = fields.Email()
    url = fields.Url()
    at = fields.AwareDateTime(required=True)
    naive_at = fields.NaiveDateTime()
    plain_at = fields.DateTime()
    day = fields.Date()
    count = fields.Integer()
    price = fields.Float()
    exact = fields.Decimal()
    flag = fields.Boolean()
    part = fields.Nested(Part, required=True)
    parts = fields.Nested(Part, many=True)
    ids = fields.List(fields.UUID())
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    colour = fields.Enum(Colour)
    colour_value = fields.Enum(Colour, by_value=True)
    address = fields.IPv4()
    renamed = fields.String(data_key="shownAs")
    maybe = fields.UUID(required=True, allow_none=True)


def test_an_example_payload_loads_in_the_schema_it_was_built_from_for_every_field_type():
    full, sparse = example_payload(EveryFieldType), example_payload(EveryFieldType, sparse=True)
    assert EveryFieldType().validate(full) == {}
    assert EveryFieldType().validate(sparse) == {}
    assert set(full) == {*EveryFieldType().load_fields, "shownAs"} - {"renamed"}
    assert set(sparse) == {"id", "name", "at", "part", "maybe"}
    assert sparse["maybe"] is None and full["maybe"] is not None
    assert sparse["part"] == {"number": 10}


def test_a_field_type_without_an_example_fails_loudly():
    class Odd(Schema):
        how = fields.Method(deserialize="load_how")

        def load_how(self, value):
            return value

    with pytest.raises(TypeError, match="no example for Method"):
        example_payload(Odd)
