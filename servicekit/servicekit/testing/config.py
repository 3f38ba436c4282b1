"""Where the test infrastructure is: `make test` starts PostgreSQL and RabbitMQ and exports
BEYOU_TEST_PG_ADMIN_URL and BEYOU_TEST_AMQP_URL; the native stack (`make dev`) serves its gateway
at BEYOU_GATEWAY_URL (else on 127.0.0.1:BEYOU_HTTP_PORT) and runs each service with .dev/env/<service>.env."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise pytest.UsageError(f"{name} is not set: run the tests with `make test`, which provides it")
    return value


def gateway_url() -> str:
    port = os.environ.get("BEYOU_HTTP_PORT", "8080")
    return os.environ.get("BEYOU_GATEWAY_URL", f"http://127.0.0.1:{port}").rstrip("/")


def stack_env(checkout: Path, service: str) -> dict[str, str]:
    """The environment the native stack runs `service` with: this process's, and its env file over it."""
    path = checkout / ".dev" / "env" / f"{service}.env"
    lines = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {**os.environ, **{key: value for key, value in lines}}
