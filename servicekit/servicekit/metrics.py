"""Prometheus metrics (prometheus-client), served on a port of their own that the gateway never routes.

APIs: every request is counted and timed by route TEMPLATE (the url rule, `/api/messaging/messages/<uuid:message_id>`,
never the path with its ids) and status. Under gunicorn each worker process keeps its samples in files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode), and the master serves them summed on
METRICS_PORT: the hooks are in servicekit.gunicorn_conf (the directory wiped at start, a dead worker's live
gauges dropped).

Workers: events published, consumed, retried and dead-lettered by event type, and the outbox's backlog and the
age of its oldest unsent event, read from the outbox table at scrape time; served by the worker process itself
on its METRICS_PORT (`serve_worker_metrics`). A service adds its own collectors (the ledger's tree and blocks).

    METRICS_PORT     the port the metrics are served on; 0 (the default): not served
    METRICS_ADDR     the address it binds (127.0.0.1 by default; 0.0.0.0 in a container, for Prometheus)
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from servicekit.config import FromEnvironment
from servicekit.tables import outbox

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MetricsSettings(FromEnvironment):
    metrics_port: int = 0          # 0: metrics are kept but not served
    metrics_addr: str = "127.0.0.1"


# --- APIs ------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter("http_requests", "HTTP requests answered, by method, route template and status.",
                        ["method", "route", "status"])
HTTP_DURATION = Histogram("http_request_duration_seconds",
                          "Time from the request reaching the app to its response, by route template and status.",
                          ["method", "route", "status"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
# A live gauge: the files of a worker that died are dropped (mark_process_dead), or its last requests would
# stay "in progress" for ever.
HTTP_IN_PROGRESS = Gauge("http_requests_in_progress", "Requests being handled now.", multiprocess_mode="livesum")

UNMATCHED_ROUTE = "unmatched"  # a 404 or 405 that no url rule matched: one series, whatever the path
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def install_http_metrics(app) -> None:
    """Count and time every request of `app` (install before the other request hooks: its clock starts first)."""
    # Imported here: gunicorn's master imports this module to serve the metrics, and needs none of Flask.
    from flask import g, request

    @app.before_request
    def start_timing():
        g.metrics_started = time.perf_counter()
        HTTP_IN_PROGRESS.inc()

    @app.after_request
    def record_request(response):
        started = g.get("metrics_started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
            method = request.method if request.method in _METHODS else "other"
            labels = (method, route, str(response.status_code))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_DURATION.labels(*labels).observe(time.perf_counter() - started)
        return response

    @app.teardown_request
    def stop_timing(_exc):
        if g.pop("metrics_started", None) is not None:
            HTTP_IN_PROGRESS.dec()


# --- workers ---------------------------------------------------------------------------------

EVENTS_PUBLISHED = Counter("events_published", "Events the outbox relay published (confirmed by the broker).",
                           ["event_type"])
EVENTS_PUBLISH_RETRIED = Counter("events_publish_retried",
                                 "Outbox events the broker nacked or returned, to be published again.",
                                 ["event_type"])
EVENTS_CONSUMED = Counter("events_consumed", "Events handled and committed by this worker's consumer.",
                          ["event_type"])
EVENTS_RETRIED = Counter("events_retried", "Events whose handler failed, sent to a retry queue.", ["event_type"])
EVENTS_DEAD_LETTERED = Counter("events_dead_lettered",
                               "Events sent to the dead-letter queue (out of attempts, or malformed).",
                               ["event_type"])


def count_events(counter: Counter, event_types: Iterable[str]) -> None:
    for event_type, n in Tally(event_types).items():
        counter.labels(event_type).inc(n)


class OutboxCollector(Collector):
    """The outbox's backlog and the age of its oldest unsent event, read at scrape time."""

    def __init__(self, db) -> None:
        self.db = db

    def collect(self):
        backlog = GaugeMetricFamily("outbox_backlog", "Events recorded in the outbox and not yet published.")
        oldest = GaugeMetricFamily("outbox_oldest_unsent_age_seconds",
                                   "Age of the oldest event not yet published (0 when none waits).")
        try:
            with self.db.engine.connect() as conn:
                count, age = conn.execute(sa.select(
                    sa.func.count(), sa.func.extract("epoch", sa.func.now() - sa.func.min(outbox.c.created_at)))
                    .where(outbox.c.published_at.is_(None))).one()
        except sa.exc.SQLAlchemyError as exc:
            # No sample rather than a wrong one: a scrape without them is what an outage looks like.
            log.warning("outbox metrics unavailable", extra={"error": str(exc).splitlines()[0]})
            return
        backlog.add_metric([], count)
        oldest.add_metric([], float(age or 0))
        yield backlog
        yield oldest


class _Collectors(Collector):
    """The process-wide metrics (REGISTRY) and a worker's own collectors, served together."""

    def __init__(self, collectors: Iterable[Collector]) -> None:
        self.collectors = (REGISTRY, *collectors)

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def serve_worker_metrics(settings: MetricsSettings, collectors: Iterable[Collector]):
    """Serve this worker's metrics on METRICS_PORT; None when it is 0. Returns the HTTP server (shutdown() it)."""
    if not settings.metrics_port:
        return None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collectors(collectors))
    server, _thread = start_http_server(settings.metrics_port, settings.metrics_addr, registry=registry)
    log.info("metrics served", extra={"addr": settings.metrics_addr, "port": server.server_address[1]})
    return server


CollectorsOf = Callable[[Any], Iterable[Collector]]
"""A service's own worker collectors, built from its ServiceContext (`main(..., collectors=...)`)."""
