"""Operator tools for a service's dead-letter queue: list, and replay into the live queue."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pika

from servicekit.events.topology import Topology


@dataclass(frozen=True)
class DeadLetter:
    event_id: str | None
    event_type: str | None
    attempts: int
    error: str | None
    failed_at: str | None

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


@contextmanager
def _channel(amqp_url: str) -> Iterator:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        yield channel
    finally:
        if connection.is_open:
            connection.close()  # messages taken but not acked go back to the queue


def _describe(properties, body: bytes) -> DeadLetter:
    headers = properties.headers or {}
    try:
        envelope = json.loads(body)
        event_id, event_type = envelope.get("id"), envelope.get("type")
    except (ValueError, AttributeError):
        event_id, event_type = properties.message_id, properties.type
    return DeadLetter(event_id=event_id, event_type=event_type, attempts=int(headers.get("x-attempts", 0)),
                      error=headers.get("x-last-error"), failed_at=headers.get("x-failed-at"))


def list_dead_letters(amqp_url: str, topology: Topology, service: str, limit: int = 100) -> list[DeadLetter]:
    """Look at up to `limit` dead letters without removing them."""
    letters: list[DeadLetter] = []
    with _channel(amqp_url) as channel:
        queue = topology.dead_queue(service)
        channel.queue_declare(queue, durable=True)
        while len(letters) < limit:
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            letters.append(_describe(properties, body))
    return letters


def replay_dead_letters(amqp_url: str, topology: Topology, service: str,
                        event_ids: Collection[str] | None = None) -> list[DeadLetter]:
    """Move dead letters (all, or those with the given event ids) back to the live queue with fresh attempts."""
    replayed: list[DeadLetter] = []
    with _channel(amqp_url) as channel:
        dead = topology.dead_queue(service)
        waiting = channel.queue_declare(dead, durable=True).method.message_count
        for _ in range(waiting):
            method, properties, body = channel.basic_get(dead, auto_ack=False)
            if method is None:
                break
            letter = _describe(properties, body)
            if event_ids is not None and letter.event_id not in event_ids:
                continue  # stays unacked until the channel closes, then returns to the queue
            headers = {k: v for k, v in (properties.headers or {}).items() if k not in {"x-attempts", "x-death"}}
            headers["x-replayed-at"] = dt.datetime.now(dt.UTC).isoformat()
            channel.basic_publish("", topology.queue(service), body, pika.BasicProperties(
                content_type="application/json", delivery_mode=2, message_id=properties.message_id,
                type=properties.type, headers=headers), mandatory=True)
            channel.basic_ack(method.delivery_tag)
            replayed.append(letter)
    return replayed
