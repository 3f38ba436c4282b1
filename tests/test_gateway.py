"""What a client sees of the gateway: routing, request ids, client addresses,
limits, security headers and the gateway's own problem+json errors."""
from __future__ import annotations

import http.client
import json
import re
import socket
import uuid
from email.message import Message
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


class RawResponse:
    """The gateway's answer to bytes sent as they are, shaped like a requests response."""

    def __init__(self, status_code: int, headers: Message, content: bytes) -> None:
        self.status_code, self.headers, self.content = status_code, headers, content
        self.text = content.decode(errors="replace")

    def json(self):
        return json.loads(self.content)


def send_raw(gateway_url: str, request_line: bytes, *headers: bytes, body: bytes = b"",
             host: bool = True, head: bool = False) -> RawResponse:
    """Send one request exactly as written: no client library to normalise or refuse it.

    `Host` and `Connection: close` are added unless `host=False`; `head=True` reads
    the answer as one to HEAD (headers only).
    """
    address = urlsplit(gateway_url)
    lines = [request_line, *headers, *([b"Host: gateway.test"] if host else []), b"Connection: close"]
    with socket.create_connection((address.hostname, address.port or 80), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock, method="HEAD" if head else "GET")
        response.begin()
        return RawResponse(response.status, response.headers, response.read())


def assert_gateway_problem(response, status: int) -> dict:
    """A problem the gateway answered itself: with its request id and security headers."""
    body = assert_problem(response, status)
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return body


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_alive_and_ready_through_the_gateway(gateway, service):
    assert gateway.get(f"/api/{service}/healthz").status_code == 200
    assert gateway.get(f"/api/{service}/readyz").status_code == 200


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_serves_its_openapi_document_through_the_gateway(gateway, service):
    response = gateway.get(f"/api/{service}/openapi.json")

    assert response.status_code == 200
    assert "openapi" in response.json()


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_serves_its_asyncapi_document_through_the_gateway(gateway, service):
    response = gateway.get(f"/api/{service}/asyncapi.json")

    assert response.status_code == 200
    assert response.json()["asyncapi"].startswith("3.")


# Outside /api/ every path is the web app's (tests/test_web_gateway.py).
@pytest.mark.parametrize("path", ["/api/no-such-service/things", "/api/", "/api", "/api/auth"])
def test_an_unknown_api_path_is_a_404_problem_from_the_gateway(gateway, path):
    assert_problem(gateway.get(path), 404)


def test_a_body_over_one_megabyte_is_refused_with_a_413_problem(gateway):
    response = gateway.post("/api/social/friend-requests", data=b"x" * (ONE_MEGABYTE + 1),
                            headers={"Content-Type": "application/octet-stream"})

    assert_problem(response, 413)


@pytest.mark.parametrize("method, path", [("POST", "/api/messaging/attachments"), ("POST", "/api/social/reports"),
                                          ("PUT", "/api/social/profiles/me/avatar")])
def test_an_upload_over_one_megabyte_reaches_the_service(gateway, request_log, method, path):
    request_id = fresh_request_id()

    response = gateway.request(method, path, data=b"x" * (3 * ONE_MEGABYTE),
                               headers={"Content-Type": "application/octet-stream", "X-Request-ID": request_id})

    logged = request_log(path.split("/")[2], request_id)
    assert logged["path"] == path
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

    response = gateway.get("/api/no-such-thing", headers={"X-Request-ID": request_id})

    assert response.headers["X-Request-ID"] == request_id
    assert assert_problem(response, 404)["request_id"] == request_id


@pytest.mark.parametrize("path", ["/api/auth/healthz", "/api/marketplace/openapi.json", "/api/no-such-thing"])
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


# The gateway's own answers to requests a client library would not send: each is
# problem+json with the status HTTP gives it, never nginx's HTML page.

API_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def allowed_methods(response) -> set[str]:
    return {method.strip() for method in response.headers["Allow"].split(",")}


@pytest.mark.parametrize("request_line", [
    b"GET /api/auth/%00 HTTP/1.1",
    b"GET /api/auth/login%00x HTTP/1.1",
    b"GET /no-such-thing/%00 HTTP/1.1",
    b"GET /api/auth/\x00 HTTP/1.1",
])
def test_a_nul_byte_in_the_path_is_a_400_problem_from_the_gateway(gateway_url, request_line):
    assert_gateway_problem(send_raw(gateway_url, request_line), 400)


@pytest.mark.parametrize("request_line", [
    b"GET /../../etc/passwd HTTP/1.1",
    b"GET api/auth/healthz HTTP/1.1",
    b"get /api/auth/healthz HTTP/1.1",
    b"OPTIONS * HTTP/1.1",
    b"GET  HTTP/1.1",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",  # a TLS ClientHello on the plain-HTTP port
])
def test_a_request_line_the_gateway_cannot_parse_is_a_400_problem(gateway_url, request_line):
    assert_gateway_problem(send_raw(gateway_url, request_line), 400)


def test_a_uri_over_8kb_is_a_414_problem(gateway_url):
    response = send_raw(gateway_url, b"GET /api/auth/" + b"a" * (8 * 1024) + b" HTTP/1.1")

    assert_gateway_problem(response, 414)


