"""/healthz (the process answers) and /readyz (the API can serve: its database answers).

The broker is not a readiness condition for an API: events wait in the outbox
while it is away, which is the point of the outbox. Were it one, a broker restart
would take every API out of service at once. Its state is reported in the body;
a worker's own health check (`python -m <service>.worker --check`) depends on it.
"""
from __future__ import annotations

import threading
import time

import pika
import sqlalchemy as sa
from flask.views import MethodView
from marshmallow import Schema, fields

from servicekit.api import RETRY_AFTER, Blueprint
from servicekit.context import service_context
from servicekit.outages import outages
from servicekit.problems import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, problem_response

REACHABLE, UNREACHABLE = "reachable", "unreachable"


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})
    service = fields.String()


class ReadinessSchema(Schema):
    status = fields.String(metadata={"example": "ready"})
    service = fields.String()
    database = fields.String(metadata={"description": "reachable (else the answer is a 503)"})
    broker = fields.String(metadata={"description": "reachable or unreachable; events wait in the outbox meanwhile"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "The service's own states (e.g. the ledger's integrity); any but `ok` makes the status "
                       "`degraded`: the service still serves"})


def health_blueprint() -> Blueprint:
    blp = Blueprint("health", __name__, description="Liveness and readiness")

    @blp.route("/healthz")
    class Health(MethodView):
        @blp.response(200, HealthSchema)
        def get(self):
            """The process is alive"""
            return {"status": "ok", "service": service_context().settings.service}

    @blp.route("/readyz")
    class Ready(MethodView):
        @blp.response(200, ReadinessSchema)
        @blp.alt_response(503, description="The database is unreachable", headers=RETRY_AFTER)
        def get(self):
            """Ready to serve: the database answers (the broker's state is reported, not required)"""
            context = service_context()
            if not _database_reachable(context.db):
                return problem_response(503, "Service Unavailable", "database unreachable", code="not-ready",
                                        headers={"Retry-After": RETRY_AFTER_SECONDS})
            checks = _service_checks(context)
            degraded = any(state != "ok" for state in checks.values())
            return {"status": "degraded" if degraded else "ready", "service": context.settings.service,
                    "database": REACHABLE, "broker": UNREACHABLE if context.broker_probe.problem() else REACHABLE,
                    **({"checks": checks} if checks else {})}

    return blp


def _service_checks(context) -> dict[str, str]:
    if context.readiness is None:
        return {}
    with context.db.session() as session:
        return context.readiness(session)


def _database_reachable(database) -> bool:
    try:
        with database.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except DATABASE_UNAVAILABLE as exc:
        outages.down("database", getattr(exc, "orig", None) or exc)
        return False
    outages.up("database")
    return True


class BrokerProbe:
    """Whether the broker accepts a connection, remembered for `ttl` seconds.

    Health checks arrive every few seconds from every orchestrator probe; opening
    an AMQP connection for each would load the broker for nothing.
    """

    def __init__(self, amqp_url: str, ttl: float = 5.0) -> None:
        self.amqp_url = amqp_url
        self.ttl = ttl
        self._checked_at = float("-inf")
        self._problem: str | None = None
        self._lock = threading.Lock()

    def problem(self) -> str | None:
        with self._lock:
            if time.monotonic() - self._checked_at >= self.ttl:
                self._problem = self._check()
                self._checked_at = time.monotonic()
            return self._problem

    def _check(self) -> str | None:
        params = pika.URLParameters(self.amqp_url)
        params.socket_timeout = 2
        params.connection_attempts = 1
        params.blocked_connection_timeout = 2
        try:
            pika.BlockingConnection(params).close()
        except Exception as exc:  # noqa: BLE001 - any failure means unreachable; the text says why
            outages.down("broker", exc)
            return "broker unreachable"
        outages.up("broker")
        return None
