"""The outbox relay: publishes outbox rows and marks them sent only after the broker's ack.

Runs on pika's asynchronous SelectConnection so a whole batch is in flight at once
and confirmed together (a confirm per message, round-trip each, would cap the
rate at the broker's fsync rate). The batch's rows stay locked
(`FOR UPDATE SKIP LOCKED`) until their confirms arrive, so any number of relays
can run: each row is published by the relay that locked it. A row is marked
published only on a positive ack without a mandatory return; otherwise it is
retried with back-off. An event the broker returns as unroutable (no queue bound for
its type) is retried too — a consumer may be starting and not have bound its queue yet
— but only for `unroutable_grace_seconds` after it was recorded: after that nobody
consumes its type (an event published for future consumers, like `ledger.block.mined`),
and it is marked published with the reason, not retried for ever. If a relay dies mid-batch the rows unlock and are
published again; consumers' inboxes absorb the duplicate.

PostgreSQL LISTEN/NOTIFY wakes the relay at once on a committed event; a short
poll covers missed notifications and retries.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

import pika
import psycopg2
import sqlalchemy as sa
from pika.adapters.select_connection import IOLoop

from servicekit.db import Database
from servicekit.events.reconnect import BrokerLink, Heartbeat, run_until_stopped
from servicekit.events.topology import Topology
from servicekit.metrics import EVENTS_PUBLISH_RETRIED, EVENTS_PUBLISHED, count_events
from servicekit.outages import outages
from servicekit.problems import DATABASE_UNAVAILABLE
from servicekit.tables import OUTBOX_NOTIFY_CHANNEL, outbox

log = logging.getLogger(__name__)

MAX_RETRY_BACKOFF_SECONDS = 300


@dataclass
class _Batch:
    conn: sa.Connection
    size: int
    pending: dict[int, sa.Row] = field(default_factory=dict)  # delivery tag -> outbox row
    returned: dict[str, str] = field(default_factory=dict)   # event id -> reason
    acked: list[int] = field(default_factory=list)           # outbox seq
    failed: dict[int, str] = field(default_factory=dict)     # outbox seq -> reason
    types: dict[int, str] = field(default_factory=dict)      # outbox seq -> event type (for the metrics)
    unrouted: dict[int, str] = field(default_factory=dict)   # outbox seq -> reason: returned past the grace


class OutboxRelay:
    def __init__(self, db: Database, amqp_url: str, topology: Topology, *, batch_size: int = 500,
                 poll_seconds: float = 1.0, confirm_timeout: float = 30.0, unroutable_grace_seconds: float = 900.0,
                 heartbeat: Heartbeat | None = None) -> None:
        self.db = db
        self.amqp_url = amqp_url
        self.topology = topology
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.confirm_timeout = confirm_timeout
        self.unroutable_grace_seconds = unroutable_grace_seconds
        self._stop = threading.Event()
        self._connection: pika.SelectConnection | None = None
        self._channel = None
        self._delivery_tag = 0
        self._batch: _Batch | None = None
        self._more = False
        self._listen: psycopg2.extensions.connection | None = None
        self._confirm_timer = None
        self.link = BrokerLink("outbox relay", heartbeat)

    # --- lifecycle ---------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Publish until `stop` is set, reconnecting with back-off after any failure."""
        self._stop = stop
        run_until_stopped(stop, self._run_connection, self.link)

    def wake(self) -> None:
        """Thread-safe: look at the stop flag and the outbox now."""
        connection = self._connection
        if connection is not None:
            try:
                connection.ioloop.add_callback_threadsafe(self._pump)
            except Exception:  # the loop is already gone; run() sees the stop flag
                pass

    def _run_connection(self) -> None:
        connection = pika.SelectConnection(
            pika.URLParameters(self.amqp_url),
            on_open_callback=lambda conn: conn.channel(on_open_callback=self._on_channel_open),
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_connection_closed,
        )
        self._connection = connection
        try:
            connection.ioloop.start()
        finally:
            self._connection = None
            self._channel = None
            self._abandon_batch()
            self._stop_listening(connection.ioloop)

    def _on_open_error(self, connection, error) -> None:
        self.link.lost(error)
        connection.ioloop.stop()

    def _on_connection_closed(self, connection, reason) -> None:
        if not self._stop.is_set():
            self.link.lost(reason)
        connection.ioloop.stop()

    def _on_channel_open(self, channel) -> None:
        self._channel = channel
        self._delivery_tag = 0
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.exchange_declare(
            self.topology.exchange, exchange_type="topic", durable=True,
            callback=lambda _frame: channel.confirm_delivery(self._on_confirmation, callback=self._on_ready))

    def _on_channel_closed(self, channel, reason) -> None:
        # A lost connection closes its channels too; that is reported once, as the connection's loss.
        if isinstance(reason, pika.exceptions.ChannelClosedByBroker):
            log.warning("relay channel closed by the broker", extra={"error": str(reason)})
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _on_ready(self, _frame) -> None:
        log.info("outbox relay ready", extra={"exchange": self.topology.exchange})
        self.link.connected()
        self._start_listening()
        self._tick()

    def _close(self) -> None:
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    # --- waking up: NOTIFY and a short poll ----------------------------------------------

    def _start_listening(self) -> None:
        if self._listen is not None:
            return
        try:
            args = self.db.engine.url.translate_connect_args(username="user", database="dbname")
            listen = psycopg2.connect(**args, connect_timeout=5)
            listen.autocommit = True
            listen.cursor().execute(f"LISTEN {OUTBOX_NOTIFY_CHANNEL}")
        except psycopg2.OperationalError as exc:  # tried again every tick: logged once per outage
            outages.down("database", exc)
            return
        except psycopg2.Error as exc:
            log.warning("relay cannot LISTEN; polling only", extra={"error": str(exc)})
            return
        self._listen = listen
        self._connection.ioloop.add_handler(listen.fileno(), self._on_notify, IOLoop.READ)

    def _stop_listening(self, ioloop) -> None:
        if self._listen is None:
            return
        try:
            ioloop.remove_handler(self._listen.fileno())
        except Exception:
            pass
        try:
            self._listen.close()
        except psycopg2.Error:
            pass
        self._listen = None

    def _on_notify(self, _fd, _events) -> None:
        try:
            self._listen.poll()
            self._listen.notifies.clear()
        except psycopg2.Error as exc:
            log.warning("relay LISTEN connection lost", extra={"error": str(exc)})
            self._stop_listening(self._connection.ioloop)
        self._pump()

    def _tick(self) -> None:
        if self._connection is None or not self._connection.is_open:
            return
        self.link.alive()  # also while idle: an idle relay is a healthy one
        self._start_listening()
        self._pump()
        self._connection.ioloop.call_later(self.poll_seconds, self._tick)

    # --- publishing a batch ---------------------------------------------------------------

    def _pump(self) -> None:
        if self._batch is not None:
            self._more = True
            return
        if self._stop.is_set():
            self._close()
            return
        if self._channel is None or not self._channel.is_open:
            return
        batch = self._lock_batch()
        if batch is None:
            return
        for row in batch.pending.values():
            self._channel.basic_publish(
                self.topology.exchange, row.event_type, json.dumps(row.envelope).encode(),
                pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                     message_id=str(row.event_id), type=row.event_type,
                                     timestamp=int(time.time())),
                mandatory=True)
        self._batch = batch
        self._confirm_timer = self._connection.ioloop.call_later(self.confirm_timeout, self._on_confirm_timeout)

    def _lock_batch(self) -> _Batch | None:
        """Lock up to batch_size publishable rows; the transaction stays open until confirmed."""
        try:
            conn = self.db.engine.connect()
        except DATABASE_UNAVAILABLE as exc:  # polled every tick: logged once per outage
            outages.down("database", getattr(exc, "orig", None) or exc)
            return None
        try:
            rows = conn.execute(
                sa.select(outbox.c.seq, outbox.c.event_id, outbox.c.event_type, outbox.c.envelope,
                          (sa.func.extract("epoch", sa.func.now() - outbox.c.created_at)).label("age"))
                .where(outbox.c.published_at.is_(None), outbox.c.available_at <= sa.func.now())
                .order_by(outbox.c.seq).limit(self.batch_size)
                .with_for_update(skip_locked=True)).all()
        except DATABASE_UNAVAILABLE as exc:
            outages.down("database", getattr(exc, "orig", None) or exc)
            conn.close()
            return None
        except sa.exc.SQLAlchemyError as exc:
            log.warning("relay cannot read the outbox", extra={"error": str(exc)})
            conn.close()
            return None
        outages.up("database")
        if not rows:
            conn.rollback()
            conn.close()
            return None
        batch = _Batch(conn=conn, size=len(rows))
        for row in rows:
            self._delivery_tag += 1
            batch.pending[self._delivery_tag] = row
            batch.types[row.seq] = row.event_type
        return batch

    def _on_return(self, _channel, method, properties, _body) -> None:
        if self._batch is not None and properties.message_id:
            reason = f"unroutable: {method.reply_text} (no queue bound for {method.routing_key})"
            self._batch.returned[properties.message_id] = reason

    def _on_confirmation(self, frame) -> None:
        batch = self._batch
        if batch is None:
            return
        method = frame.method
        ok = isinstance(method, pika.spec.Basic.Ack)
        tags = [t for t in batch.pending if t <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        for tag in tags:
            row = batch.pending.pop(tag, None)
            if row is None:
                continue
            returned = batch.returned.get(str(row.event_id))
            reason = returned or (None if ok else "nacked by the broker")
            if returned and ok and row.age >= self.unroutable_grace_seconds:
                batch.unrouted[row.seq] = returned
            elif reason:
                batch.failed[row.seq] = reason
            else:
                batch.acked.append(row.seq)
        if not batch.pending:
            self._finish_batch()

    def _finish_batch(self) -> None:
        batch, self._batch = self._batch, None
        self._cancel_confirm_timer()
        try:
            if batch.acked:
                batch.conn.execute(outbox.update().where(outbox.c.seq.in_(batch.acked)).values(
                    published_at=sa.func.now(), attempts=outbox.c.attempts + 1, last_error=None))
            for seq, reason in batch.unrouted.items():
                log.info("event nobody consumes: not retried", extra={"seq": seq, "reason": reason})
                batch.conn.execute(outbox.update().where(outbox.c.seq == seq).values(
                    published_at=sa.func.now(), attempts=outbox.c.attempts + 1,
                    last_error=f"{reason}; not retried: no consumer bound within "
                               f"{self.unroutable_grace_seconds:g} s"))
            for seq, reason in batch.failed.items():
                # Unroutable is the normal state of an event nobody consumes yet (one per ledger block, say),
                # retried until the grace ends and then logged once at INFO; a nack is a broker's failure.
                level = logging.DEBUG if reason.startswith("unroutable") else logging.WARNING
                log.log(level, "event not published; will retry", extra={"seq": seq, "reason": reason})
                backoff = sa.func.least(sa.func.power(2, outbox.c.attempts), MAX_RETRY_BACKOFF_SECONDS)
                batch.conn.execute(outbox.update().where(outbox.c.seq == seq).values(
                    attempts=outbox.c.attempts + 1, last_error=reason,
                    available_at=sa.func.now() + backoff * sa.text("interval '1 second'")))
            batch.conn.commit()
            count_events(EVENTS_PUBLISHED, (batch.types[seq] for seq in batch.acked))
            count_events(EVENTS_PUBLISH_RETRIED, (batch.types[seq] for seq in batch.failed))
        except sa.exc.SQLAlchemyError as exc:
            # Published but not marked: the rows will be published again, consumers deduplicate.
            log.warning("relay could not mark events published", extra={"error": str(exc)})
        finally:
            batch.conn.close()
        if batch.size == self.batch_size or self._more or self._stop.is_set():
            self._more = False
            self._connection.ioloop.call_later(0, self._pump)

    def _on_confirm_timeout(self) -> None:
        self._confirm_timer = None
        if self._batch is not None:
            log.error("broker confirms overdue; reconnecting", extra={"pending": len(self._batch.pending)})
            self._close()

    def _cancel_confirm_timer(self) -> None:
        if self._confirm_timer is not None and self._connection is not None:
            self._connection.ioloop.remove_timeout(self._confirm_timer)
        self._confirm_timer = None

    def _abandon_batch(self) -> None:
        """The connection is gone before every confirm arrived: unlock the rows for a later try."""
        batch, self._batch = self._batch, None
        self._confirm_timer = None
        if batch is None:
            return
        try:
            batch.conn.rollback()
            batch.conn.close()
        except sa.exc.SQLAlchemyError:
            pass
