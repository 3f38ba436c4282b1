"""pytest fixtures every BeYou test suite reuses (loaded as a pytest plugin).

Real infrastructure only: `make test` starts PostgreSQL and RabbitMQ and exports
BEYOU_TEST_PG_ADMIN_URL and BEYOU_TEST_AMQP_URL. Each test session gets fresh
databases (dropped at the end) and its own bus namespace, so runs never see
each other's events.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pika
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url

from servicekit.events.envelope import Event
from servicekit.events.topology import Topology

SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise pytest.UsageError(f"{name} is not set: run the tests with `make test`, which provides it")
    return value


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02,
               message: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


# --- PostgreSQL ---------------------------------------------------------------------

class DatabaseFactory:
    """Creates throw-away databases on the test server and drops them at the end."""

    def __init__(self, admin_url: str) -> None:
        # psycopg2 explicitly: SQLAlchemy 2.1 maps a bare postgresql:// URL to psycopg 3.
        self.admin_url = make_url(admin_url).set(drivername="postgresql+psycopg2")
        self.engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        self.created: list[str] = []

    def create(self, label: str) -> str:
        """A new empty database; returns its SQLAlchemy URL (psycopg2 driver)."""
        name = f"t_{label}_{uuid.uuid4().hex[:10]}"
        with self.engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.admin_url.set(database=name).render_as_string(
            hide_password=False)

    def drop_all(self) -> None:
        with self.engine.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return _required_env("BEYOU_TEST_PG_ADMIN_URL")


@pytest.fixture(scope="session")
def databases(pg_admin_url: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(pg_admin_url)
    yield factory
    factory.drop_all()


# --- RabbitMQ -----------------------------------------------------------------------

@pytest.fixture(scope="session")
def amqp_url() -> str:
    return _required_env("BEYOU_TEST_AMQP_URL")


@pytest.fixture(scope="session")
def bus_namespace(amqp_url: str) -> Iterator[str]:
    """A bus namespace of this test session; its exchange and service queues are deleted at the end."""
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    yield namespace
    delete_namespace(amqp_url, namespace)


def delete_namespace(amqp_url: str, namespace: str, services=SERVICES + ("test",),
                     retry_delays_ms=(50, 100, 200, 1_000, 10_000, 60_000)) -> None:
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


# --- tokens -------------------------------------------------------------------------

class TokenIssuer:
    """Signs access tokens the way auth does and serves its JWKS over real HTTP."""

    issuer = "beyou-auth"
    audience = "beyou"

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.kid = self.rotate()
        self.jwks_requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/api/auth/.well-known/jwks.json"

    def rotate(self) -> str:
        """Add a new signing key (published in the JWKS) and sign with it from now on."""
        kid = uuid.uuid4().hex[:16]
        self.keys[kid] = Ed25519PrivateKey.generate()
        self.kid = kid
        return kid

    def jwks(self) -> dict:
        documents = []
        for kid, key in self.keys.items():
            document = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
            documents.append({**document, "kid": kid, "use": "sig", "alg": "EdDSA"})
        return {"keys": documents}

    def issue(self, user_id: uuid.UUID | None = None, *, session_id: uuid.UUID | None = None,
              roles: tuple[str, ...] = ("user",), verified: bool = False, expires_in: int = 900,
              key: Ed25519PrivateKey | None = None, kid: str | None = None, **claims: Any) -> str:
        now = dt.datetime.now(dt.UTC)
        payload = {
            "sub": str(user_id or uuid.uuid4()), "sid": str(session_id or uuid.uuid4()), "roles": list(roles),
            "verified": verified, "iss": self.issuer, "aud": self.audience, "iat": now,
            "nbf": now, "exp": now + dt.timedelta(seconds=expires_in), "jti": uuid.uuid4().hex,
        }
        payload.update(claims)
        kid = kid or self.kid
        return jwt.encode(payload, key or self.keys[kid], algorithm="EdDSA", headers={"kid": kid})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        issuer = self

        class JWKSHandler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                issuer.jwks_requests += 1
                body = json.dumps(issuer.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        return JWKSHandler


@pytest.fixture
def caller(token_issuer) -> tuple[uuid.UUID, dict[str, str]]:
    """(user id, headers) of a signed-in caller; a service that issues its own tokens overrides this."""
    user_id = uuid.uuid4()
    return user_id, {"Authorization": f"Bearer {token_issuer.issue(user_id)}"}


@pytest.fixture(scope="session")
def token_issuer() -> Iterator[TokenIssuer]:
    issuer = TokenIssuer()
    yield issuer
    issuer.close()


# --- service apps -------------------------------------------------------------------

@pytest.fixture(scope="session")
def service_settings(databases: DatabaseFactory, amqp_url: str, bus_namespace: str,
                     token_issuer: TokenIssuer) -> Callable[..., dict[str, Any]]:
    """Settings overrides for a service under test: a fresh database, this session's bus namespace."""
    def make(label: str, **overrides: Any) -> dict[str, Any]:
        return {
            "DATABASE_URL": databases.create(label), "AMQP_URL": amqp_url, "BUS_NAMESPACE": bus_namespace,
            "JWKS_URL": token_issuer.jwks_url, "TRUSTED_PROXY_HOPS": 0, "TESTING": True,
            "JWKS_REFETCH_SECONDS": 0, "RETRY_DELAYS_MS": (50, 100), "MAX_ATTEMPTS": 3,
            "RELAY_POLL_SECONDS": 0.2, **overrides,
        }
    return make


