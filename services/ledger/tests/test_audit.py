import time

import pytest
import sqlalchemy as sa
from servicekit.tables import outbox

from ledger import audit
from ledger.models import AuditState

API = "/api/ledger"

# Each changes one stored record of a log of 250 leaves in blocks of 100 (blocks 0, 1, 2).
TAMPERINGS = {
    "a leaf's bytes": ("UPDATE entries SET leaf = leaf || '\\x00'::bytea WHERE leaf_index = 141", "leaf", 141, None),
    "a leaf and its hash, consistently": (
        "UPDATE entries SET leaf = leaf || '\\x00'::bytea, leaf_hash = sha256('\\x00'::bytea || leaf || '\\x00'::bytea) "
        "WHERE leaf_index = 141", "tile", 141, None),
    "a hash in a tile": ("UPDATE tiles SET hashes = overlay(hashes placing '\\xff'::bytea from 17 * 32 + 1) "
                         "WHERE level = 0 AND idx = 0", "tile", 17, None),
    "a block's root": ("UPDATE blocks SET root = sha256(root) WHERE height = 1", "block", None, 1),
    "a block's nonce": ("UPDATE blocks SET nonce = nonce + 1 WHERE height = 1", "block", None, 1),
    "a block's timestamp": ("UPDATE blocks SET timestamp = timestamp + interval '1 second' WHERE height = 2",
                            "block", None, 2),
    "a block's link": ("UPDATE blocks SET previous_hash = sha256(previous_hash) WHERE height = 2", "block", None, 2),
    "a block's signature": ("UPDATE blocks SET signature = overlay(signature placing '\\x00'::bytea from 1) "
                            "WHERE height = 0", "block", None, 0),
    "a checkpoint note": ("UPDATE blocks SET checkpoint = replace(checkpoint, E'\\n200\\n', E'\\n201\\n') "
                          "WHERE height = 1", "block", None, 1),
    "a deleted leaf": ("DELETE FROM entries WHERE leaf_index = 99", "leaf", 99, None),
}


@pytest.fixture
def verifier(app):
    from servicekit.context import context_of
    return context_of(app).resources["verifier"]


@pytest.fixture
def run_audit(database, verifier):
    def run(full=False):
        with database.transaction() as session:
            return audit.run_audit(session, verifier, "test.beyou.example/ledger", full=full)
    return run


def test_a_clean_log_passes_and_a_later_audit_reads_only_what_is_new(run_audit, log_messages):
    log_messages(250)
    first = run_audit()
    assert (first.status, first.finding, first.leaves_checked, first.blocks_checked) == ("ok", None, 250, 3)
    log_messages(30)
    again = run_audit()
    assert (again.leaves_checked, again.blocks_checked, again.tree_size) == (30, 1, 280)
    full = run_audit(full=True)
    assert (full.status, full.leaves_checked, full.blocks_checked) == ("ok", 280, 4)


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_the_audit_names_the_first_tampered_record_and_announces_it(database, session, run_audit, log_messages,
                                                                    tampering, client):
    statement, what, leaf_index, height = TAMPERINGS[tampering]
    log_messages(250)
    with database.transaction() as other:
        other.execute(sa.text(statement))
    report = run_audit(full=True)
    assert report.status == "failed"
    assert (report.finding.what, report.finding.leaf_index, report.finding.block_height) == (what, leaf_index, height)
    [announced] = session.scalars(sa.select(outbox.c.envelope).where(
        outbox.c.event_type == "ledger.integrity.failed")).all()
    assert announced["payload"]["what"] == what and announced["payload"]["detail"] == report.finding.detail
    ready = client.get(f"{API}/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "degraded"
    assert ready.get_json()["checks"] == {"integrity": "failed"}
    assert client.get(f"{API}/checkpoint").get_json()["integrity"] == "failed"   # still serving, flagged


def test_a_failure_is_announced_once_and_stays_until_a_full_audit_is_clean(database, session, run_audit,
                                                                          log_messages):
    log_messages(150)
    with database.transaction() as other:
        other.execute(sa.text(TAMPERINGS["a leaf's bytes"][0]))
    assert run_audit(full=True).status == "failed"
    assert run_audit().status == "failed"          # the incremental audit stops at the same record
    assert session.scalar(sa.select(sa.func.count()).select_from(outbox).where(
        outbox.c.event_type == "ledger.integrity.failed")) == 1
    with database.transaction() as other:          # put it back as it was
        other.execute(sa.text("UPDATE entries SET leaf = substring(leaf from 1 for length(leaf) - 1) "
                              "WHERE leaf_index = 141"))
    assert run_audit(full=True).status == "ok"


def test_staff_run_the_audit(client, log_messages, staff_caller, caller):
    log_messages(120)
    _user, headers = caller
    assert client.post(f"{API}/admin/audit", headers=headers).status_code == 403
    _staff, staff_headers = staff_caller
    report = client.post(f"{API}/admin/audit?mode=full", headers=staff_headers).get_json()
    assert (report["mode"], report["status"], report["leaves_checked"], report["blocks_checked"]) == \
        ("full", "ok", 120, 2)
    assert client.post(f"{API}/admin/audit?mode=sideways", headers=staff_headers).status_code == 422


def test_staff_asking_while_another_audit_runs_are_told_at_once_not_queued(client, database, log_messages,
                                                                           staff_caller):
    log_messages(10)
    _staff, staff_headers = staff_caller
    with database.transaction() as running:                 # the worker's scheduled audit, say, holds the state
        running.get(AuditState, 1, with_for_update=True)
        started = time.monotonic()
        refused = client.post(f"{API}/admin/audit", headers=staff_headers)
        waited = time.monotonic() - started
    assert refused.status_code == 409 and refused.get_json()["type"] == "urn:beyou:problem:audit-running"
    assert waited < 5
    assert client.post(f"{API}/admin/audit", headers=staff_headers).get_json()["status"] == "ok"


def test_an_audit_with_little_time_stops_at_a_block_and_the_next_continues(database, verifier, log_messages):
    log_messages(450)                                  # 5 blocks
    with database.transaction() as session:
        first = audit.run_audit(session, verifier, "test.beyou.example/ledger", full=True, seconds=0)
    assert (first.complete, first.blocks_checked, first.status) == (False, 1, "ok")
    with database.transaction() as session:
        rest = audit.run_audit(session, verifier, "test.beyou.example/ledger")
    assert (rest.complete, rest.blocks_checked, rest.tree_size) == (True, 4, 450)
