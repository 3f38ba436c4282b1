"""The app factory every service uses: `create_service_app(settings, package_dir, blueprints)`.

It wires, in one place: JSON logs and request ids, ProxyFix for the configured
number of trusted proxy hops, the database, token verification, flask-smorest
with the OpenAPI document at /api/<service>/openapi.json and docs at
/api/<service>/docs (every blueprint mounted at /api/<service>), the AsyncAPI
document of its events at /api/<service>/asyncapi.json, health and readiness, the problem+json error funnel, input guards, request metrics (servicekit.metrics,
served apart from the app, never through the gateway), and the CLI commands
(`migrate`, `dead-letters`).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix

from servicekit import commands, tokens
from servicekit.api import NUL, Api, Blueprint
from servicekit.config import Settings
from servicekit.context import ServiceContext
from servicekit.db import Database, close_request_session
from servicekit.events.asyncapi import asyncapi_blueprint
from servicekit.events.contracts import EventContracts
from servicekit.events.topology import Topology
from servicekit.health import BrokerProbe, health_blueprint
from servicekit.logs import accept_request_id, configure_logging, reset_request_id, set_request_id
from servicekit.metrics import install_http_metrics
from servicekit.problems import register_error_handlers
from servicekit.whoami import whoami_blueprint

request_log = logging.getLogger("servicekit.request")


def create_service_app(settings: Settings, package_dir: Path, blueprints: Iterable[Blueprint] = (),
                       *, version: str = "0.1.0", description: str = "",
                       resources: Mapping[str, Any] | None = None,
                       contracts: EventContracts | None = None,
                       make_verifier: Callable[[Settings, Database], tokens.TokenVerifier] = tokens.verifier_for,
                       readiness: Callable[[Any], dict[str, str]] | None = None,
                       ) -> Flask:
    """The service's Flask app.

    `blueprints` are mounted at /api/<service>. `resources` are the service's own objects that
    routes pass to the domain (a cipher, a store), reached with `service_resource(name)`.
    `contracts` are the service's event contracts (its events.py): the AsyncAPI document at
    /api/<service>/asyncapi.json is built from them.
    `make_verifier` builds the token verifier: by default keys come from JWKS_URL and
    revocations from the bus-fed denylist (auth, the issuer, passes its own).
    `readiness(session) -> {name: state}` adds the service's own states to /readyz (any state but
    "ok" reports it degraded, still serving).
    """
    service = settings.service
    configure_logging(service, settings.log_level)
    app = Flask(service)
    app.config.update(
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE=f"BeYou {service} API",
        API_VERSION=version,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=f"/api/{service}",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        API_SPEC_OPTIONS={"info": {"description": description or f"The BeYou {service} service."}},
    )
    if settings.trusted_proxy_hops > 0:
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=0)

    db = Database(settings.database_url)
    app.extensions["servicekit"] = ServiceContext(
        settings=settings, db=db, verifier=make_verifier(settings, db), topology=Topology(settings.bus_namespace),
        package_dir=package_dir, broker_probe=BrokerProbe(settings.amqp_url), resources=dict(resources or {}),
        readiness=readiness)

    api = Api(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for blueprint in (health_blueprint(), whoami_blueprint(), *blueprints):
        api.register_blueprint(blueprint, url_prefix=f"/api/{service}")
    app.register_blueprint(asyncapi_blueprint(contracts or EventContracts(service)), url_prefix=f"/api/{service}")
    register_error_handlers(app)
    install_http_metrics(app)
    _install_request_hooks(app)
    commands.register(app)
    return app


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def start_request():
        g.request_id = accept_request_id(request.headers.get("X-Request-ID"))
        g.request_id_token = set_request_id(g.request_id)
        g.started = time.perf_counter()
        if NUL in request.path:  # %00 in the path: no resource is named so, and none reaches the database
            raise BadRequest("The path contains a NUL character.")

    @app.after_request
    def finish_request(response):
        _drain_unread_body()
        response.headers["X-Request-ID"] = g.get("request_id", "")
        request_log.info("request", extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "remote_addr": request.remote_addr, "user_agent": request.user_agent.string,
            "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
        })
        return response

    @app.teardown_request
    def end_request(exc):
        close_request_session(exc)
        token = g.pop("request_id_token", None)
        if token is not None:
            reset_request_id(token)


def _drain_unread_body() -> None:
    """Read what the view left of the request body before answering.

    A server that answers early (401, 404, 413) and closes with body bytes unread
    makes the gateway, still sending them, fail with a broken pipe and answer 502.
    The raw input is read (bounded by Content-Length), so a body over the size
    limit is discarded rather than refused a second time.
    """
    raw = request.environ.get("wsgi.input")
    if raw is None or not request.content_length:
        return
    remaining = request.content_length
    try:
        while remaining > 0 and (chunk := raw.read(min(remaining, 64 * 1024))):
            remaining -= len(chunk)
    except (OSError, ValueError):  # the client went away
        pass
