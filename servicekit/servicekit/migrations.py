"""Alembic wiring shared by every service: env.py body, the `migrate` command, table helpers.

Each service keeps its own migration history in `services/<name>/migrations/`;
`alembic.ini` sits next to it. `flask --app <name> migrate` upgrades to head while
holding a PostgreSQL advisory lock, so several containers may run it at once.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.dialects.postgresql import JSONB, UUID

from servicekit.config import Settings
from servicekit.tables import OUTBOX_NOTIFY_DDL, REVOCATION_NOTIFY_DDL
from servicekit.tables import metadata as servicekit_metadata


def alembic_config(package_dir: Path, settings: Settings) -> Config:
    """The service's Alembic config: ALEMBIC_CONFIG, else alembic.ini beside the package."""
    path = Path(settings.alembic_config or package_dir.parent / "alembic.ini")
    if not path.is_file():
        raise FileNotFoundError(f"alembic.ini not found at {path}; set ALEMBIC_CONFIG")
    cfg = Config(str(path))
    cfg.attributes["database_url"] = settings.database_url
    return cfg


def upgrade(package_dir: Path, settings: Settings, revision: str = "heads") -> None:
    """Upgrade the service database to `revision` under an advisory lock."""
    cfg = alembic_config(package_dir, settings)
    lock_key = zlib.crc32(b"beyou.migrate." + package_dir.name.encode())
    engine = sa.create_engine(settings.database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_lock(lock_key)))
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                conn.commit()
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(lock_key)))
                conn.commit()
    finally:
        engine.dispose()


def run_env(target_metadata: sa.MetaData, settings_class: type[Settings]) -> None:
    """The body of every service's migrations/env.py (online mode only).

    `migrate` hands over its connection; the `alembic` command line (e.g. autogenerate)
    connects with the service's settings, read from the environment by its config class.
    """
    config = context.config
    targets = [target_metadata, servicekit_metadata]
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=targets, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.attributes.get("database_url") or settings_class.load().database_url
    engine = sa.create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=targets, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


def create_servicekit_tables_v1() -> None:
    """Create outbox, inbox and revoked_sessions as of servicekit 0.1 (called from a service migration)."""
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["seq"], postgresql_where=sa.text("published_at IS NULL"))
    for statement in OUTBOX_NOTIFY_DDL:
        op.execute(statement)
    op.create_table(
        "inbox",
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("consumer", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("event_id", "consumer", name="pk_inbox"),
    )
    op.create_table(
        "revoked_sessions",
        sa.Column("session_id", UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_revoked_sessions"),
    )


def drop_servicekit_tables_v1() -> None:
    for name in ("revoked_sessions", "inbox", "outbox"):
        op.drop_table(name)
    op.execute("DROP FUNCTION servicekit_outbox_notify()")


def create_revocation_notify_v2() -> None:
    """servicekit 0.2: a NOTIFY on every revoked_sessions insert, which keeps each API process's
    in-memory denylist current (called from a service migration)."""
    for statement in REVOCATION_NOTIFY_DDL:
        op.execute(statement)


def drop_revocation_notify_v2() -> None:
    op.execute("DROP TRIGGER revoked_sessions_notify ON revoked_sessions")
    op.execute("DROP FUNCTION servicekit_revoked_session_notify()")
