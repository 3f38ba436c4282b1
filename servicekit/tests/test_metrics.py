"""Prometheus metrics: an API's requests under gunicorn (summed across its worker processes, served by the
master on a port of its own), and a worker's events and outbox, scraped over HTTP as Prometheus would."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import demo_service as demo
from servicekit.metrics import MetricsSettings
from servicekit.testing import wait_until

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
NOTE_ROUTE = "/api/test/notes/<uuid:note_id>"


# --- helpers ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    """Every sample Prometheus would see on 127.0.0.1:`port`: {(name, labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def sample(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def held_app():
    """The demo service plus a route that holds its worker until a file exists (gunicorn's app in these tests)."""
    app = demo.create_app()

    @app.get("/api/test/held")
    def held():
        release = Path(os.environ["HOLD_RELEASE_FILE"])
        deadline = time.monotonic() + 30
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return {"released": release.exists()}
    return app


class Gunicorn:
    """`gunicorn -c python:servicekit.gunicorn_conf` serving held_app() with 2 sync workers, as every API runs."""

    def __init__(self, overrides: dict, multiproc_dir: Path, tmp_path: Path) -> None:
        self.port, self.metrics_port = free_port(), free_port()
        self.release = tmp_path / "release"
        env = {**os.environ, **{k: _env_value(v) for k, v in overrides.items()},
               "METRICS_PORT": str(self.metrics_port), "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
               "HOLD_RELEASE_FILE": str(self.release)}
        self.log = open(tmp_path / f"gunicorn-{self.port}.log", "wb")
        self.process = subprocess.Popen(
            [str(GUNICORN), "-c", "python:servicekit.gunicorn_conf", "--workers", "2",
             "--bind", f"127.0.0.1:{self.port}", "--pythonpath", str(Path(__file__).parent), "test_metrics:held_app()"],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: len(self.workers()) == 2 and self.answers(), timeout=30,
                   message="gunicorn and its two workers to answer")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answers(self) -> bool:
        try:
            return status_of(self.url("/api/test/healthz")) == 200 and bool(scrape(self.metrics_port))
        except OSError:
            return False

    def workers(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()} if children.exists() else set()

    def stop(self) -> None:
        self.release.touch()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def _env_value(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture
def gunicorn(overrides, tmp_path):
    """`gunicorn(multiproc_dir=None)`: a running gunicorn API; stopped after the test."""
    started = []

    def start(multiproc_dir: Path | None = None) -> Gunicorn:
        started.append(Gunicorn(overrides, multiproc_dir or tmp_path / "multiproc", tmp_path))
        return started[-1]
    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


# --- APIs --------------------------------------------------------------------------------

def test_requests_are_counted_and_timed_by_route_template_and_status_never_by_raw_path(client):
    before = scrape_registry()
    for _ in range(3):
        assert client.get(f"/api/test/notes/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/api/test/no-such-thing/{uuid.uuid4()}").status_code == 404
    after = scrape_registry()

    def grew(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("http_requests_total", method="GET", route=NOTE_ROUTE, status="404") == 3
    assert grew("http_request_duration_seconds_count", method="GET", route=NOTE_ROUTE, status="404") == 3
    assert grew("http_requests_total", method="GET", route="unmatched", status="404") == 1
    routes = {dict(labels).get("route") for name, labels in after if name == "http_requests_total"}
    assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", route) for route in routes), routes


def scrape_registry():
    from prometheus_client import REGISTRY, generate_latest
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()) for s in family.samples}


def test_a_gunicorn_api_serves_the_sum_of_its_workers_metrics_on_its_own_port_and_not_on_the_apis(gunicorn):
    server = gunicorn()
    for _ in range(6):
        assert status_of(server.url(f"/api/test/notes/{uuid.uuid4()}")) == 404
    # Every worker is replaced (SIGKILL, as the OOM killer would), then more requests: the count is the
    # sum over the dead workers' files and the new workers'.
    first = server.workers()
    for pid in first:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(server.workers()) == 2 and not server.workers() & first and server.answers(),
               timeout=30, message="gunicorn to replace its killed workers")
    for _ in range(4):
        assert status_of(server.url(f"/api/test/notes/{uuid.uuid4()}")) == 404

    samples = scrape(server.metrics_port)
    assert sample(samples, "http_requests_total", method="GET", route=NOTE_ROUTE, status="404") == 10
    # The API's own port serves the API only: no metrics there, and so none through the gateway.
    assert status_of(server.url("/metrics")) == 404
    assert status_of(server.url("/api/test/metrics")) == 404


def test_a_killed_workers_requests_in_progress_are_forgotten_and_its_counts_kept(gunicorn):
    server = gunicorn()
    assert status_of(server.url("/api/test/healthz")) == 200
    held = threading.Thread(target=lambda: _ignore_errors(server.url("/api/test/held")), daemon=True)
    held.start()
    wait_until(lambda: sample(scrape(server.metrics_port), "http_requests_in_progress") == 1,
               message="the held request to be in progress")
    before = server.workers()
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(server.workers()) == 2 and not server.workers() & before and server.answers(),
               timeout=30, message="gunicorn to replace its killed workers")

    samples = scrape(server.metrics_port)
    assert sample(samples, "http_requests_in_progress") == 0
    assert sample(samples, "http_requests_total", method="GET", route="/api/test/healthz", status="200") >= 1
    held.join(timeout=10)


def _ignore_errors(url: str) -> None:
    try:
        status_of(url)
    except OSError:  # its worker was killed under it
        pass


def test_gunicorn_starts_from_an_empty_metrics_directory(gunicorn, tmp_path):
    directory = tmp_path / "kept-between-runs"
    first = gunicorn(directory)
    for _ in range(5):
        assert status_of(first.url(f"/api/test/notes/{uuid.uuid4()}")) == 404
    first.stop()
    assert list(directory.glob("counter_*.db")), "the first run left its files"

    second = gunicorn(directory)
    assert status_of(second.url(f"/api/test/notes/{uuid.uuid4()}")) == 404
    assert sample(scrape(second.metrics_port), "http_requests_total",
                  method="GET", route=NOTE_ROUTE, status="404") == 1


# --- workers -----------------------------------------------------------------------------

@pytest.fixture
def metrics_settings():
    return MetricsSettings(metrics_port=free_port())


def served(port: int) -> bool:
    try:
        return bool(scrape(port))
    except OSError:
        return False


def test_a_worker_counts_the_events_it_publishes_and_consumes(app, client, connected_worker, metrics_settings):
    port = metrics_settings.metrics_port
    connected_worker(app, demo.counting_handlers, metrics=metrics_settings)
    wait_until(lambda: served(port), message="the worker's metrics to be served")
    before = scrape(port)
    for n in range(3):
        assert client.post("/api/test/notes", json={"text": f"note {n}"}).status_code == 201

    def grew(name):
        return sample(scrape(port), name, event_type="test.note.created") - sample(before, name,
                                                                                  event_type="test.note.created")
    wait_until(lambda: grew("events_published_total") == 3 and grew("events_consumed_total") == 3,
               message="3 events published and consumed")
    samples = scrape(port)
    assert sample(samples, "outbox_backlog") == 0
    assert sample(samples, "outbox_oldest_unsent_age_seconds") == 0


def test_a_worker_counts_the_events_it_retries_and_dead_letters(app_with, connected_worker, metrics_settings):
    app = app_with(MAX_ATTEMPTS=2, RETRY_DELAYS_MS=(50,))
    port = metrics_settings.metrics_port
    connected_worker(app, demo.failing_handlers, metrics=metrics_settings)
    wait_until(lambda: served(port), message="the worker's metrics to be served")
    before = scrape(port)
    assert app.test_client().post("/api/test/notes", json={"text": "doomed"}).status_code == 201

    def grew(name):
        return sample(scrape(port), name, event_type="test.note.created") - sample(before, name,
                                                                                  event_type="test.note.created")
    wait_until(lambda: grew("events_dead_lettered_total") == 1, message="the event to be dead-lettered")
    assert grew("events_retried_total") == 1
    assert grew("events_consumed_total") == 0


def test_a_worker_that_cannot_reach_the_broker_reports_its_outbox_backlog_and_oldest_event_age(
        app_with, running_worker, metrics_settings):
    app = app_with(AMQP_URL="amqp://guest:guest@127.0.0.1:1/")
    for n in range(4):
        assert app.test_client().post("/api/test/notes", json={"text": f"stuck {n}"}).status_code == 201
    running_worker(app, demo.counting_handlers, metrics=metrics_settings)
    port = metrics_settings.metrics_port
    wait_until(lambda: served(port), message="the worker's metrics to be served")

    first = scrape(port)
    assert sample(first, "outbox_backlog") == 4
    assert sample(first, "outbox_oldest_unsent_age_seconds") > 0
    wait_until(lambda: sample(scrape(port), "outbox_oldest_unsent_age_seconds")
               > sample(first, "outbox_oldest_unsent_age_seconds") + 0.5, message="the oldest event to age")


def test_a_stopped_worker_stops_serving_its_metrics(app, running_worker, metrics_settings):
    port = metrics_settings.metrics_port
    stop = running_worker(app, demo.counting_handlers, metrics=metrics_settings)
    wait_until(lambda: served(port), message="the worker's metrics to be served")
    stop.set()
    wait_until(lambda: not served(port), message="the metrics port to close")
