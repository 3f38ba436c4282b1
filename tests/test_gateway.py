"""What a client sees of the gateway: routing, request ids, client addresses,
limits, security headers and the gateway's own problem+json errors."""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest

SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
ONE_MEGABYTE = 1024 * 1024


def assert_problem(response, status: int) -> dict:
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body


def fresh_request_id() -> str:
    return f"gateway-test-{uuid.uuid4().hex}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_alive_and_ready_through_the_gateway(gateway, service):
    assert gateway.get(f"/api/{service}/healthz").status_code == 200
    assert gateway.get(f"/api/{service}/readyz").status_code == 200


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_serves_its_openapi_document_through_the_gateway(gateway, service):
    response = gateway.get(f"/api/{service}/openapi.json")

    assert response.status_code == 200
    assert "openapi" in response.json()


@pytest.mark.parametrize("path", ["/", "/no-such-thing", "/api/no-such-service/things"])
def test_an_unknown_path_is_a_404_problem_from_the_gateway(gateway, path):
    assert_problem(gateway.get(path), 404)


def test_a_body_over_one_megabyte_is_refused_with_a_413_problem(gateway):
    response = gateway.post("/api/social/reports", data=b"x" * (ONE_MEGABYTE + 1),
                            headers={"Content-Type": "application/octet-stream"})

    assert_problem(response, 413)


def test_an_upload_over_one_megabyte_reaches_the_service(gateway, request_log):
    request_id = fresh_request_id()

    response = gateway.post("/api/messaging/attachments", data=b"x" * (3 * ONE_MEGABYTE),
                            headers={"Content-Type": "application/octet-stream", "X-Request-ID": request_id})

    logged = request_log("messaging", request_id)
    assert logged["path"] == "/api/messaging/attachments"
    # The client gets the service's own answer: not a 413, and not a 502 from a broken pipe
    # when the service answers before reading the body.
    assert response.status_code == logged["status"] < 500


def test_the_request_id_a_client_sends_is_echoed_and_reaches_the_service(gateway, request_log):
    request_id = fresh_request_id()

    response = gateway.get("/api/ledger/healthz", headers={"X-Request-ID": request_id})

    assert response.headers["X-Request-ID"] == request_id
    assert request_log("ledger", request_id)["status"] == 200


def test_a_request_without_an_id_is_given_a_fresh_one(gateway):
    first = gateway.get("/api/social/healthz").headers["X-Request-ID"]
    second = gateway.get("/api/social/healthz").headers["X-Request-ID"]

    assert SANE_REQUEST_ID.match(first) and SANE_REQUEST_ID.match(second)
    assert first != second


def test_a_malformed_request_id_is_replaced_by_a_fresh_one(gateway):
    sent = 'bad id "with" spaces; <script>'

    echoed = gateway.get("/api/social/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"]

    assert echoed != sent
    assert SANE_REQUEST_ID.match(echoed)


def test_the_gateways_own_errors_carry_the_request_id(gateway):
    request_id = fresh_request_id()

    response = gateway.get("/no-such-thing", headers={"X-Request-ID": request_id})

    assert response.headers["X-Request-ID"] == request_id
    assert assert_problem(response, 404)["request_id"] == request_id


@pytest.mark.parametrize("path", ["/api/auth/healthz", "/api/marketplace/openapi.json", "/no-such-thing"])
def test_responses_carry_the_security_headers(gateway, path):
    headers = gateway.get(path).headers

    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def _csp_sources(policy: str, directive: str) -> list[str]:
    for part in policy.split(";"):
        name, *sources = part.split()
        if name == directive:
            return sources
    return []


def test_the_api_docs_page_is_allowed_to_load_what_it_references(gateway):
    response = gateway.get("/api/auth/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    policy = response.headers["Content-Security-Policy"]

    scripts = re.findall(r'<script[^>]+src="([^"]+)"', response.text)
    styles = re.findall(r'<link[^>]+href="([^"]+)"', response.text)
    assert scripts, "the docs page references no script"
    for url, directive in [(u, "script-src") for u in scripts] + [(u, "style-src") for u in styles]:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url)) if urlsplit(url).netloc else "'self'"
        assert origin in _csp_sources(policy, directive), f"{directive} does not allow {url}"
    # The page initialises Swagger UI with an inline script.
    assert "'unsafe-inline'" in _csp_sources(policy, "script-src")
    assert "frame-ancestors 'none'" in policy


def test_forged_forwarded_for_is_not_recorded_as_client_address(gateway, request_log):
    request_id = fresh_request_id()

    gateway.get("/api/auth/healthz", headers={
        "X-Request-ID": request_id,
        "X-Forwarded-For": "203.0.113.9",
        "X-Real-IP": "203.0.113.9",
        "Forwarded": "for=203.0.113.9",
    })

    assert request_log("auth", request_id)["remote_addr"] == "127.0.0.1"


def test_a_client_hammering_login_gets_429_problems_while_others_are_still_served(new_client):
    attacker, bystander = new_client(), new_client()

    # The strict zone lets a short burst through, then refuses; stop at the first refusal.
    for _ in range(60):
        response = attacker.post("/api/auth/login", json={})
        if response.status_code == 429:
            break

    body = assert_problem(response, 429)
    assert body["type"] == "urn:beyou:problem:too-many-requests"
    assert response.headers["Retry-After"]
    assert bystander.post("/api/auth/login", json={}).status_code != 429
