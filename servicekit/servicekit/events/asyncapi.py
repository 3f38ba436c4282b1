"""The AsyncAPI 3.0 document of a service's events, served at /api/<service>/asyncapi.json.

It is generated from the declarations, never written by hand:
- a channel per event type the service publishes or consumes, its `address`
  the routing key (= the event type) on the `beyou.events` topic exchange
  (AMQP channel binding: exchange name, type topic, durable);
- the channel's message is the JSON envelope (`id`, `type`, `version`,
  `occurred_at`, `producer`, `request_id`) with the `payload` converted to JSON
  Schema from the marshmallow schema: the producer's declared schema
  (servicekit.events.contracts) for a type the service publishes, else the schema
  its handler declares (servicekit.events.handlers), i.e. what it needs;
- an operation `send` per published type, `receive` per consumed type. Every
  worker receives `auth.session.revoked` (servicekit's revoked-session denylist);
- one server: the broker of the service's AMQP_URL (host, port and vhost, never
  its credentials).

The document validates against the official AsyncAPI 3.0.0 JSON Schema
(servicekit/tests/test_asyncapi.py, and `ServiceContract` for every service).
"""
from __future__ import annotations

import inspect
from typing import Any
from urllib.parse import unquote, urlsplit

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify
from marshmallow import Schema

from servicekit.context import service_context
from servicekit.events.contracts import Contract, EventContracts
from servicekit.events.topology import Topology
from servicekit.tokens import revocation_handlers

AMQP_BINDING_VERSION = "0.3.0"


def asyncapi_document(contracts: EventContracts, *, topology: Topology, broker_url: str,
                      version: str = "0.1.0") -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of what `contracts` declares the service publishes and consumes."""
    service = contracts.service
    host, vhost = _broker(broker_url)
    to_json_schema = _converter()
    published = {contract.event_type: contract for contract in contracts.published}
    consumed = {**revocation_handlers.schemas, **contracts.handlers.schemas}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for event_type in sorted(published.keys() | consumed.keys()):
        contract = published.get(event_type)
        schema = contract.schema if contract else consumed[event_type]
        channels[event_type] = {
            "address": event_type,
            "title": event_type,
            "messages": {schema.__name__: _message(event_type, contract, schema, to_json_schema)},
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": topology.exchange, "type": "topic", "durable": True, "autoDelete": False,
                             "vhost": vhost},
                "bindingVersion": AMQP_BINDING_VERSION}},
        }
        refs = {"channel": {"$ref": f"#/channels/{event_type}"},
                "messages": [{"$ref": f"#/channels/{event_type}/messages/{schema.__name__}"}]}
        if contract:
            operations[f"send.{event_type}"] = _send(service, event_type, refs)
        if event_type in consumed:
            operations[f"receive.{event_type}"] = _receive(service, event_type, refs, topology)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"BeYou {service} events",
            "version": version,
            "description": f"The events the {service} service publishes (send) and consumes (receive) on the "
                           f"topic exchange `{topology.exchange}`: routing key = event type "
                           "`<producer>.<entity>.<past-tense verb>`. Consumers ignore payload fields they "
                           "do not know.",
        },
        "defaultContentType": "application/json",
        "servers": {"rabbitmq": {
            "host": host, "pathname": "/" + vhost.lstrip("/"), "protocol": "amqp",
            "protocolVersion": "0.9.1", "description": "The RabbitMQ broker of this deployment."}},
        "channels": channels,
        "operations": operations,
    }


def asyncapi_blueprint(contracts: EventContracts) -> Blueprint:
    """GET asyncapi.json (mounted at /api/<service>): the document, built once per app on first request."""
    blueprint = Blueprint("asyncapi", __name__)
    built: list[dict[str, Any]] = []

    @blueprint.get("/asyncapi.json")
    def asyncapi_json():
        if not built:
            context = service_context()
            built.append(asyncapi_document(contracts, topology=context.topology,
                                           broker_url=context.settings.amqp_url,
                                           version=current_app.config["API_VERSION"]))
        return jsonify(built[0])

    return blueprint


def _send(service: str, event_type: str, refs: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": "send", **refs,
        "summary": f"{service} publishes {event_type} (written to its outbox with the state change, "
                   "relayed as a persistent, mandatory message once committed).",
        "bindings": {"amqp": {"deliveryMode": 2, "mandatory": True, "bindingVersion": AMQP_BINDING_VERSION}},
    }


def _receive(service: str, event_type: str, refs: dict[str, Any], topology: Topology) -> dict[str, Any]:
    return {
        "action": "receive", **refs,
        "summary": f"{service} consumes {event_type} from its durable queue {topology.queue(service)} "
                   "(acked after its database commit; retried, then dead-lettered).",
        "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
    }


def _message(event_type: str, contract: Contract | None, schema: type[Schema], to_json_schema) -> dict[str, Any]:
    doc = inspect.cleandoc(schema.__doc__ or "")  # a class's own docstring, never one inherited from marshmallow
    summary = " ".join(doc.split("\n\n")[0].split())
    message = {
        "name": event_type,
        "title": schema.__name__,
        "summary": summary or event_type,
        "contentType": "application/json",
        "payload": _envelope(event_type, contract, to_json_schema(schema)),
        "bindings": {"amqp": {"messageType": event_type, "bindingVersion": AMQP_BINDING_VERSION}},
    }
    if contract is None:
        message["description"] = ("The payload shows what this service reads of it; the producer's AsyncAPI "
                                  "document declares all of it.")
    elif "\n\n" in doc:
        message["description"] = doc
    return message


def _envelope(event_type: str, contract: Contract | None, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "type", "version", "occurred_at", "producer", "request_id", "payload"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "Unique per event; consumers deduplicate by it."},
            "type": {"const": event_type},
            "version": {"const": contract.version} if contract else {"type": "integer", "minimum": 1},
            "occurred_at": {"type": "string", "format": "date-time"},
            "producer": {"const": event_type.split(".", 1)[0]},
            "request_id": {"type": ["string", "null"], "description": "The request that caused the event."},
            "payload": payload,
        },
    }


def _converter():
    """marshmallow schema -> JSON Schema, nested schemas inline; OpenAPI 3.1's dialect is JSON Schema's."""
    plugin = MarshmallowPlugin(schema_name_resolver=lambda _schema: None)
    APISpec("events", "1", openapi_version="3.1.0", plugins=[plugin])
    return plugin.converter.schema2jsonschema


def _broker(amqp_url: str) -> tuple[str, str]:
    """(host:port, vhost) of an AMQP URL, leaving out the credentials."""
    url = urlsplit(amqp_url)
    host = f"{url.hostname or 'localhost'}:{url.port or 5672}"
    return host, unquote(url.path[1:]) or "/"