@pytest.fixture(scope="session")
def migrated_app(service_settings):
    """`migrated_app(create_app, **overrides)`: the service's app on a fresh, migrated database."""
    from servicekit import migrations

    def make(create_app, **overrides):
        label = create_app.__module__.split(".")[0]
        app = create_app(service_settings(label, **overrides))
        ctx = app.extensions["servicekit"]
        migrations.upgrade(ctx.package_dir, ctx.settings.database_url)
        return app
    return make


@pytest.fixture
def running_worker():
    """`running_worker(app, handlers)` starts the service worker in threads; stopped after the test."""
    from servicekit.worker import run_worker

    started: list[tuple[threading.Event, threading.Thread]] = []

    def start(app, handlers):
        stop = threading.Event()
        thread = threading.Thread(target=run_worker, args=(app, handlers, stop), daemon=True)
        thread.start()
        started.append((stop, thread))
        return stop

    yield start
    for stop, thread in started:
        stop.set()
        thread.join(timeout=15)
        assert not thread.is_alive(), "worker did not stop within 15 s of being asked to"


class ServiceContract:
    """What every service must do; each service's tests subclass it and provide `app` and `handlers` fixtures."""

    service: str

    def test_it_says_it_is_alive(self, app):
        response = app.test_client().get(f"/api/{self.service}/healthz")
        assert response.status_code == 200
        assert response.json == {"status": "ok", "service": self.service}

    def test_it_is_ready_when_its_database_and_broker_are_reachable(self, app):
        response = app.test_client().get(f"/api/{self.service}/readyz")
        assert response.status_code == 200, response.json
        assert response.json["status"] == "ready"

    def test_it_serves_its_openapi_document(self, app):
        response = app.test_client().get(f"/api/{self.service}/openapi.json")
        assert response.status_code == 200
        assert response.json["openapi"].startswith("3.")
        assert f"/api/{self.service}/readyz" in response.json["paths"]

    def test_an_unknown_path_is_a_problem_json_404(self, app):
        response = app.test_client().get(f"/api/{self.service}/no-such-thing")
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == 404

    def test_it_tells_a_signed_in_caller_who_they_are_and_refuses_others(self, app, caller):
        user_id, headers = caller
        client = app.test_client()
        response = client.get(f"/api/{self.service}/whoami", headers=headers)
        assert response.status_code == 200, response.json
        assert response.json["user_id"] == str(user_id)
        assert client.get(f"/api/{self.service}/whoami").status_code == 401

    def test_its_migrations_create_the_event_tables(self, app):
        ctx = app.extensions["servicekit"]
        tables = set(sa.inspect(ctx.db.engine).get_table_names())
        assert {"outbox", "inbox", "revoked_sessions", "alembic_version"} <= tables

    def test_its_worker_records_a_revoked_session_from_the_bus(self, app, handlers, running_worker):
        from servicekit.events import publish
        from servicekit.tokens import session_is_revoked

        ctx = app.extensions["servicekit"]
        running_worker(app, handlers)
        session_id = uuid.uuid4()
        with ctx.db.transaction() as session:  # stands in for auth: the event crosses the real bus
            publish(session, "auth.session.revoked",
                    {"session_id": session_id, "revoked_at": dt.datetime.now(dt.UTC)})

        def revoked():
            with ctx.db.session() as session:
                return session_is_revoked(session, session_id)
        wait_until(revoked, timeout=90, message="the revocation to reach the denylist")
