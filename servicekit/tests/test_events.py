"""The event bus against the real broker and database (DESIGN.md "The event bus")."""
import multiprocessing
import os
import signal
import subprocess
import threading
from collections import Counter

import pika
import pytest
import sqlalchemy as sa

import demo_service as demo
from servicekit.context import context_of
from servicekit.events import publish
from servicekit.events.consumer import Consumer
from servicekit.events.deadletters import list_dead_letters
from servicekit.events.relay import OutboxRelay
from servicekit.tables import outbox
from servicekit.testing import wait_until

spawn = multiprocessing.get_context("spawn")


# --- helpers ---------------------------------------------------------------------------

def context(app):
    return context_of(app)


def publish_notes(app, count: int) -> list:
    """Commit `count` events of type test.note.created; returns their ids."""
    ids = []
    with context(app).db.transaction() as session:
        for i in range(count):
            ids.append(publish(session, "test.note.created", {"n": i}).id)
    return ids


def unpublished(app) -> int:
    with context(app).db.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))


class Threads:
    """Relays and consumers on threads, stopped (and checked stopped) at the end of the test."""

    def __init__(self):
        self.running = []

    def start(self, runner):
        stop = threading.Event()
        thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
        thread.start()
        self.running.append((stop, thread, runner))
        return runner

    def stop_all(self):
        for stop, _thread, runner in self.running:
            stop.set()
            if isinstance(runner, OutboxRelay):
                runner.wake()
        for _stop, thread, _runner in self.running:
            thread.join(timeout=15)
            assert not thread.is_alive(), "a relay or consumer did not stop when asked"


@pytest.fixture
def threads():
    started = Threads()
    yield started
    started.stop_all()


def relay_for(app):
    ctx = context(app)
    return OutboxRelay(ctx.db, ctx.settings.amqp_url, ctx.topology, poll_seconds=0.2)


class RecordingConsumer(Consumer):
    """A consumer that remembers which events it acked."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.acked = []

    def acknowledge(self, channel, last_delivery_tag, events):
        super().acknowledge(channel, last_delivery_tag, events)
        self.acked.extend(event.id for event in events)


def consumer_for(app, handlers, cls=RecordingConsumer):
    ctx = context(app)
    settings = ctx.settings
    return cls(ctx.db, settings.amqp_url, ctx.topology, "test", handlers, prefetch=50,
               retry_delays_ms=settings.retry_delays_ms, max_attempts=settings.max_attempts)


def declare_queue(app, handlers):
    """Declare the demo service's queue and bindings, as its worker does on start."""
    ctx = context(app)
    connection = pika.BlockingConnection(pika.URLParameters(ctx.settings.amqp_url))
    try:
        ctx.topology.declare_consumer(connection.channel(), "test", handlers.event_types,
                                      ctx.settings.retry_delays_ms)
    finally:
        connection.close()


def assert_all_handled_once(app, ids, message):
    def check():
        counts = demo.effect_counts(context(app).db)
        return all(counts.get(i) == 1 for i in ids)
    wait_until(check, timeout=180, interval=0.1, message=message)
    counts = demo.effect_counts(context(app).db)
    assert set(counts) == set(ids)
    assert set(counts.values()) == {1}


# --- producing -------------------------------------------------------------------------

def test_an_event_in_a_rolled_back_transaction_is_never_published(app, probe, threads):
    threads.start(relay_for(app))
    with context(app).db.session() as session:
        lost = publish(session, "test.note.created", {"text": "rolled back"})
        session.rollback()
    kept = publish_notes(app, 1)[0]

    probe.wait_for("test.note.created", where=lambda e: e.id == kept)
    assert [e.id for e in probe.received("test.note.created")] == [kept]
    assert lost.id not in {e.id for e in probe.received("test.note.created")}


