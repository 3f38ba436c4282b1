"""What a client sees of any servicekit service over HTTP: problem+json errors,
request ids and JSON logs, trusted proxy hops, the OpenAPI document, health and
readiness, and what happens when the configuration is incomplete."""
import io
import json
import logging
import re
import uuid

import pytest

import demo_service
from servicekit.config import ConfigError

PROBLEM_JSON = "application/problem+json"
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
CLOSED_DATABASE = "postgresql+psycopg2://x:y@127.0.0.1:1/x"
CLOSED_BROKER = "amqp://x:y@127.0.0.1:1/"


def assert_problem(response, status: int) -> dict:
    """The response is an RFC 9457 problem with `status`; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = response.json
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body


class LogLines:
    """The JSON lines the process writes to stderr, captured from servicekit's root handler."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def all(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def find(self, message: str, **fields) -> list[dict]:
        return [line for line in self.all()
                if line.get("message") == message and all(line.get(k) == v for k, v in fields.items())]


@pytest.fixture
def logs(app):
    """Redirects the stream of servicekit's log handler (installed by the app factory) for one test."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_servicekit", False))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield LogLines(stream)
    handler.setStream(previous)


# --- errors as problem+json ---------------------------------------------------------

def test_invalid_input_is_a_422_problem_with_an_error_per_field(client):
    response = client.post("/api/test/notes", json={"text": "", "count": 99})

    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"text", "count"}
    assert body["errors"]["text"] == ["Length must be between 1 and 200."]
    assert body["instance"] == "/api/test/notes"


def test_a_missing_required_field_is_named_in_the_errors(client):
    body = assert_problem(client.post("/api/test/notes", json={"count": 2}), 422)

    assert "text" in body["errors"]


def test_a_body_that_is_not_json_is_a_400_problem(client):
    response = client.post("/api/test/notes", data='{"text": "unterminated', content_type="application/json")

    body = assert_problem(response, 400)
    assert body["errors"]


def test_a_valid_note_is_created(client):
    response = client.post("/api/test/notes", json={"text": "hello"})

    assert response.status_code == 201
    assert response.json["text"] == "hello"
    assert client.get(f"/api/test/notes/{response.json['id']}").json == response.json


def test_a_domain_conflict_is_a_409_problem_with_its_type(client):
    body = assert_problem(client.post("/api/test/notes", json={"text": "conflict"}), 409)

    assert body["type"] == "urn:beyou:problem:conflict"
    assert body["detail"] == "that note conflicts"


def test_an_unknown_path_is_a_404_problem(client):
    assert_problem(client.get("/api/test/no-such-thing"), 404)


def test_a_missing_note_is_a_404_problem(client):
    body = assert_problem(client.get(f"/api/test/notes/{uuid.uuid4()}"), 404)

    assert body["type"] == "urn:beyou:problem:not-found"


def test_a_method_the_resource_does_not_have_is_a_405_problem_naming_the_allowed_ones(client):
    response = client.delete("/api/test/notes")

    assert_problem(response, 405)
    assert "POST" in {method.strip() for method in response.headers["Allow"].split(",")}


def test_an_unexpected_error_is_a_500_problem_that_hides_the_details_but_logs_them(client, logs):
    response = client.get("/api/test/boom")

    body = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "secret internal detail" not in text
    [line] = logs.find("unhandled error", request_id=body["request_id"])
    assert line["level"] == "ERROR"
    assert line["service"] == "test"
    assert "RuntimeError: secret internal detail" in line["exc_info"]


# --- request ids and the request log ------------------------------------------------

def test_a_sane_request_id_from_the_client_is_echoed_and_logged(client, logs):
    response = client.get("/api/test/no-such-thing", headers={"X-Request-ID": "gw-1234.abc:5"})

    assert response.headers["X-Request-ID"] == "gw-1234.abc:5"
    assert response.json["request_id"] == "gw-1234.abc:5"
    [line] = logs.find("request", request_id="gw-1234.abc:5")
    assert line["method"] == "GET"
    assert line["path"] == "/api/test/no-such-thing"
    assert line["status"] == 404
    assert line["remote_addr"] == "127.0.0.1"
    assert line["service"] == "test"
    assert line["duration_ms"] >= 0


def test_a_request_without_an_id_gets_a_generated_one(client, logs):
    response = client.get("/api/test/no-such-thing")

    request_id = response.headers["X-Request-ID"]
    assert GENERATED_ID.match(request_id)
    assert response.json["request_id"] == request_id
    assert logs.find("request", request_id=request_id)


@pytest.mark.parametrize("insane_id", ["x" * 300, "has spaces", "line\nbreak", "trailing\n", "quote\"and{brace}"],
                         ids=["too long", "spaces", "newline", "trailing newline", "punctuation"])
def test_an_insane_request_id_is_replaced_by_a_generated_one(client, logs, insane_id):
    # Sent through the WSGI environ: werkzeug's client would refuse to send some of these headers.
    response = client.get("/api/test/no-such-thing", environ_base={"HTTP_X_REQUEST_ID": insane_id})

    request_id = response.headers["X-Request-ID"]
    assert request_id != insane_id
    assert GENERATED_ID.match(request_id)
    assert response.json["request_id"] == request_id
    assert logs.find("request", request_id=request_id)


def test_every_response_carries_a_request_id_even_a_success(client):
    assert GENERATED_ID.match(client.get("/api/test/healthz").headers["X-Request-ID"])


# --- trusted proxy hops -------------------------------------------------------------

def test_behind_one_trusted_proxy_the_address_it_saw_is_recorded(app_with, logs):
    client = app_with(TRUSTED_PROXY_HOPS=1).test_client()

    response = client.get("/api/test/healthz", headers={"X-Forwarded-For": "203.0.113.9, 10.1.2.3"},
                          environ_base={"REMOTE_ADDR": "10.0.0.2"})

    [line] = logs.find("request", request_id=response.headers["X-Request-ID"])
    assert line["remote_addr"] == "10.1.2.3"


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(client, logs):
    response = client.get("/api/test/healthz", headers={"X-Forwarded-For": "203.0.113.9, 10.1.2.3"},
                          environ_base={"REMOTE_ADDR": "198.51.100.7"})

    [line] = logs.find("request", request_id=response.headers["X-Request-ID"])
    assert line["remote_addr"] == "198.51.100.7"


# --- OpenAPI ------------------------------------------------------------------------

def test_the_openapi_document_describes_the_routes_and_bearer_auth(client):
    response = client.get("/api/test/openapi.json")

    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert "/api/test/notes" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert spec["paths"]["/api/test/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/api/test/notes"]["post"]


def test_the_api_docs_are_served_as_html(client):
    response = client.get("/api/test/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "swagger" in response.get_data(as_text=True).lower()


# --- health and readiness -----------------------------------------------------------

def test_the_service_says_it_is_alive(client):
    response = client.get("/api/test/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "service": "test"}


def test_the_service_is_ready_when_its_database_and_broker_answer(client):
    response = client.get("/api/test/readyz")

    assert response.status_code == 200, response.json
    assert response.json == {"status": "ready", "service": "test", "database": "reachable", "broker": "reachable"}


def test_the_service_is_not_ready_when_its_database_is_unreachable(app_with):
    app = app_with(DATABASE_URL=CLOSED_DATABASE)

    response = app.test_client().get("/api/test/readyz")
    body = assert_problem(response, 503)

    assert body["detail"] == "database unreachable"
    assert response.headers["Retry-After"]
    assert "127.0.0.1:1" not in json.dumps(body)


def test_the_service_stays_ready_without_its_broker_and_says_so(app_with):
    """Events wait in the outbox meanwhile: a broker outage must not take every API out of service."""
    app = app_with(AMQP_URL=CLOSED_BROKER)

    response = app.test_client().get("/api/test/readyz")

    assert response.status_code == 200, response.json
    assert response.json["broker"] == "unreachable"
    assert response.json["database"] == "reachable"


def test_the_service_is_still_alive_when_its_dependencies_are_not(app_with):
    app = app_with(DATABASE_URL=CLOSED_DATABASE, AMQP_URL=CLOSED_BROKER)

    assert app.test_client().get("/api/test/healthz").status_code == 200
    body = assert_problem(app.test_client().get("/api/test/readyz"), 503)
    assert body["detail"] == "database unreachable"


# --- configuration ------------------------------------------------------------------

def test_settings_name_a_missing_required_variable():
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        demo_service.DemoSettings.load(environ={"AMQP_URL": CLOSED_BROKER})


def test_settings_refuse_a_number_that_does_not_parse():
    environ = {"DATABASE_URL": CLOSED_DATABASE, "AMQP_URL": CLOSED_BROKER, "TRUSTED_PROXY_HOPS": "two"}

    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS"):
        demo_service.DemoSettings.load(environ=environ)


def test_settings_read_the_environment_and_let_overrides_win():
    environ = {"DATABASE_URL": CLOSED_DATABASE, "AMQP_URL": CLOSED_BROKER, "TRUSTED_PROXY_HOPS": "2",
               "RETRY_DELAYS_MS": "5,50", "TESTING": "yes"}

    settings = demo_service.DemoSettings.load({"trusted_proxy_hops": "3"}, environ=environ)

    assert settings.trusted_proxy_hops == 3
    assert settings.retry_delays_ms == (5, 50)
    assert settings.testing is True
    assert settings.database_url == CLOSED_DATABASE


def test_a_body_over_the_size_limit_is_a_413_problem(app_with):
    client = app_with(MAX_BODY_BYTES=1024).test_client()

    response = client.post("/api/test/notes", data=b"x" * 2048, content_type="application/json")

    assert_problem(response, 413)
