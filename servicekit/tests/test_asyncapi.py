"""The AsyncAPI document a service serves at /api/<service>/asyncapi.json (servicekit.events.asyncapi),
checked against the official AsyncAPI 3.0.0 JSON Schema (servicekit/tests/data)."""
import copy
from urllib.parse import urlsplit

import jsonschema
import pytest
import sqlalchemy as sa

from servicekit.context import context_of
from servicekit.tables import outbox
from servicekit.testing.event_contracts import asyncapi_errors


@pytest.fixture
def document(client):
    response = client.get("/api/test/asyncapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def test_the_document_is_valid_asyncapi_3(document):
    assert document["asyncapi"] == "3.0.0"
    assert asyncapi_errors(document) == []


def test_the_schema_check_refuses_a_document_that_is_not_asyncapi_3(document):
    broken = copy.deepcopy(document)
    broken["operations"]["send.test.note.created"]["action"] = "publish"  # AsyncAPI 2's word
    del broken["info"]["version"]
    errors = asyncapi_errors(broken)
    assert any(error.startswith("$.operations['send.test.note.created']") for error in errors), errors
    assert any(error.startswith("$.info") and "'version' is a required property" in error for error in errors)


def test_a_published_type_is_a_channel_on_the_topic_exchange_with_a_send_operation(document, app):
    exchange = context_of(app).topology.exchange
    channel = document["channels"]["test.note.created"]
    assert channel["address"] == "test.note.created"
    assert channel["bindings"]["amqp"]["is"] == "routingKey"
    assert channel["bindings"]["amqp"]["exchange"] | {"vhost": None} == {
        "name": exchange, "type": "topic", "durable": True, "autoDelete": False, "vhost": None}
    send = document["operations"]["send.test.note.created"]
    assert send["action"] == "send"
    assert send["channel"] == {"$ref": "#/channels/test.note.created"}
    assert send["messages"] == [{"$ref": "#/channels/test.note.created/messages/NoteCreated"}]


def test_a_published_message_is_the_envelope_around_the_declared_payload(document):
    message = document["channels"]["test.note.created"]["messages"]["NoteCreated"]
    assert message["summary"].startswith("A note was recorded.")
    envelope = message["payload"]
    assert envelope["properties"]["version"] == {"const": 1}
    assert envelope["properties"]["producer"] == {"const": "test"}
    payload = envelope["properties"]["payload"]
    assert payload["properties"]["note_id"]["type"] == "string"
    assert payload["properties"]["note_id"]["format"] == "uuid"
    assert payload["properties"]["n"]["type"] == "integer"
    assert payload["additionalProperties"] is False


def test_an_event_as_written_to_the_outbox_is_what_the_document_describes(document, client, app):
    assert client.post("/api/test/notes", json={"text": "described"}).status_code == 201
    with context_of(app).db.session() as session:
        [envelope] = session.scalars(sa.select(outbox.c.envelope))
    schema = document["channels"]["test.note.created"]["messages"]["NoteCreated"]["payload"]
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(envelope)


def test_consumed_types_have_receive_operations_and_every_worker_receives_revoked_sessions(document):
    assert document["operations"]["receive.test.note.created"]["action"] == "receive"
    receive = document["operations"]["receive.auth.session.revoked"]
    assert receive["action"] == "receive"
    message = document["channels"]["auth.session.revoked"]["messages"]["SessionRevokedSchema"]
    payload = message["payload"]["properties"]["payload"]
    assert {"session_id", "revoked_at"} <= set(payload["required"])  # what the denylist needs of auth's event
    assert "send.auth.session.revoked" not in document["operations"]


def test_the_broker_is_named_without_its_credentials(document, app, client):
    amqp_url = urlsplit(context_of(app).settings.amqp_url)
    assert document["servers"]["rabbitmq"] == {
        "host": f"{amqp_url.hostname}:{amqp_url.port or 5672}", "pathname": amqp_url.path, "protocol": "amqp",
        "protocolVersion": "0.9.1", "description": "The RabbitMQ broker of this deployment."}
    assert amqp_url.password not in client.get("/api/test/asyncapi.json").get_data(as_text=True)
