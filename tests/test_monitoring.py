"""Operating it: Prometheus' configuration and alert rules (checked and unit-tested with promtool), the
metrics every process of the native stack serves on a port of its own and the gateway never routes, and a
request followed by its id from the gateway's log through the service's into the events it caused."""
from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from servicekit.testing import wait_until

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "deploy" / "monitoring"
DEV = ROOT / ".dev"
SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")


@pytest.fixture(scope="module")
def promtool() -> str:
    """promtool from Debian's prometheus package (deploy/monitoring/promtool.sh fetches it when missing)."""
    done = subprocess.run([str(MONITORING / "promtool.sh")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, cwd=MONITORING, timeout=60)


# --- the configuration --------------------------------------------------------------------

def test_the_prometheus_configuration_is_valid_and_loads_the_alert_rules(promtool):
    checked = run(promtool, "check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 rule files found" in checked.stdout


def test_the_alert_rules_are_valid(promtool):
    checked = run(promtool, "check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alerts_fire_when_they_should_and_only_then(promtool):
    tested = run(promtool, "test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_prometheus_scrapes_every_api_the_stream_and_every_worker_of_the_compose_stack():
    config = (MONITORING / "prometheus.yml").read_text()
    for service in SERVICES:
        assert f'"{service}:9100"' in config and f'"{service}-worker:9100"' in config, service
    assert '"messaging-stream:9100"' in config


# --- the native stack ---------------------------------------------------------------------

def scrape(target: str) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{target}/metrics", timeout=5) as response:
        families = text_string_to_metric_families(response.read().decode())
    return {sample.name: sample.value for family in families for sample in family.samples}


def test_metrics_are_not_reachable_through_the_gateway(gateway):
    assert gateway.get("/metrics").status_code == 404
    for service in SERVICES:
        assert gateway.get(f"/api/{service}/metrics").status_code == 404, service


def test_every_process_of_the_native_stack_serves_its_metrics_on_its_own_port(gateway):
    targets = json.loads((DEV / "monitoring" / "targets.json").read_text())
    assert len(targets) == 2 * len(SERVICES) + 1   # the APIs, the workers and the stream
    for group in targets:
        samples = scrape(group["targets"][0])
        if group["labels"]["job"] == "worker":
            assert "outbox_backlog" in samples, group
        else:
            assert "http_requests_in_progress" in samples, group
        if group["labels"]["process"] == "ledger-worker":
            assert {"ledger_tree_size", "ledger_integrity_failed"} <= samples.keys()


def log_lines(name: str):
    for line in (DEV / "logs" / f"{name}.log").read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def solve(challenge: dict) -> dict:
    """The registration's proof of work, as a client solves it (tests/conftest.py's, which a test module cannot
    import: the suite imports conftest files by path)."""
    token, difficulty = challenge["token"], challenge["difficulty"]
    for nonce in itertools.count():
        if int.from_bytes(hashlib.sha256(f"{token}:{nonce}".encode()).digest(), "big") >> (256 - difficulty) == 0:
            return {"token": token, "nonce": str(nonce)}


def test_a_request_id_leads_from_the_gateway_through_the_service_into_the_events_it_caused(new_client,
                                                                                            request_log):
    client = new_client()
    request_id = f"trace-{uuid.uuid4().hex}"
    challenge = client.post("/api/auth/challenge").json()
    tag = uuid.uuid4()
    username = f"t{tag.hex[:12]}"
    registered = client.post("/api/auth/register", headers={"X-Request-ID": request_id}, json={
        "username": username, "email": f"{username}@trace.test", "phone": f"+4420{tag.int % 10**8:08d}",
        "password": f"Trace-{tag.hex[12:28]}", "challenge": solve(challenge)})
    assert registered.status_code == 201, registered.text
    assert registered.headers["X-Request-ID"] == request_id

    gateway_line = wait_until(lambda: next((line for line in log_lines("gateway")
                                            if line.get("request_id") == request_id), None),
                              message="the gateway to log the request")
    assert gateway_line["path"] == "/api/auth/register" and gateway_line["status"] == 201
    assert request_log("auth", request_id)["path"] == "/api/auth/register"
    # auth.user.registered carried the id to social's worker, which made the user's profile under it.
    handled = wait_until(lambda: next((line for line in log_lines("social-worker")
                                       if line.get("request_id") == request_id
                                       and line.get("message") == "event handled"), None),
                         message="social's worker to handle the event under the request's id")
    assert handled["event_type"] == "auth.user.registered"