@pytest.mark.parametrize("headers", [
    [b"X-Padding: " + b"a" * (8 * 1024)],
    [b"X-Padding-%d: %s" % (n, b"a" * 7000) for n in range(6)],
], ids=["one header over 8 KB", "headers over 32 KB in all"])
def test_oversized_headers_are_a_431_problem(gateway_url, headers):
    response = send_raw(gateway_url, b"GET /api/auth/healthz HTTP/1.1", *headers)

    assert_gateway_problem(response, 431)


@pytest.mark.parametrize("method", ["TRACE", "TRACK", "PROPFIND", "BREW"])
def test_a_method_no_api_uses_is_a_405_problem_naming_the_allowed_ones(gateway_url, method):
    response = send_raw(gateway_url, method.encode() + b" /api/auth/healthz HTTP/1.1")

    assert_gateway_problem(response, 405)
    assert allowed_methods(response) == API_METHODS


def test_connect_is_refused_with_a_problem(gateway_url):
    response = send_raw(gateway_url, b"CONNECT example.com:443 HTTP/1.1",
                        b"Host: example.com:443", host=False)

    # nginx before 1.25.1 cannot parse the authority form (400); later ones refuse the method (405).
    assert response.status_code in (400, 405)
    assert_gateway_problem(response, response.status_code)
    if response.status_code == 405:
        assert allowed_methods(response) == API_METHODS


def test_a_refused_request_is_logged_with_the_method_and_path_the_client_sent(gateway_url, request_log):
    request_id = fresh_request_id()

    send_raw(gateway_url, b"TRACK /api/auth/healthz?token=secret HTTP/1.1", b"X-Request-ID: " + request_id.encode())

    logged = request_log("gateway", request_id)
    assert (logged["method"], logged["path"], logged["status"]) == ("TRACK", "/api/auth/healthz", 405)


def test_head_of_a_gateway_error_has_the_problem_headers_and_no_body(gateway_url):
    response = send_raw(gateway_url, b"HEAD /api/no-such-thing HTTP/1.1", head=True)

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.content == b""


def test_options_on_an_api_path_is_answered_by_the_service(gateway, request_log):
    request_id = fresh_request_id()

    response = gateway.options("/api/auth/healthz", headers={"X-Request-ID": request_id})

    assert response.status_code == request_log("auth", request_id)["status"]


def test_a_request_without_host_is_a_400_problem(gateway_url):
    response = send_raw(gateway_url, b"GET /api/auth/healthz HTTP/1.1", host=False)

    assert_gateway_problem(response, 400)


def test_http_1_0_requests_are_served_and_their_errors_are_problems(gateway_url):
    assert send_raw(gateway_url, b"GET /api/auth/healthz HTTP/1.0", host=False).status_code == 200
    assert_gateway_problem(send_raw(gateway_url, b"GET /api/no-such-thing HTTP/1.0", host=False), 404)


@pytest.mark.parametrize("headers", [
    [b"Content-Length: abc"],
    [b"Content-Length: -1"],
    [b"Content-Length: 2", b"Content-Length: 3"],
    [b"Content-Length: 2", b"Transfer-Encoding: chunked"],
], ids=["not a number", "negative", "twice, differing", "with chunked"])
def test_a_bad_content_length_is_a_400_problem(gateway_url, headers):
    response = send_raw(gateway_url, b"POST /api/auth/login HTTP/1.1", *headers, body=b"{}")

    assert_gateway_problem(response, 400)


def test_an_unknown_transfer_coding_is_a_501_problem(gateway_url):
    response = send_raw(gateway_url, b"POST /api/auth/login HTTP/1.1", b"Transfer-Encoding: gzip")

    assert_gateway_problem(response, 501)


def test_an_http_version_other_than_1_x_is_a_505_problem(gateway_url):
    assert_gateway_problem(send_raw(gateway_url, b"GET /api/auth/healthz HTTP/2.0"), 505)


def test_an_absolute_form_target_is_routed_by_its_path(gateway_url):
    served = send_raw(gateway_url, b"GET http://elsewhere.test/api/auth/healthz HTTP/1.1")
    unknown = send_raw(gateway_url, b"GET http://elsewhere.test/api/no-such-thing HTTP/1.1")

    assert served.status_code == 200
    assert_gateway_problem(unknown, 404)


def test_the_gateways_error_pages_cannot_be_requested_directly(gateway):
    assert_problem(gateway.get("/_gateway/problem/500"), 404)


def test_the_gateway_answers_its_own_health_check(gateway):
    response = gateway.get("/healthz")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "service": "gateway"}
    assert response.headers["X-Request-ID"]


def test_the_gateway_health_check_answers_head(gateway_url):
    response = send_raw(gateway_url, b"HEAD /healthz HTTP/1.1", head=True)

    assert response.status_code == 200
    assert response.content == b""


def test_the_gateway_health_check_refuses_other_methods_with_a_405_problem(gateway):
    response = gateway.post("/healthz")

    assert_gateway_problem(response, 405)
    assert allowed_methods(response) == {"GET", "HEAD"}
