import base64
import datetime as dt
import os
import uuid

import pytest
import sqlalchemy as sa
from servicekit.context import context_of
from servicekit.events import Event

from ledger import create_app
from ledger.events import handlers as ledger_handlers
from ledger.sequencer import Sequencing, run_sequencer

API = "/api/ledger"
TEST_SEED = base64.b64encode(os.urandom(32)).decode()
ORIGIN = "test.beyou.example/ledger"
LOG_TABLES = ("pending_entries", "entries", "tiles", "blocks", "removed_messages", "conversation_stats", "outbox",
              "inbox")


@pytest.fixture(scope="session")
def app(migrated_app):
    return migrated_app(create_app, SIGNING_KEY=TEST_SEED, LOG_ORIGIN=ORIGIN, BLOCK_DIFFICULTY=4)


@pytest.fixture
def handlers():
    return ledger_handlers


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def empty_log(app, database):
    """The log as a fresh deployment has it: no entries, tiles or blocks, the audit's state at its start."""
    with database.transaction() as session:
        session.execute(sa.text(f"TRUNCATE {', '.join(LOG_TABLES)}"))
        session.execute(sa.text("UPDATE log_state SET tree_size = 0, sealed_size = 0, height = 0"))
        session.execute(sa.text("UPDATE audit_state SET audited_size = 0, audited_height = 0, last_block_hash = NULL, "
                                "edge = '{}', status = 'ok', failure = NULL, checked_at = NULL"))
    context_of(app).resources["tiles"].clear()


@pytest.fixture
def signer(app):
    return context_of(app).resources["signer"]


@pytest.fixture
def sequencing(signer):
    """Blocks of at most 100 leaves, sealed as soon as a run sees them (no age to wait for)."""
    return Sequencing(signer=signer, block_max_leaves=100, block_max_age=dt.timedelta(0), batch=10_000, difficulty=4)


def new_message_event(**overrides) -> Event:
    payload = {"message_id": str(uuid.uuid4()), "conversation_id": str(uuid.uuid4()), "sender_id": str(uuid.uuid4()),
               "recipient_ids": [str(uuid.uuid4())], "conversation_type": "direct", "kind": "standard",
               "content_sha256": os.urandom(32).hex(), "signature_fingerprint": None,
               "created_at": dt.datetime.now(dt.UTC).isoformat(), **overrides}
    return Event.new("messaging.message.created", payload)


@pytest.fixture
def message_event():
    """`message_event(**payload)`: a messaging.message.created event (a new message unless told otherwise)."""
    return new_message_event


@pytest.fixture
def deliver(database):
    """`deliver(*events)`: hand events to the ledger's handlers in one transaction, as its consumer does."""
    def deliver(*events: Event) -> None:
        with database.transaction() as session:
            for event in events:
                ledger_handlers.get(event.type)(session, event)
    return deliver


@pytest.fixture
def sequence(database):
    """`sequence(sequencing)`: one sequencer run, committed."""
    def sequence(sequencing, *, cache=None):
        with database.transaction() as session:
            return run_sequencer(session, sequencing, cache=cache)
    return sequence


@pytest.fixture
def log_messages(deliver, sequence, sequencing, empty_log):
    """`log_messages(n, **payload)`: n messages delivered and sequenced; returns their events."""
    def append(count: int, **overrides) -> list[Event]:
        events = [new_message_event(**overrides) for _ in range(count)]
        deliver(*events)
        sequence(sequencing)
        return events
    return append