def test_a_state_change_and_its_event_commit_together_through_the_api(client, app, probe, threads):
    threads.start(relay_for(app))
    response = client.post("/api/test/notes", json={"text": "hello"}, headers={"X-Request-ID": "req-42"})
    assert response.status_code == 201

    event = probe.wait_for("test.note.created")
    assert event.payload == {"note_id": response.json["id"], "text": "hello"}
    assert event.producer == "test" and event.version == 1 and event.request_id == "req-42"
    assert event.occurred_at.tzinfo is not None


def test_a_refused_request_publishes_nothing(client, app):
    response = client.post("/api/test/notes", json={"text": "conflict"})
    assert response.status_code == 409
    with context(app).db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(outbox)) == 0


def test_two_relays_running_at_once_publish_each_event_once(app, probe, threads):
    ids = publish_notes(app, 1500)
    threads.start(relay_for(app))
    threads.start(relay_for(app))

    wait_until(lambda: unpublished(app) == 0, timeout=180, message="every outbox row to be published")
    received = Counter(e.id for e in probe.received("test.note.created"))
    assert set(received) == set(ids)
    assert max(received.values()) == 1


def test_an_event_nobody_consumes_stays_in_the_outbox_until_a_queue_is_bound(app, threads):
    event_id = publish_notes(app, 1)[0]
    threads.start(relay_for(app))

    def refused():
        with context(app).db.session() as session:
            row = session.execute(sa.select(outbox).where(outbox.c.event_id == event_id)).one()
        return row if row.attempts >= 1 else None
    row = wait_until(refused, message="the broker to return the unroutable event")
    assert row.published_at is None and "unroutable" in row.last_error

    declare_queue(app, demo.counting_handlers)
    wait_until(lambda: unpublished(app) == 0, timeout=30, message="the event to be published once routable")


def test_an_event_no_queue_is_bound_for_past_the_grace_is_not_retried_for_ever(app, threads):
    event_id = publish_notes(app, 1)[0]
    ctx = context(app)
    threads.start(OutboxRelay(ctx.db, ctx.settings.amqp_url, ctx.topology, poll_seconds=0.2,
                              unroutable_grace_seconds=0))

    def given_up():
        with ctx.db.session() as session:
            row = session.execute(sa.select(outbox).where(outbox.c.event_id == event_id)).one()
        return row if row.published_at is not None else None
    row = wait_until(given_up, message="the unroutable event to be given up")
    assert row.attempts == 1 and "unroutable" in row.last_error and "not retried" in row.last_error


# --- consuming -------------------------------------------------------------------------

def test_every_committed_event_is_handled_exactly_once(app, threads):
    consumer = threads.start(consumer_for(app, demo.counting_handlers))
    wait_until(lambda: declare_queue(app, demo.counting_handlers) or True)
    ids = publish_notes(app, 300)
    threads.start(relay_for(app))

    assert_all_handled_once(app, ids, "every event to be handled")
    assert Counter(consumer.acked) == Counter({i: 1 for i in ids})


def test_a_redelivered_event_has_no_second_effect(app, threads):
    declare_queue(app, demo.counting_handlers)
    event_id = publish_notes(app, 1)[0]
    threads.start(relay_for(app))
    wait_until(lambda: unpublished(app) == 0)
    with context(app).db.session() as session:  # the relay publishes the same row a second time
        session.execute(outbox.update().values(published_at=None))
        session.commit()

    consumer = threads.start(consumer_for(app, demo.counting_handlers))
    wait_until(lambda: len(consumer.acked) == 2, message="both copies to be acked")
    assert demo.effect_counts(context(app).db) == {event_id: 1}


def test_a_consumer_that_dies_after_commit_but_before_ack_causes_no_second_effect(app, overrides, threads):
    declare_queue(app, demo.counting_handlers)
    event_id = publish_notes(app, 1)[0]
    threads.start(relay_for(app))

    doomed = spawn.Process(target=demo.run_consumer_that_dies_before_ack, args=(overrides,))
    doomed.start()
    doomed.join(timeout=60)
    assert doomed.exitcode == 3, "the consumer should have died right before acking"
    assert demo.effect_counts(context(app).db) == {event_id: 1}

    survivor = threads.start(consumer_for(app, demo.counting_handlers))
    wait_until(lambda: event_id in survivor.acked, message="the redelivered event to be acked")
    assert demo.effect_counts(context(app).db) == {event_id: 1}


