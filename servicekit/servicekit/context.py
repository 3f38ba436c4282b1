"""What a route may take from the app and the request, each through one accessor.

Domain code never reaches into Flask: a route (or a command) asks for what the
domain function needs here and passes it in as arguments.

    settings = service_settings()          # the service's Settings (its config.py class)
    cipher = service_resource("cipher")    # an object the service registered in create_app
    client = client_origin()               # who is calling, as the gateway forwarded it
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request

from servicekit.config import Settings

USER_AGENT_MAX = 512


@dataclass
class ServiceContext:
    """What servicekit keeps per app (under app.extensions["servicekit"]); reach it through the accessors."""

    settings: Settings
    db: Any            # servicekit.db.Database
    verifier: Any      # servicekit.tokens.TokenVerifier
    topology: Any      # servicekit.events.Topology
    package_dir: Path
    broker_probe: Any  # servicekit.health.BrokerProbe
    resources: dict[str, Any] = field(default_factory=dict)
    # The service's own states reported by /readyz (e.g. the ledger's integrity): (session) -> {name: state};
    # a state other than "ok" makes the answer "degraded" (still 200: the service keeps serving).
    readiness: Callable[[Any], dict[str, str]] | None = None


@dataclass(frozen=True)
class ClientOrigin:
    """The caller's address and user agent, as the trusted proxy (the gateway) forwarded them."""

    ip: str | None = None
    user_agent: str | None = None


def context_of(app: Flask) -> ServiceContext:
    """The servicekit context of `app` (commands, workers and tests that hold the app)."""
    return app.extensions["servicekit"]


def service_context() -> ServiceContext:
    return context_of(current_app)


def service_settings() -> Settings:
    """The current app's settings."""
    return service_context().settings


def service_resource(name: str) -> Any:
    """An object the service registered with `create_service_app(..., resources={name: ...})`."""
    return service_context().resources[name]


def client_origin() -> ClientOrigin:
    """Address and user agent of the caller (ProxyFix has applied TRUSTED_PROXY_HOPS to the address)."""
    user_agent = request.user_agent.string
    return ClientOrigin(ip=request.remote_addr, user_agent=user_agent[:USER_AGENT_MAX] if user_agent else None)
