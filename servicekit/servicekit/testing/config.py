"""Where the test infrastructure is: `make test` starts PostgreSQL and RabbitMQ and exports
BEYOU_TEST_PG_ADMIN_URL and BEYOU_TEST_AMQP_URL."""
from __future__ import annotations

import os

import pytest


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise pytest.UsageError(f"{name} is not set: run the tests with `make test`, which provides it")
    return value
