"""Tables servicekit owns in every service's database.

Each service's first migration creates them with `migrations.create_servicekit_tables_v1()`,
its next one adds the revocation NOTIFY with `migrations.create_revocation_notify_v2()`; a change
to them ships as a new versioned helper plus a migration in every service.
"""
from __future__ import annotations

from sqlalchemy import (DDL, BigInteger, Column, DateTime, Identity, Index, Integer, MetaData, String, Table, Text,
                        event, func, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from servicekit.db import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Events waiting to be published, written in the same transaction as the state change.
outbox = Table(
    "outbox", metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("available_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
)
Index("ix_outbox_pending", outbox.c.seq, postgresql_where=outbox.c.published_at.is_(None))

# Wake the relays when outbox rows commit: a statement trigger, so publishing costs one
# round trip and nothing that inserts into the outbox can forget the NOTIFY.
OUTBOX_NOTIFY_CHANNEL = "servicekit_outbox"
OUTBOX_NOTIFY_DDL = (
    f"""CREATE FUNCTION servicekit_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('{OUTBOX_NOTIFY_CHANNEL}', ''); RETURN NULL; END $$""",
    """CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION servicekit_outbox_notify()""",
)
for statement in OUTBOX_NOTIFY_DDL:
    event.listen(outbox, "after_create", DDL(statement))

# Events already handled by a consumer: a redelivery finds its id here and has no second effect.
inbox = Table(
    "inbox", metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("consumer", String(200), primary_key=True),
    Column("event_type", String(200), nullable=False),
    Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Sessions revoked by auth (`auth.session.revoked`); their access tokens are refused until they expire.
revoked_sessions = Table(
    "revoked_sessions", metadata,
    Column("session_id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True)),
    Column("revoked_at", DateTime(timezone=True), nullable=False),
)

# Tell every API process of the service about a revocation the moment it commits: each keeps the
# revoked sessions in memory (servicekit.tokens.RevokedSessions) and LISTENs on this channel. A row
# trigger, so whoever inserts — the worker's consumer, or auth in the revoking transaction — cannot
# forget the NOTIFY; a row ON CONFLICT DO NOTHING skipped is not announced twice.
REVOCATION_NOTIFY_CHANNEL = "servicekit_revoked_sessions"
REVOCATION_NOTIFY_DDL = (
    f"""CREATE FUNCTION servicekit_revoked_session_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('{REVOCATION_NOTIFY_CHANNEL}', NEW.session_id::text); RETURN NULL; END $$""",
    """CREATE TRIGGER revoked_sessions_notify AFTER INSERT ON revoked_sessions
    FOR EACH ROW EXECUTE FUNCTION servicekit_revoked_session_notify()""",
)
for statement in REVOCATION_NOTIFY_DDL:
    event.listen(revoked_sessions, "after_create", DDL(statement))
