"""/healthz (the process answers) and /readyz (database and broker reachable)."""
from __future__ import annotations

import logging
import threading
import time

import pika
import sqlalchemy as sa
from flask import current_app, jsonify
from flask.views import MethodView

from servicekit.db import database
from servicekit.errors import problem_response

log = logging.getLogger(__name__)


def health_blueprint(service: str):
    from servicekit.app import Blueprint  # avoid an import cycle

    blp = Blueprint("health", __name__, url_prefix=f"/api/{service}", description="Liveness and readiness")

    @blp.route("/healthz")
    class Health(MethodView):
        def get(self):
            """The process is alive"""
            return jsonify(status="ok", service=service)

    @blp.route("/readyz")
    class Ready(MethodView):
        def get(self):
            """The database and the broker are reachable (503 with the reason otherwise)"""
            failures = [reason for reason in (_database_problem(), _broker_problem()) if reason]
            if failures:
                return problem_response(503, "Service Unavailable", "; ".join(failures), code="not-ready")
            return jsonify(status="ready", service=service)

    return blp


def _database_problem() -> str | None:
    try:
        with database().engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness: database unreachable", extra={"error": str(exc)})
        return "database unreachable"
    return None


def _broker_problem() -> str | None:
    return current_app.extensions["servicekit"].broker_probe.problem()


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
        except Exception as exc:
            log.warning("readiness: broker unreachable", extra={"error": str(exc)})
            return "broker unreachable"
        return None
