"""RabbitMQ for tests: a bus namespace per test session, an event probe, a running worker."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator

import pika
import pytest
import uuid

from servicekit.events.envelope import Event
from servicekit.events.topology import Topology
from servicekit.testing.config import required_env
from servicekit.testing.waiting import wait_until

# Retry delays any test may configure; their queues are deleted with the namespace.
TEST_RETRY_DELAYS_MS = (50, 100, 200, 1_000, 10_000, 60_000)


@pytest.fixture(scope="session")
def amqp_url() -> str:
    return required_env("BEYOU_TEST_AMQP_URL")


@pytest.fixture(scope="session")
def bus_consumers() -> set[str]:
    """Names of the services whose queues this session may have declared (deleted at the end)."""
    return set()


@pytest.fixture(scope="session")
def bus_namespace(amqp_url: str, bus_consumers: set[str]) -> Iterator[str]:
    """A bus namespace of this test session; its exchange and the consumers' queues are deleted at the end."""
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    yield namespace
    delete_namespace(amqp_url, namespace, bus_consumers)


def delete_namespace(amqp_url: str, namespace: str, services: Iterable[str],
                     retry_delays_ms: Iterable[int] = TEST_RETRY_DELAYS_MS) -> None:
    """Delete the namespace's exchange and the queues of `services`."""
    topology = Topology(namespace)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        for name in [q for s in services for q in topology.queues(s, retry_delays_ms)]:
            channel = connection.channel()
            try:
                channel.queue_delete(name)
            except pika.exceptions.ChannelClosedByBroker:
                pass  # never declared
            if channel.is_open:
                channel.close()
        channel = connection.channel()
        try:
            channel.exchange_delete(topology.exchange)
        except pika.exceptions.ChannelClosedByBroker:
            pass
    finally:
        if connection.is_open:
            connection.close()


class EventProbe:
    """Listens on the bus like a consumer would, so a test can wait for an event."""

    def __init__(self, amqp_url: str, namespace: str, pattern: str = "#") -> None:
        self.topology = Topology(namespace)
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self.channel = self.connection.channel()
        self.topology.declare_exchange(self.channel)
        self.queue = self.channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.channel.queue_bind(self.queue, self.topology.exchange, routing_key=pattern)
        self.events: list[Event] = []

    def _drain(self) -> None:
        while True:
            method, _props, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return
            self.events.append(Event.from_json(body))

    def received(self, event_type: str, where: Callable[[Event], bool] = lambda _e: True) -> list[Event]:
        self._drain()
        return [e for e in self.events if e.type == event_type and where(e)]

    def wait_for(self, event_type: str, where: Callable[[Event], bool] = lambda _e: True,
                 timeout: float = 10.0) -> Event:
        """The first matching event; fails after `timeout` seconds."""
        return wait_until(lambda: next(iter(self.received(event_type, where)), None), timeout,
                          message=f"event {event_type}")

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


@pytest.fixture
def event_probe(amqp_url: str, bus_namespace: str) -> Iterator[EventProbe]:
    probe = EventProbe(amqp_url, bus_namespace)
    yield probe
    probe.close()


@pytest.fixture
def running_worker():
    """`running_worker(app, handlers, **options)` starts the service worker in threads; stopped after the test."""
    from servicekit.worker import run_worker

    started: list[tuple[threading.Event, threading.Thread]] = []

    def start(app, handlers, **options):
        stop = threading.Event()
        thread = threading.Thread(target=run_worker, args=(app, handlers, stop), kwargs=options, daemon=True)
        thread.start()
        started.append((stop, thread))
        return stop

    yield start
    for stop, thread in started:
        stop.set()
        thread.join(timeout=15)
        assert not thread.is_alive(), "worker did not stop within 15 s of being asked to"


@pytest.fixture
def connected_worker(running_worker, amqp_url, bus_namespace):
    """`connected_worker(app, handlers, **options)`: the service's worker on an empty queue, returned once its
    relay and consumer are connected (its heartbeat says so). The session's earlier suites leave their events
    in a service's queue of the shared test bus, and they are not this test's; an event delivered before the
    consumer has bound its queue would race the binding."""
    from servicekit.context import context_of
    from servicekit.heartbeat import check

    def start(app, handlers, **options):
        settings = context_of(app).settings
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        try:
            channel = connection.channel()
            channel.queue_declare(f"{bus_namespace}.{settings.service}", passive=True)
            channel.queue_purge(f"{bus_namespace}.{settings.service}")
        except pika.exceptions.ChannelClosedByBroker:  # no queue yet: nothing to purge
            pass
        finally:
            if connection.is_open:
                connection.close()
        stop = running_worker(app, handlers, **options)
        wait_until(lambda: check(settings.service, settings)[0],
                   WORKER_CONNECT_SECONDS, message="the worker to be connected")
        return stop
    return start


WORKER_CONNECT_SECONDS = 30  # a busy CI machine
