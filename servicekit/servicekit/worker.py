"""The worker process of a service: outbox relay + event consumer + housekeeping.

Each service's `worker.py` calls `run_worker(create_app(), handlers)`. Every
worker also keeps the revoked-session denylist (`auth.session.revoked`), so
token checks in every service refuse a revoked session at once. SIGTERM and
SIGINT stop it gracefully: the current message is finished and acked, the
relay finishes its in-flight batch.
"""
from __future__ import annotations

import datetime as dt
import logging
import signal
import threading

import sqlalchemy as sa
from flask import Flask

from servicekit.events.consumer import Consumer
from servicekit.events.handlers import EventHandlers
from servicekit.events.relay import OutboxRelay
from servicekit.tables import inbox, outbox
from servicekit.tokens import prune_revoked_sessions, revocation_handlers

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 300
KEEP_PUBLISHED = dt.timedelta(days=1)   # outbox rows, for debugging after the fact
KEEP_HANDLED = dt.timedelta(days=14)    # inbox ids: far beyond any redelivery
KEEP_REVOKED = dt.timedelta(days=1)     # far beyond an access token's lifetime


def build(app: Flask, handlers: EventHandlers) -> tuple[OutboxRelay, Consumer]:
    ctx = app.extensions["servicekit"]
    settings = ctx.settings
    relay = OutboxRelay(ctx.db, settings.amqp_url, ctx.topology, batch_size=settings.relay_batch_size,
                        poll_seconds=settings.relay_poll_seconds)
    all_handlers = EventHandlers().include(revocation_handlers).include(handlers)
    consumer = Consumer(ctx.db, settings.amqp_url, ctx.topology, settings.service, all_handlers,
                        prefetch=settings.consumer_prefetch, retry_delays_ms=settings.retry_delays_ms,
                        max_attempts=settings.max_attempts)
    return relay, consumer


def run_worker(app: Flask, handlers: EventHandlers, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    relay, consumer = build(app, handlers)

    def request_stop(signum, _frame):
        log.info("worker stopping", extra={"signal": signum})
        stop.set()
        relay.wake()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    threads = [threading.Thread(target=relay.run, args=(stop,), name="relay"),
               threading.Thread(target=consumer.run, args=(stop,), name="consumer")]
    for thread in threads:
        thread.start()
    log.info("worker started", extra={"queue": consumer.queue, "event_types": consumer.handlers.event_types})
    while not stop.wait(HOUSEKEEPING_SECONDS):
        housekeeping(app)
    relay.wake()
    for thread in threads:
        thread.join()
    log.info("worker stopped")


def housekeeping(app: Flask) -> None:
    """Forget old published outbox rows, old inbox ids and expired revocations."""
    now = dt.datetime.now(dt.UTC)
    try:
        with app.extensions["servicekit"].db.transaction() as session:
            session.execute(sa.delete(outbox).where(outbox.c.published_at < now - KEEP_PUBLISHED))
            session.execute(sa.delete(inbox).where(inbox.c.handled_at < now - KEEP_HANDLED))
            prune_revoked_sessions(session, KEEP_REVOKED)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("housekeeping failed", extra={"error": str(exc)})
