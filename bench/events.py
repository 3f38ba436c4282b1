"""Benchmark: events through outbox -> relay -> RabbitMQ -> consumer -> inbox, on this machine.

Prints (1) sustained throughput: a backlog of events committed before the worker
starts, drained by one worker process (its start-up included); (2) publish-to-handled latency p50/p95/p99 at a
fixed offered rate, each event committed in its own transaction as an API
request would. Latency = handler's clock_timestamp() - the event's occurred_at.

Needs BEYOU_TEST_PG_ADMIN_URL and BEYOU_TEST_AMQP_URL (`make bench` provides them).
Options: --events N (throughput backlog), --rate R and --seconds S (latency run).
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import signal
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import ClassVar

import sqlalchemy as sa
from marshmallow import EXCLUDE, Schema, fields

from servicekit.app import create_service_app
from servicekit.config import Settings
from servicekit.context import context_of
from servicekit.events import EventContracts, EventHandlers, publish
from servicekit.tables import metadata as servicekit_metadata
from servicekit.testing import DatabaseFactory, delete_namespace

bench_metadata = sa.MetaData()
handled = sa.Table(
    "handled", bench_metadata,
    sa.Column("event_id", sa.Uuid, primary_key=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("clock_timestamp()")),
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BenchSettings(Settings):
    service: ClassVar[str] = "test"


handlers = EventHandlers()
contracts = EventContracts("test", handlers)


@contracts.publishes("test.bench.sent", version=1)
class BenchSent(Schema):
    """One benchmark event."""

    i = fields.Integer(metadata={"description": "The event's number in the latency run."})


class EnvelopeOnly(Schema):
    """The handler reads the envelope (id, occurred_at), nothing of the payload."""

    class Meta:
        unknown = EXCLUDE


@handlers.on("test.bench.sent", schema=EnvelopeOnly)
def on_bench_sent(session, event) -> None:
    session.execute(handled.insert().values(event_id=event.id, occurred_at=event.occurred_at))


def make_app(overrides: dict):
    return create_service_app(BenchSettings.load(overrides), Path(__file__).parent, contracts=contracts)


def run_worker_process(overrides: dict) -> None:
    from servicekit.worker import run_worker
    run_worker(make_app(overrides), handlers)


def count_handled(db) -> int:
    with db.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(handled))


def wait_for_count(db, target: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while (n := count_handled(db)) < target:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {n} of {target} events handled within {timeout}s")
        time.sleep(0.02)
    return time.monotonic()


def fill_backlog(db, events: int) -> None:
    """Commit `events` events (500 per transaction) while no worker runs."""
    for offset in range(0, events, 500):
        with db.transaction() as session:
            for _ in range(min(500, events - offset)):
                publish(session, "test.bench.sent", {})


def throughput(db, events: int, worker_started: float) -> None:
    done = wait_for_count(db, events, timeout=600)
    print(f"throughput: a backlog of {events} committed events drained (outbox -> relay -> broker -> "
          f"consumer -> inbox) in {done - worker_started:.2f}s from the worker's start "
          f"-> {events / (done - worker_started):,.0f} events/s sustained")


def latency(db, rate: int, seconds: float, producers: int = 4) -> None:
    """Offer `rate` events/s from `producers` threads (like API workers), one transaction per event."""
    with db.transaction() as session:
        session.execute(handled.delete())
    total = int(rate * seconds)
    start = time.monotonic() + 0.1

    def produce(first: int) -> None:
        for i in range(first, total, producers):
            if (pause := start + i / rate - time.monotonic()) > 0:
                time.sleep(pause)
            with db.transaction() as session:
                publish(session, "test.bench.sent", {"i": i})

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    offered = total / (time.monotonic() - start)
    wait_for_count(db, total, timeout=120)
    with db.session() as session:
        rows = session.execute(sa.select(
            sa.extract("epoch", handled.c.handled_at - handled.c.occurred_at))).scalars().all()
    ms = sorted(float(v) * 1000 for v in rows)
    q = statistics.quantiles(ms, n=100)
    print(f"latency at {offered:,.0f} events/s offered ({total} events, one transaction each, "
          f"{producers} producer threads): p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, "
          f"max {ms[-1]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    databases = DatabaseFactory(os.environ["BEYOU_TEST_PG_ADMIN_URL"])
    amqp_url = os.environ["BEYOU_TEST_AMQP_URL"]
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    overrides = {"DATABASE_URL": databases.create("bench"), "AMQP_URL": amqp_url, "BUS_NAMESPACE": namespace,
                 "LOG_LEVEL": "WARNING", "TRUSTED_PROXY_HOPS": 0}
    engine = sa.create_engine(overrides["DATABASE_URL"])
    servicekit_metadata.create_all(engine)
    bench_metadata.create_all(engine)
    engine.dispose()
    app = make_app(overrides)
    db = context_of(app).db
    print(f"events benchmark on {os.cpu_count()} cores: one worker process (relay + consumer), "
          f"PostgreSQL and RabbitMQ on this machine")
    fill_backlog(db, args.events)
    worker = multiprocessing.get_context("spawn").Process(target=run_worker_process, args=(overrides,))
    worker_started = time.monotonic()
    worker.start()
    try:
        throughput(db, args.events, worker_started)
        latency(db, args.rate, args.seconds)
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout=30)
        db.dispose()
        databases.drop_all()
        delete_namespace(amqp_url, namespace, [BenchSettings.service])


if __name__ == "__main__":
    main()
