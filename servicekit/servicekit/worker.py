"""The worker process of a service: outbox relay, event consumer and periodic tasks.

Each service's `worker.py` is one call, `main(create_app, handlers)`:

    python -m <service>.worker            run the worker (SIGTERM/SIGINT stop it gracefully: the
                                          current message is finished and acked, the relay's
                                          in-flight batch confirmed)
    python -m <service>.worker --check    is the running worker healthy? one line on stdout,
                                          exit 0 if so, 1 if not; `python -m servicekit.heartbeat
                                          <service>` says the same without importing the service
                                          (compose's healthcheck and Kubernetes' probe use it)

Health comes from a heartbeat file (WORKER_HEARTBEAT_FILE) that the relay and the
consumer refresh from their own loops, on every idle tick too: a worker is healthy
when both loops were heard within WORKER_HEARTBEAT_MAX_AGE_SECONDS and both hold a
broker connection. So an idle worker is healthy, and one that lost the broker, or
whose loop hangs, is not.

Its metrics (servicekit.metrics: events published, consumed, retried and dead-lettered, the outbox's
backlog and the age of its oldest unsent event, and whatever `collectors` the service adds) are served on
METRICS_PORT, a port of the worker's own.

Every worker also keeps the revoked-session denylist (`auth.session.revoked`), so
token checks in every service refuse a revoked session at once, and runs
servicekit's housekeeping as a periodic task beside the service's own.
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from servicekit.context import ServiceContext, context_of
from servicekit.events.consumer import Consumer
from servicekit.events.handlers import EventHandlers
from servicekit.events.reconnect import error_text
from servicekit.events.relay import OutboxRelay
from servicekit.heartbeat import Heartbeat, check, heartbeat_file
from servicekit.metrics import CollectorsOf, MetricsSettings, OutboxCollector, serve_worker_metrics
from servicekit.outages import outages
from servicekit.problems import DATABASE_UNAVAILABLE
from servicekit.tables import inbox, outbox
from servicekit.tokens import prune_revoked_sessions, revocation_handlers

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class PeriodicTask:
    """Work the worker does every `every_seconds`, the first time one interval after it starts.

    A task that raises is logged and runs again at its next interval; it never stops the worker.
    """

    name: str
    every_seconds: float
    run: Callable[[ServiceContext], None]


# --- the process ---------------------------------------------------------------------------

def main(create_app: Callable[[], Flask], handlers: EventHandlers, tasks: Iterable[PeriodicTask] = (),
         argv: Sequence[str] | None = None, *, collectors: CollectorsOf | None = None) -> None:
    """The entry point of `python -m <service>.worker [--check]`.

    `collectors(context)` gives the service's own metrics collectors, served beside servicekit's.
    """
    parser = argparse.ArgumentParser(description="The service's worker: outbox relay, event consumer, "
                                                 "periodic tasks.")
    parser.add_argument("--check", action="store_true",
                        help="report whether the running worker is healthy (exit 0) or not (exit 1), and why")
    args = parser.parse_args(argv)
    app = create_app()
    if args.check:
        settings = context_of(app).settings
        healthy, why = check(settings.service, settings)
        print(f"{'healthy' if healthy else 'unhealthy'}: {why}")
        sys.exit(0 if healthy else 1)
    run_worker(app, handlers, tasks=tasks, collectors=collectors)


def build(context: ServiceContext, handlers: EventHandlers, heartbeat: Heartbeat) -> tuple[OutboxRelay, Consumer]:
    settings = context.settings
    relay = OutboxRelay(context.db, settings.amqp_url, context.topology, batch_size=settings.relay_batch_size,
                        poll_seconds=settings.relay_poll_seconds,
                        unroutable_grace_seconds=settings.relay_unroutable_grace_seconds, heartbeat=functools.partial(heartbeat.beat, "relay"))
    all_handlers = EventHandlers().include(revocation_handlers).include(handlers)
    consumer = Consumer(context.db, settings.amqp_url, context.topology, settings.service, all_handlers,
                        prefetch=settings.consumer_prefetch, retry_delays_ms=settings.retry_delays_ms,
                        max_attempts=settings.max_attempts, heartbeat=functools.partial(heartbeat.beat, "consumer"))
    return relay, consumer


def run_worker(app: Flask, handlers: EventHandlers, stop: threading.Event | None = None, *,
               tasks: Iterable[PeriodicTask] = (), collectors: CollectorsOf | None = None,
               metrics: MetricsSettings | None = None) -> None:
    """Relay, consume and run `tasks` (and servicekit's housekeeping) until `stop` is set or a signal arrives.

    Metrics are served as `metrics` says (by default METRICS_PORT and METRICS_ADDR from the environment).
    """
    stop = stop or threading.Event()
    context = context_of(app)
    settings = context.settings
    heartbeat = Heartbeat(heartbeat_file(settings, settings.service), write_every=settings.worker_heartbeat_max_age_seconds / 5)
    relay, consumer = build(context, handlers, heartbeat)
    metrics_server = serve_worker_metrics(metrics or MetricsSettings.load(),
                                          [OutboxCollector(context.db), *(collectors(context) if collectors else ())])

    def request_stop(signum, _frame):
        log.info("worker stopping", extra={"signal": signum})
        stop.set()
        relay.wake()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    threads = [threading.Thread(target=relay.run, args=(stop,), name="relay"),
               threading.Thread(target=consumer.run, args=(stop,), name="consumer")]
    threads += [threading.Thread(target=run_periodically, args=(task, context, stop), name=f"task {task.name}")
                for task in (HOUSEKEEPING, *tasks)]
    for thread in threads:
        thread.start()
    log.info("worker started", extra={"queue": consumer.queue, "event_types": consumer.handlers.event_types,
                                      "heartbeat_file": str(heartbeat.path)})
    stop.wait()
    relay.wake()
    for thread in threads:
        thread.join()
    heartbeat.remove()
    if metrics_server is not None:
        metrics_server.shutdown()
        metrics_server.server_close()
    log.info("worker stopped")


def run_periodically(task: PeriodicTask, context: ServiceContext, stop: threading.Event) -> None:
    """Run `task` every `task.every_seconds` until `stop` is set; a failure waits for the next interval."""
    while not stop.wait(task.every_seconds):
        try:
            task.run(context)
        except DATABASE_UNAVAILABLE as exc:  # an outage (logged once as such): this run's line needs no traceback
            outages.down("database", getattr(exc, "orig", None) or exc)
            log.warning("periodic task failed; it runs again at its next interval",
                        extra={"task": task.name, "error": error_text(exc)})
        except Exception:
            log.exception("periodic task failed; it runs again at its next interval", extra={"task": task.name})


# --- servicekit's own housekeeping -----------------------------------------------------------

HOUSEKEEPING_SECONDS = 300
KEEP_PUBLISHED = dt.timedelta(days=1)   # outbox rows, for debugging after the fact
KEEP_HANDLED = dt.timedelta(days=14)    # inbox ids: far beyond any redelivery
KEEP_REVOKED = dt.timedelta(days=1)     # far beyond an access token's lifetime


def housekeeping(context: ServiceContext) -> None:
    """Forget old published outbox rows, old inbox ids and expired revocations."""
    now = dt.datetime.now(dt.UTC)
    with context.db.transaction() as session:
        session.execute(sa.delete(outbox).where(outbox.c.published_at < now - KEEP_PUBLISHED))
        session.execute(sa.delete(inbox).where(inbox.c.handled_at < now - KEEP_HANDLED))
        prune_revoked_sessions(session, KEEP_REVOKED)


HOUSEKEEPING = PeriodicTask("housekeeping", HOUSEKEEPING_SECONDS, housekeeping)
