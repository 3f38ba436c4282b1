"""The consumer runner: a service's durable queue, handled exactly once in effect.

For each message: the handler runs in a database transaction that also inserts
the event id into `inbox`; the message is acked only after that transaction
commits. A redelivered event finds its id in the inbox and is acked with no
second effect (the inbox insert comes first, so a concurrent duplicate waits on
the row and then skips). A failing handler's event is republished to a retry
queue that holds it for the next back-off delay, then to the dead-letter queue
once `max_attempts` is reached; a malformed message goes there at once.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence

import pika
from sqlalchemy.dialects.postgresql import insert

from servicekit.db import Database
from servicekit.events.envelope import Event, MalformedEvent
from servicekit.events.handlers import EventHandlers
from servicekit.events.topology import Topology
from servicekit.logs import reset_request_id, set_request_id
from servicekit.tables import inbox

log = logging.getLogger(__name__)


class Consumer:
    def __init__(self, db: Database, amqp_url: str, topology: Topology, service: str, handlers: EventHandlers,
                 *, prefetch: int = 100, retry_delays_ms: Sequence[int] = (1_000, 10_000, 60_000),
                 max_attempts: int = 5) -> None:
        if not retry_delays_ms:
            raise ValueError("at least one retry delay is needed")
        self.db = db
        self.amqp_url = amqp_url
        self.topology = topology
        self.service = service
        self.handlers = handlers
        self.prefetch = prefetch
        self.retry_delays_ms = tuple(retry_delays_ms)
        self.max_attempts = max_attempts
        self.queue = topology.queue(service)

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set, reconnecting with back-off after any failure."""
        delay = 0.5
        while not stop.is_set():
            try:
                self._consume(stop)
                delay = 0.5
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("consumer lost the broker", extra={"queue": self.queue, "error": repr(exc)})
            except Exception:
                log.exception("consumer failed", extra={"queue": self.queue})
            if not stop.is_set():
                stop.wait(delay)
                delay = min(delay * 2, 10.0)

    def _consume(self, stop: threading.Event) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        try:
            channel = connection.channel()
            self.topology.declare_consumer(channel, self.service, self.handlers.event_types, self.retry_delays_ms)
            channel.confirm_delivery()
            channel.basic_qos(prefetch_count=self.prefetch)
            log.info("consumer ready", extra={"queue": self.queue, "event_types": self.handlers.event_types})
            for method, properties, body in channel.consume(self.queue, inactivity_timeout=0.5):
                if stop.is_set():
                    break
                if method is not None:
                    self.handle(channel, method, properties, body)
            channel.cancel()  # unacked prefetched messages return to the queue
        finally:
            if connection.is_open:
                connection.close()

    def handle(self, channel, method, properties, body: bytes) -> None:
        attempts = int((properties.headers or {}).get("x-attempts", 0))
        try:
            event = Event.from_json(body)
        except MalformedEvent as exc:
            log.error("malformed message dead-lettered", extra={"queue": self.queue, "error": str(exc)})
            self._forward(channel, properties, body, self.topology.dead_queue(self.service), attempts, str(exc))
            channel.basic_ack(method.delivery_tag)
            return
        token = set_request_id(event.request_id)
        try:
            self._handle_event(channel, properties, body, event, attempts)
            self.acknowledge(channel, method.delivery_tag, event)
        finally:
            reset_request_id(token)

    def _handle_event(self, channel, properties, body: bytes, event: Event, attempts: int) -> None:
        handler = self.handlers.get(event.type)
        if handler is None:
            log.warning("no handler for event; dropped", extra={"event_type": event.type, "event_id": str(event.id)})
            return
        try:
            with self.db.transaction() as session:
                claimed = session.execute(
                    insert(inbox).values(event_id=event.id, consumer=self.queue, event_type=event.type)
                    .on_conflict_do_nothing().returning(inbox.c.event_id)).first()
                if claimed is None:
                    log.info("duplicate event skipped", extra={"event_type": event.type, "event_id": str(event.id)})
                    return
                handler(session, event)
        except Exception as exc:
            attempts += 1
            error = f"{type(exc).__name__}: {exc}"[:1000]
            if attempts >= self.max_attempts:
                log.error("event dead-lettered", exc_info=True,
                          extra={"event_type": event.type, "event_id": str(event.id), "attempts": attempts})
                target = self.topology.dead_queue(self.service)
            else:
                delay = self.retry_delays_ms[min(attempts, len(self.retry_delays_ms)) - 1]
                log.warning("event handler failed; will retry", exc_info=True,
                            extra={"event_type": event.type, "event_id": str(event.id),
                                   "attempts": attempts, "retry_in_ms": delay})
                target = self.topology.retry_queue(self.service, delay)
            self._forward(channel, properties, body, target, attempts, error)
            return
        log.info("event handled", extra={"event_type": event.type, "event_id": str(event.id)})

    def acknowledge(self, channel, delivery_tag: int, event: Event) -> None:
        """Ack after the handler's transaction committed (or the event was forwarded)."""
        channel.basic_ack(delivery_tag)

    def _forward(self, channel, properties, body: bytes, queue: str, attempts: int, error: str) -> None:
        """Republish a copy to `queue` (a retry or the dead-letter queue); confirmed before the ack."""
        headers = {k: v for k, v in (properties.headers or {}).items() if k != "x-death"}
        headers.update({"x-attempts": attempts, "x-last-error": error,
                        "x-failed-at": dt.datetime.now(dt.UTC).isoformat()})
        channel.basic_publish("", queue, body, pika.BasicProperties(
            content_type="application/json", delivery_mode=2, message_id=properties.message_id,
            type=properties.type, headers=headers), mandatory=True)