def test_events_in_flight_survive_a_broker_restart(app, threads):
    declare_queue(app, demo.counting_handlers)
    threads.start(consumer_for(app, demo.counting_handlers))
    threads.start(relay_for(app))
    ids = publish_notes(app, 200)
    wait_until(lambda: demo.effect_counts(context(app).db), message="handling to start")

    restart_broker()
    ids += publish_notes(app, 200)  # committed while the broker may still be coming back

    assert_all_handled_once(app, ids, "every event to be handled after the broker restart")


def restart_broker():
    """Stop and start the RabbitMQ application (queues and persistent messages survive)."""
    rabbitmqctl = os.environ.get("BEYOU_TEST_RABBITMQCTL", "rabbitmqctl")
    subprocess.run([rabbitmqctl, "stop_app"], check=True, capture_output=True, timeout=120)
    subprocess.run([rabbitmqctl, "start_app"], check=True, capture_output=True, timeout=120)


def test_a_handler_that_always_fails_is_dead_lettered_and_replay_delivers_it_once_fixed(app, threads):
    ctx = context(app)
    broken = threads.start(consumer_for(app, demo.failing_handlers))
    wait_until(lambda: declare_queue(app, demo.failing_handlers) or True)
    event_id = publish_notes(app, 1)[0]
    threads.start(relay_for(app))

    def dead():
        return list_dead_letters(ctx.settings.amqp_url, ctx.topology, "test")
    [letter] = wait_until(dead, message="the event to reach the dead-letter queue")
    assert letter.event_id == str(event_id)
    assert letter.attempts == ctx.settings.max_attempts == 3
    assert "handler is broken" in letter.error
    assert demo.effect_counts(ctx.db) == {}  # every failed attempt was rolled back

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["dead-letters", "list"])
    assert listed.exit_code == 0 and str(event_id) in listed.output

    threads.stop_all()
    assert broken.acked == [event_id] * 3  # each attempt acked only after it was forwarded
    fixed = threads.start(consumer_for(app, demo.counting_handlers))
    replayed = runner.invoke(args=["dead-letters", "replay", str(event_id)])
    assert replayed.exit_code == 0, replayed.output

    wait_until(lambda: event_id in fixed.acked, message="the replayed event to be handled")
    assert demo.effect_counts(ctx.db) == {event_id: 1}
    assert dead() == []


def test_replay_needs_event_ids_or_all(app):
    result = app.test_cli_runner().invoke(args=["dead-letters", "replay"])
    assert result.exit_code != 0 and "--all" in result.output


def test_a_malformed_message_goes_straight_to_the_dead_letter_queue(app, threads):
    ctx = context(app)
    threads.start(consumer_for(app, demo.counting_handlers))
    wait_until(lambda: declare_queue(app, demo.counting_handlers) or True)
    connection = pika.BlockingConnection(pika.URLParameters(ctx.settings.amqp_url))
    connection.channel().basic_publish("", ctx.topology.queue("test"), b"not json",
                                       pika.BasicProperties(message_id="junk-1"))
    connection.close()

    [letter] = wait_until(lambda: list_dead_letters(ctx.settings.amqp_url, ctx.topology, "test"))
    assert letter.attempts == 0 and "not an event envelope" in letter.error


# --- the worker process ------------------------------------------------------------------

def test_the_worker_relays_and_handles_and_stops_gracefully_on_sigterm(app, overrides):
    declare_queue(app, demo.counting_handlers)
    worker = spawn.Process(target=demo.run_worker_process, args=(overrides,))
    worker.start()
    try:
        ids = publish_notes(app, 50)
        assert_all_handled_once(app, ids, "the worker to handle every event")
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout=30)
    assert worker.exitcode == 0
