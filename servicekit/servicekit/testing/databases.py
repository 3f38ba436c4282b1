"""Fresh PostgreSQL databases per test session, a service's app on one, and its settings,
database and session for calling the domain directly (no app context needed)."""
from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from servicekit.config import Settings
from servicekit.context import context_of
from servicekit.db import Database
from servicekit.testing.config import required_env


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
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.engine.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return required_env("BEYOU_TEST_PG_ADMIN_URL")


@pytest.fixture(scope="session")
def databases(pg_admin_url: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(pg_admin_url)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def settings_overrides(databases: DatabaseFactory, amqp_url: str, bus_namespace: str,
                       token_issuer) -> Callable[..., dict[str, Any]]:
    """`settings_overrides(label, **overrides)`: settings for a service under test — a fresh database,
    this session's bus namespace, the test token issuer's JWKS."""
    def make(label: str, **overrides: Any) -> dict[str, Any]:
        return {
            "DATABASE_URL": databases.create(label), "AMQP_URL": amqp_url, "BUS_NAMESPACE": bus_namespace,
            "JWKS_URL": token_issuer.jwks_url, "TRUSTED_PROXY_HOPS": 0, "TESTING": True,
            "JWKS_REFETCH_SECONDS": 0, "RETRY_DELAYS_MS": (50, 100), "MAX_ATTEMPTS": 3,
            "RELAY_POLL_SECONDS": 0.2,
            # Not the file a native `make dev` worker of the same service writes.
            "WORKER_HEARTBEAT_FILE": f"{tempfile.gettempdir()}/beyou-{label}-{uuid.uuid4().hex[:8]}.heartbeat",
            **overrides,
        }
    return make


@pytest.fixture(scope="session")
def migrated_app(settings_overrides, bus_consumers):
    """`migrated_app(create_app, **overrides)`: the service's app on a fresh, migrated database."""
    from servicekit import migrations

    def make(create_app, **overrides):
        label = create_app.__module__.split(".")[0]
        app = create_app(settings_overrides(label, **overrides))
        context = context_of(app)
        migrations.upgrade(context.package_dir, context.settings)
        bus_consumers.add(context.settings.service)
        return app
    return make


@pytest.fixture
def settings(app) -> Settings:
    """The settings of the service under test (its `app` fixture)."""
    return context_of(app).settings


@pytest.fixture
def database(app) -> Database:
    """The database of the service under test: `database.transaction()` commits, `database.session()` does not."""
    return context_of(app).db


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A session on the service's database, for arranging and looking (closed, uncommitted work rolled back)."""
    with database.session() as session:
        yield session
