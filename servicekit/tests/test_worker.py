"""The worker process: its health check, how it lives through a broker outage, its periodic tasks.

Broker outages are made with a proxy in front of the shared RabbitMQ (cut, then
restored), or with a port nothing listens on, never by stopping the broker.
"""
import contextlib
import datetime as dt
import io
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pytest
import sqlalchemy as sa

import demo_service as demo
from servicekit.context import context_of
from servicekit.events import EventHandlers
from servicekit.tables import inbox, outbox
from servicekit.testing import wait_until
from servicekit.worker import PeriodicTask, housekeeping, main

CLOSED_PORT_URL = "amqp://guest:guest@127.0.0.1:1/"


# --- helpers ---------------------------------------------------------------------------

def health_check(app) -> tuple[int, str]:
    """What `python -m <service>.worker --check` answers for `app`'s worker: its exit code and its line."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        main(lambda: app, demo.counting_handlers, argv=["--check"])
    return exited.value.code, out.getvalue()


def healthy(app) -> bool:
    return health_check(app)[0] == 0


def reported_unhealthy(app, reason: str) -> str | None:
    """The check's line if it reports `app`'s worker unhealthy for `reason`."""
    code, line = health_check(app)
    return line if code == 1 and reason in line else None


@pytest.fixture
def worker_app(app_with, tmp_path):
    """`worker_app(**overrides)`: a demo app whose worker keeps its heartbeat in this test's directory."""
    def make(**overrides):
        return app_with(WORKER_HEARTBEAT_FILE=str(tmp_path / "worker.heartbeat"), **overrides)
    return make


class BrokerProxy:
    """A TCP proxy in front of the test broker. `cut()` drops every connection and refuses new
    ones, as a broker going down would; `restore()` lets them through again."""

    def __init__(self, amqp_url: str) -> None:
        url = urllib.parse.urlsplit(amqp_url)
        self.upstream = (url.hostname, url.port or 5672)
        self.server = socket.create_server(("127.0.0.1", 0))
        credentials = url.netloc.rpartition("@")[0]
        self.url = url._replace(netloc=f"{credentials}@127.0.0.1:{self.server.getsockname()[1]}").geturl()
        self.refused = 0
        self._up = True
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self._up = False
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def close(self) -> None:
        self.cut()
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            with self._lock:
                if not self._up:
                    self.refused += 1
                    _close(client)
                    continue
                upstream = socket.create_connection(self.upstream)
                self._open += [client, upstream]
            threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    _close(source)
    _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def broker_proxy(amqp_url):
    proxy = BrokerProxy(amqp_url)
    yield proxy
    proxy.close()


# --- the health check --------------------------------------------------------------------

def test_an_idle_worker_is_healthy_and_stays_so_beyond_the_heartbeat_limit(worker_app, running_worker):
    app = worker_app(WORKER_HEARTBEAT_MAX_AGE_SECONDS=2)
    running_worker(app, demo.counting_handlers)

    wait_until(lambda: healthy(app), message="the worker to report healthy")
    idle_until = time.monotonic() + 5  # more than twice the limit, with nothing to do
    while time.monotonic() < idle_until:
        code, line = health_check(app)
        assert code == 0 and line == "healthy: relay and consumer connected to the broker\n"
        time.sleep(0.2)


