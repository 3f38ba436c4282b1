"""The consumer runner: a service's durable queue, handled exactly once in effect.

Messages are taken in batches (up to the prefetch count that has arrived) and
handled in one database transaction that also inserts each event id into
`inbox`; the batch is acked only after that transaction commits. A redelivered
event finds its id in the inbox and is acked with no second effect (the inbox
insert comes first, so a concurrent duplicate waits on the row and then skips).

If any handler in a batch fails, the batch is rolled back and handled again one
event per transaction, so only the failing event is affected: it is republished
to a retry queue that holds it for the next back-off delay, and to the
dead-letter queue once `max_attempts` is reached. A malformed message goes
there at once. A lost database connection is not the event's fault: the
messages go back to the queue unacked and the consumer reconnects.

Handlers run inside the consumer's transaction and must not commit.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence

import pika
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from servicekit.db import Database
from servicekit.events.envelope import Event, MalformedEvent
from servicekit.events.handlers import EventHandlers
from servicekit.events.reconnect import BrokerLink, Heartbeat, run_until_stopped
from servicekit.events.topology import Topology
from servicekit.logs import reset_request_id, set_request_id
from servicekit.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, EVENTS_RETRIED, count_events
from servicekit.outages import outages
from servicekit.tables import inbox

log = logging.getLogger(__name__)


class Consumer:
    def __init__(self, db: Database, amqp_url: str, topology: Topology, service: str, handlers: EventHandlers,
                 *, prefetch: int = 100, retry_delays_ms: Sequence[int] = (1_000, 10_000, 60_000),
                 max_attempts: int = 5, heartbeat: Heartbeat | None = None) -> None:
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
        self.link = BrokerLink(f"consumer of {self.queue}", heartbeat)

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set, reconnecting with back-off after any failure."""
        run_until_stopped(stop, lambda: self._consume(stop), self.link)

    def _consume(self, stop: threading.Event) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        try:
            channel = connection.channel()
            self.topology.declare_consumer(channel, self.service, self.handlers.event_types, self.retry_delays_ms)
            channel.confirm_delivery()
            channel.basic_qos(prefetch_count=self.prefetch)
            arrived: list[tuple] = []
            channel.basic_consume(self.queue, lambda _ch, method, props, body: arrived.append((method, props, body)))
            log.info("consumer ready", extra={"queue": self.queue, "event_types": self.handlers.event_types})
            self.link.connected()
            while not stop.is_set():
                connection.process_data_events(time_limit=0 if arrived else 0.5)
                self.link.alive()  # also while idle: an idle consumer is a healthy one
                if arrived:
                    batch = list(arrived)
                    arrived.clear()
                    self.handle_batch(channel, batch)
        finally:
            if connection.is_open:
                connection.close()  # unacked messages return to the queue

    def handle_batch(self, channel, messages: list[tuple]) -> None:
        """Handle delivered messages; ack them all once their effects are committed."""
        events: list[tuple[Event, object]] = []
        for _method, properties, body in messages:
            try:
                events.append((Event.from_json(body), properties))
            except MalformedEvent as exc:
                log.error("malformed message dead-lettered", extra={"queue": self.queue, "error": str(exc)})
                attempts = int((properties.headers or {}).get("x-attempts", 0))
                self._forward(channel, properties, body, self.topology.dead_queue(self.service), attempts, str(exc))
                count_events(EVENTS_DEAD_LETTERED, [properties.type or "malformed"])
        try:
            with self.db.transaction() as session:
                handled = self._apply(session, [event for event, _ in events])
            count_events(EVENTS_CONSUMED, (event.type for event in handled))
        except (sa.exc.OperationalError, sa.exc.InterfaceError):
            raise  # the database, not the events: leave them unacked, reconnect
        except Exception:
            for event, properties in events:  # isolate the failing event(s)
                self._handle_alone(channel, properties, event)
        outages.up("database")
        self.acknowledge(channel, messages[-1][0].delivery_tag, [event for event, _ in events])

    def _apply(self, session: Session, events: list[Event]) -> list[Event]:
        """Claim the events in the inbox (one statement) and run the handlers of those not seen before (returned)."""
        handled = [event for event in events if self._has_handler(event)]
        if not handled:
            return []
        # An executemany with RETURNING: sent as multi-row INSERTs, the statement compiled once (not per batch).
        claimed = set(session.scalars(
            insert(inbox).on_conflict_do_nothing().returning(inbox.c.event_id),
            [{"event_id": e.id, "consumer": self.queue, "event_type": e.type} for e in handled]))
        ran = []
        for event in handled:
            if event.id not in claimed:
                log.info("duplicate event skipped", extra={"event_type": event.type, "event_id": str(event.id)})
                continue
            claimed.discard(event.id)  # the same event twice in one batch runs once
            token = set_request_id(event.request_id)
            try:
                self.handlers.get(event.type)(session, event)
                # Under the event's request id: a request can be followed from the gateway into what it caused.
                log.info("event handled", extra={"event_type": event.type, "event_id": str(event.id),
                                                 "producer": event.producer})
            finally:
                reset_request_id(token)
            ran.append(event)
        return ran

    def _has_handler(self, event: Event) -> bool:
        if self.handlers.get(event.type) is None:
            log.warning("no handler for event; dropped", extra={"event_type": event.type, "event_id": str(event.id)})
            return False
        return True

    def _handle_alone(self, channel, properties, event: Event) -> None:
        """Handle one event in its own transaction; on failure send it to retry or dead letters."""
        try:
            with self.db.transaction() as session:
                handled = self._apply(session, [event])
            count_events(EVENTS_CONSUMED, (e.type for e in handled))
        except (sa.exc.OperationalError, sa.exc.InterfaceError):
            raise
        except Exception as exc:
            attempts = int((properties.headers or {}).get("x-attempts", 0)) + 1
            extra = {"event_type": event.type, "event_id": str(event.id), "attempts": attempts}
            if attempts >= self.max_attempts:
                log.error("event dead-lettered", exc_info=True, extra=extra)
                target = self.topology.dead_queue(self.service)
                outcome = EVENTS_DEAD_LETTERED
            else:
                delay = self.retry_delays_ms[min(attempts, len(self.retry_delays_ms)) - 1]
                log.warning("event handler failed; will retry", exc_info=True, extra={**extra, "retry_in_ms": delay})
                target = self.topology.retry_queue(self.service, delay)
                outcome = EVENTS_RETRIED
            body = event.to_json().encode()
            self._forward(channel, properties, body, target, attempts, f"{type(exc).__name__}: {exc}"[:1000])
            count_events(outcome, [event.type])

    def acknowledge(self, channel, last_delivery_tag: int, events: list[Event]) -> None:
        """Ack every message up to `last_delivery_tag`: their effects are committed or forwarded."""
        channel.basic_ack(last_delivery_tag, multiple=True)

    def _forward(self, channel, properties, body: bytes, queue: str, attempts: int, error: str) -> None:
        """Republish a copy to `queue` (a retry or the dead-letter queue); confirmed before the ack."""
        headers = {k: v for k, v in (properties.headers or {}).items() if k != "x-death"}
        headers.update({"x-attempts": attempts, "x-last-error": error,
                        "x-failed-at": dt.datetime.now(dt.UTC).isoformat()})
        channel.basic_publish("", queue, body, pika.BasicProperties(
            content_type="application/json", delivery_mode=2, message_id=properties.message_id,
            type=properties.type, headers=headers), mandatory=True)
