import base64
import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from servicekit.context import context_of
from servicekit.tables import outbox

from ledger import blocks, leaves, merkle, notes, sequencer, tasks
from ledger.models import Block, Entry, LogState, PendingEntry


def _leaf_hashes(session) -> list[bytes]:
    return list(session.scalars(sa.select(Entry.leaf_hash).order_by(Entry.leaf_index)))


def test_messages_become_leaves_in_arrival_order_with_their_encoding(session, log_messages):
    events = log_messages(3)
    rows = session.execute(sa.select(Entry.leaf_index, Entry.leaf).order_by(Entry.leaf_index)).all()
    assert [row.leaf_index for row in rows] == [0, 1, 2]
    decoded = [leaves.decode_leaf(row.leaf) for row in rows]
    assert [str(leaf.message_id) for leaf in decoded] == [e.payload["message_id"] for e in events]
    assert decoded[0].content_sha256 == events[0].payload["content_sha256"]


def test_a_redelivered_message_adds_no_second_leaf(session, sequencing, log_messages, message_event, deliver,
                                                   sequence):
    [event] = log_messages(1)
    again = message_event(**event.payload)          # the same message announced again (another event id)
    deliver(again)
    sequence(sequencing)
    deliver(again, again)                 # and twice while the first is already logged
    sequence(sequencing)
    assert session.scalar(sa.select(sa.func.count()).select_from(Entry)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(PendingEntry)) == 0


def test_a_block_seals_the_leaves_with_a_mined_signed_header_and_checkpoint(session, signer, log_messages):
    log_messages(5)
    block = session.get(Block, 0)
    header = blocks.BlockHeader(height=0, previous_hash=blocks.GENESIS_PREVIOUS, first_leaf_index=0, leaf_count=5,
                                tree_size=5, root=block.root, timestamp=block.timestamp, difficulty=4,
                                nonce=block.nonce)
    assert header.hash() == block.hash and blocks.meets_difficulty(block.hash, 4)
    assert block.root == merkle.MemoryTree(_leaf_hashes(session)).root()
    verifier = notes.NoteVerifier.from_vkey(signer.vkey)
    assert verifier.verify_bytes(header.encode(), block.signature)
    checkpoint = notes.parse_checkpoint(verifier.open(block.checkpoint))
    assert (checkpoint.size, checkpoint.root) == (5, block.root)


def test_blocks_chain_and_hold_at_most_the_configured_count(session, log_messages):
    log_messages(250)                                # blocks of at most 100
    chain = session.scalars(sa.select(Block).order_by(Block.height)).all()
    assert [(b.first_leaf_index, b.leaf_count, b.tree_size) for b in chain] == [(0, 100, 100), (100, 100, 200),
                                                                               (200, 50, 250)]
    assert chain[1].previous_hash == chain[0].hash and chain[2].previous_hash == chain[1].hash


def test_leaves_wait_for_their_block_until_it_is_old_enough(database, session, signer, empty_log, deliver, sequence,
                                                             message_event):
    patient = sequencer.Sequencing(signer=signer, block_max_leaves=100, block_max_age=dt.timedelta(hours=1),
                                   difficulty=4)
    deliver(message_event(), message_event())
    run = sequence(patient)
    assert (run.integrated, run.sealed) == (2, [])
    assert session.scalar(sa.select(sa.func.count()).select_from(Block)) == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    with database.transaction() as other:
        assert sequencer.run_sequencer(other, patient, now=later).sealed == [0]


def test_a_crash_between_storing_leaves_and_signing_loses_and_doubles_nothing(session, sequencing, monkeypatch,
                                                                              empty_log, deliver, sequence,
                                                                              message_event):
    deliver(*[message_event() for _ in range(7)])
    monkeypatch.setattr(sequencing.signer, "sign_bytes", _crash)     # dies while signing the block
    with pytest.raises(RuntimeError):
        sequence(sequencing)
    assert session.scalar(sa.select(sa.func.count()).select_from(Entry)) == 0   # rolled back whole
    monkeypatch.undo()
    patient = sequencer.Sequencing(signer=sequencing.signer, block_max_leaves=100,
                                   block_max_age=dt.timedelta(hours=1), difficulty=4)
    sequence(patient)                      # leaves stored, no block yet: then the process "dies"
    deliver(message_event())
    sequence(sequencing)                   # the next run (any replica) seals everything
    session.expire_all()
    state = session.get(LogState, 1)
    assert (state.tree_size, state.sealed_size, state.height) == (8, 8, 1)
    assert [b.tree_size for b in session.scalars(sa.select(Block))] == [8]
    assert session.scalar(sa.select(sa.func.count(sa.distinct(Entry.source)))) == 8


def test_a_run_that_fails_forgets_the_tiles_it_read_before_its_commit(app, database, sequencing, monkeypatch,
                                                                      empty_log, deliver, message_event):
    context = context_of(app)
    monkeypatch.setattr(tasks, "sequencing_of", lambda _context: sequencing)
    deliver(*[message_event() for _ in range(300)])      # a full first tile, then the block's signature fails
    monkeypatch.setattr(sequencing.signer, "sign_bytes", _crash)

    with pytest.raises(RuntimeError):
        tasks.sequence(context)

    assert context.resources["tiles"].get((0, 0)) is None
    with database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Entry)) == 0


def _crash(*_args):
    raise RuntimeError("killed")


def test_two_sequencers_at_once_make_one_consistent_log(session, sequencing, empty_log, deliver, sequence,
                                                       message_event):
    deliver(*[message_event() for _ in range(300)])
    small = sequencer.Sequencing(signer=sequencing.signer, block_max_leaves=40, block_max_age=dt.timedelta(0),
                                 batch=25, difficulty=4)
    errors = []

    def work():
        try:
            for _ in range(30):
                sequence(small)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while sequence(small).integrated:      # whatever the two left
        pass
    assert errors == []
    hashes = _leaf_hashes(session)
    assert len(hashes) == 300
    assert session.scalars(sa.select(Entry.leaf_index).order_by(Entry.leaf_index)).all() == list(range(300))
    tree = merkle.MemoryTree(hashes)
    chain = session.scalars(sa.select(Block).order_by(Block.height)).all()
    assert chain[-1].tree_size == 300
    for previous, block in zip(chain, chain[1:]):
        assert block.previous_hash == previous.hash and block.first_leaf_index == previous.tree_size
    assert all(block.root == tree.root(block.tree_size) for block in chain)


def test_the_block_mined_event_names_the_block(session, log_messages):
    log_messages(3)
    [envelope] = session.scalars(sa.select(outbox.c.envelope).where(outbox.c.event_type == "ledger.block.mined")).all()
    payload = envelope["payload"]
    block = session.get(Block, 0)
    assert payload["height"] == 0 and payload["tree_size"] == 3
    assert base64.b64decode(payload["root_hash"]) == block.root and base64.b64decode(payload["hash"]) == block.hash