def light_check(heartbeat_path, *, code: str = "", liveness: bool = False,
                max_age: str = "30") -> subprocess.CompletedProcess:
    """`python -m servicekit.heartbeat demo [--liveness]` (or `code` after importing it) in a process of its own,
    with only the worker-health settings in its environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "AMQP_URL"))}
    env.update(WORKER_HEARTBEAT_FILE=str(heartbeat_path), WORKER_HEARTBEAT_MAX_AGE_SECONDS=max_age)
    argv = (["-c", f"import servicekit.heartbeat, sys\n{code}"] if code
            else ["-m", "servicekit.heartbeat", "demo", *(["--liveness"] if liveness else [])])
    return subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True, timeout=60)


def test_the_light_check_says_what_the_workers_own_check_says_without_the_services_settings(
        worker_app, running_worker, tmp_path):
    app = worker_app()
    stop = running_worker(app, demo.counting_handlers)
    wait_until(lambda: healthy(app), message="the worker to report healthy")

    answer = light_check(tmp_path / "worker.heartbeat")
    assert (answer.returncode, answer.stdout) == (0, "healthy: relay and consumer connected to the broker\n")

    stop.set()
    wait_until(lambda: light_check(tmp_path / "worker.heartbeat").returncode == 1,
               message="the light check to see the worker gone")
    assert "the worker is not running" in light_check(tmp_path / "worker.heartbeat").stdout


def test_the_light_check_imports_none_of_the_heavy_libraries(tmp_path):
    heavy = ("flask", "sqlalchemy", "pika", "marshmallow", "cryptography")
    answer = light_check(tmp_path / "none", code=f"print(sorted(set({heavy!r}) & set(sys.modules)))")
    assert (answer.returncode, answer.stdout) == (0, "[]\n"), answer.stderr


def test_a_worker_that_cannot_reach_the_broker_is_unhealthy_but_alive(worker_app, running_worker, tmp_path):
    app = worker_app(AMQP_URL=CLOSED_PORT_URL)
    running_worker(app, demo.counting_handlers)

    line = wait_until(lambda: reported_unhealthy(app, "cannot reach the broker"),
                      message="the check to report the broker unreachable")
    # Still trying: a liveness probe must not restart it (a restart would not bring the broker back).
    alive = light_check(tmp_path / "worker.heartbeat", liveness=True)
    assert (alive.returncode, alive.stdout) == (0, "alive: relay and consumer heard within 30 s\n")
    assert line.startswith("unhealthy: the relay cannot reach the broker:")
    assert "Connection refused" in line and line.count("\n") == 1


def test_a_stopped_worker_is_unhealthy(worker_app, running_worker):
    app = worker_app()
    stop = running_worker(app, demo.counting_handlers)
    wait_until(lambda: healthy(app), message="the worker to report healthy")

    stop.set()
    line = wait_until(lambda: reported_unhealthy(app, "no heartbeat file"), message="the check to fail")
    assert "the worker is not running" in line


def test_a_worker_whose_consumer_hangs_is_unhealthy_and_not_alive_once_its_heartbeat_is_stale(
        worker_app, running_worker, tmp_path):
    released = threading.Event()
    hanging = EventHandlers()

    @hanging.on("test.note.created", schema=demo.NoteSeen)
    def on_note_created_hanging(session, event):
        released.wait(timeout=60)

    app = worker_app(WORKER_HEARTBEAT_MAX_AGE_SECONDS=1)
    running_worker(app, hanging)
    wait_until(lambda: healthy(app), message="the worker to report healthy")
    try:
        with context_of(app).db.session() as session:
            demo.record_note(session, "hangs the consumer")

        line = wait_until(lambda: reported_unhealthy(app, "the consumer has been silent for"),
                          message="the check to notice the silent consumer")
        assert "(limit 1 s)" in line
        # A hung loop is what a liveness probe is for: a restart cures it.
        hung = light_check(tmp_path / "worker.heartbeat", liveness=True, max_age="1")
        assert hung.returncode == 1 and hung.stdout.startswith("not alive: the consumer has been silent for")
    finally:
        released.set()
    wait_until(lambda: healthy(app), message="the worker to report healthy again")


# --- a broker outage -----------------------------------------------------------------------

def test_a_broker_outage_is_logged_once_and_the_worker_recovers_by_itself(worker_app, running_worker, broker_proxy,
                                                                           caplog):
    app = worker_app(AMQP_URL=broker_proxy.url)
    running_worker(app, demo.counting_handlers)
    wait_until(lambda: healthy(app), message="the worker to report healthy")
    caplog.clear()

    broker_proxy.cut()
    wait_until(lambda: reported_unhealthy(app, "cannot reach the broker"), message="the check to see the outage")
    wait_until(lambda: broker_proxy.refused >= 6, timeout=20, message="the worker to try to reconnect repeatedly")

    [outage] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert outage.getMessage() == "broker unreachable" and outage.error.strip()
    assert not [r for r in caplog.records if r.exc_info], "no traceback for an outage"

    broker_proxy.restore()
    wait_until(lambda: healthy(app), timeout=30, message="the worker to reconnect by itself")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "broker unreachable", "broker reachable again"]

    with context_of(app).db.session() as session:  # and it works again
        demo.record_note(session, "after the outage")
    wait_until(lambda: demo.effect_counts(context_of(app).db), message="the event to be handled")


# --- periodic tasks ------------------------------------------------------------------------

def test_a_periodic_task_runs_every_interval_from_one_interval_after_start(worker_app, running_worker):
    app = worker_app()
    runs = []
    started = time.monotonic()
    running_worker(app, demo.counting_handlers,
                   tasks=[PeriodicTask("count", 0.3, lambda context: runs.append((time.monotonic(), context)))])

    wait_until(lambda: len(runs) >= 3, message="three runs of the task")
    assert runs[0][0] - started >= 0.3
    assert all(context is context_of(app) for _, context in runs)


def test_a_failing_periodic_task_is_logged_and_retried_without_stopping_the_worker(worker_app, running_worker,
                                                                                     caplog):
    app = worker_app()
    failures, successes = [], []

    def purge(context):
        failures.append(time.monotonic())
        raise RuntimeError("purge broke")

    running_worker(app, demo.counting_handlers, tasks=[PeriodicTask("purge", 0.2, purge),
                                                       PeriodicTask("count", 0.2, successes.append)])

    wait_until(lambda: len(failures) >= 3 and len(successes) >= 3, message="both tasks to run repeatedly")
    wait_until(lambda: healthy(app), message="the worker to stay healthy")
    logged = [r for r in caplog.records if getattr(r, "task", None) == "purge"]
    assert logged and all(r.levelno == logging.ERROR and "purge broke" in str(r.exc_info[1]) for r in logged)


def test_housekeeping_forgets_old_published_events_and_handled_ids_but_keeps_pending_ones(app, database):
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    old_published, recent_published, old_pending, old_handled, recent_handled = (uuid.uuid4() for _ in range(5))
    with database.transaction() as session:
        for event_id, published_at in [(old_published, long_ago), (recent_published, sa.func.now()),
                                       (old_pending, None)]:
            session.execute(outbox.insert().values(event_id=event_id, event_type="test.note.created", envelope={},
                                                   created_at=long_ago, published_at=published_at))
        for event_id, handled_at in [(old_handled, long_ago), (recent_handled, sa.func.now())]:
            session.execute(inbox.insert().values(event_id=event_id, consumer="beyou.test",
                                                  event_type="test.note.created", handled_at=handled_at))

    housekeeping(context_of(app))

    with database.session() as session:
        assert set(session.scalars(sa.select(outbox.c.event_id))) == {recent_published, old_pending}
        assert set(session.scalars(sa.select(inbox.c.event_id))) == {recent_handled}
