import base64
import datetime as dt
import hashlib
import uuid

import pytest
import sqlalchemy as sa
from servicekit.events import Event

from ledger import leaves, log, merkle, notes, sequencer, tiles
from ledger.models import Block, Entry, Tile

API = "/api/ledger"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


@pytest.fixture
def one_leaf_blocks(signer):
    """Every leaf sealed in a block of its own: a checkpoint at every tree size."""
    return sequencer.Sequencing(signer=signer, block_max_leaves=1, block_max_age=dt.timedelta(0), difficulty=0)


def _verifier(client) -> notes.NoteVerifier:
    return notes.NoteVerifier.from_vkey(client.get(f"{API}/verifier-key").get_json()["vkey"])


def test_an_empty_log_has_no_checkpoint_yet(client, empty_log):
    response = client.get(f"{API}/checkpoint")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


def test_the_checkpoint_is_a_signed_note_the_published_key_verifies(client, log_messages, session):
    log_messages(5)
    checkpoint = client.get(f"{API}/checkpoint").get_json()
    body = _verifier(client).open(checkpoint["note"])
    parsed = notes.parse_checkpoint(body)
    assert (parsed.origin, parsed.size, b64(parsed.root)) == (checkpoint["origin"], 5, checkpoint["root_hash"])
    assert checkpoint["tree_size"] == 5 and checkpoint["integrity"] == "ok"
    hashes = session.scalars(sa.select(Entry.leaf_hash).order_by(Entry.leaf_index)).all()
    assert unb64(checkpoint["root_hash"]) == merkle.MemoryTree(hashes).root()
    text = client.get(f"{API}/log/checkpoint")
    assert text.content_type.startswith("text/plain") and text.get_data(as_text=True) == checkpoint["note"]


def test_the_verifier_key_is_in_the_standard_form(client, signer):
    vkey = client.get(f"{API}/verifier-key").get_json()["vkey"]
    name, key_id, key = vkey.split("+", 2)
    raw = base64.b64decode(key)
    assert name == signer.name and raw[0] == 1 and len(raw) == 33
    assert bytes.fromhex(key_id) == hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]


def test_a_message_entry_gives_its_leaf_and_block_and_then_its_removal(client, log_messages, deliver):
    [event] = log_messages(1)
    message_id = event.payload["message_id"]
    entry = client.get(f"{API}/entries/{message_id}").get_json()
    assert (entry["leaf_index"], entry["block_height"], entry["removed"]) == (0, 0, False)
    assert unb64(entry["leaf_hash"]) == merkle.leaf_hash(unb64(entry["leaf"]))
    assert str(leaves.decode_leaf(unb64(entry["leaf"])).message_id) == message_id
    deliver(Event.new("messaging.message.removed", {
        "message_id": message_id, "conversation_id": event.payload["conversation_id"],
        "sender_id": event.payload["sender_id"], "reason": "moderation",
        "removed_at": dt.datetime.now(dt.UTC).isoformat()}))
    after = client.get(f"{API}/entries/{message_id}").get_json()
    assert after["removed"] is True and after["leaf"] == entry["leaf"]   # the log keeps it
    assert client.get(f"{API}/entries/{uuid.uuid4()}").status_code == 404


def test_inclusion_proofs_verify_for_every_leaf_of_every_tree_size_up_to_300(
        client, database, deliver, sequence, message_event, one_leaf_blocks, empty_log):
    deliver(*[message_event() for _ in range(300)])
    sequence(one_leaf_blocks)
    with database.session() as session:
        roots = dict(session.execute(sa.select(Block.tree_size, Block.root)).all())
        hashes = session.scalars(sa.select(Entry.leaf_hash).order_by(Entry.leaf_index)).all()
        stored = {(level, index): content for level, index, content in session.execute(
            sa.select(Tile.level, Tile.idx, Tile.hashes))}
        assert sorted(roots) == list(range(1, 301))
        # Every proof from the stored tiles (the reader the API uses, over a snapshot of the table) ...
        snapshot = tiles.TileHashReader(lambda keys: {key: stored[key] for key in keys if key in stored})
        for size in range(1, 301):
            for index in range(size):
                merkle.verify_inclusion(index, size, hashes[index], merkle.inclusion_proof(index, size, snapshot),
                                        roots[size])
        # ... and every leaf of a sample of sizes as served, read from the database.
        for size in (1, 2, 3, 5, 8, 13, 64, 100, 129, 255, 256, 257, 300):
            for index in range(size):
                proof = log.inclusion(session, "origin", leaf_index=index, tree_size=size)
                merkle.verify_inclusion(index, size, hashes[index], proof["audit_path"], roots[size])
    served = client.get(f"{API}/proofs/inclusion?leaf_index=41&tree_size=100").get_json()
    merkle.verify_inclusion(41, 100, unb64(served["leaf_hash"]), [unb64(h) for h in served["audit_path"]],
                            unb64(served["checkpoint"]["root_hash"]))
    assert served["checkpoint"]["tree_size"] == 100


def test_inclusion_proofs_verify_in_a_large_tree(database, deliver, sequence, message_event, sequencing, empty_log):
    deliver(*[message_event() for _ in range(66_000)])
    large = sequencer.Sequencing(signer=sequencing.signer, block_max_leaves=20_000, block_max_age=dt.timedelta(0),
                                 batch=20_000, difficulty=0)
    while sequence(large).integrated:
        pass
    with database.session() as session:
        roots = dict(session.execute(sa.select(Block.tree_size, Block.root)).all())
        hashes = session.scalars(sa.select(Entry.leaf_hash).order_by(Entry.leaf_index)).all()
        assert sorted(roots) == [20_000, 40_000, 60_000, 66_000]
        assert roots[66_000] == merkle.MemoryTree(hashes).root()
        for size in roots:
            for index in {0, 1, 255, 256, 65_535, 65_536, size // 3, size - 2, size - 1} & set(range(size)):
                proof = log.inclusion(session, "origin", leaf_index=index, tree_size=size)
                merkle.verify_inclusion(index, size, hashes[index], proof["audit_path"], roots[size])


def test_inclusion_by_message_id_proves_against_the_latest_checkpoint(client, log_messages):
    events = log_messages(37)
    served = client.get(f"{API}/proofs/inclusion", query_string={"message_id": events[20].payload["message_id"]})
    proof = served.get_json()
    assert proof["leaf_index"] == 20 and proof["tree_size"] == 37
    _verifier(client).open(proof["checkpoint"]["note"])
    merkle.verify_inclusion(20, 37, unb64(proof["leaf_hash"]), [unb64(h) for h in proof["audit_path"]],
                            unb64(proof["checkpoint"]["root_hash"]))


@pytest.mark.parametrize("query, status", [
    ({}, 422), ({"leaf_index": 1, "message_id": str(uuid.uuid4())}, 422), ({"leaf_index": -1}, 422),
    ({"leaf_index": 2, "tree_size": 3}, 422), ({"leaf_index": 5, "tree_size": 5}, 422),
    ({"leaf_index": 99}, 404), ({"message_id": str(uuid.uuid4())}, 404), ({"fingerprint": "ab"}, 422),
    ({"leaf_index": "x"}, 422), ({"leaf_index": 2**70}, 422)])
def test_bad_inclusion_queries_are_clear_problems(client, log_messages, query, status):
    log_messages(8)            # one block of 8: 3 is not a checkpointed size
    response = client.get(f"{API}/proofs/inclusion", query_string=query)
    assert response.status_code == status and response.content_type == "application/problem+json"


def test_consistency_proofs_verify_between_checkpointed_sizes(client, database, deliver, sequence, message_event,
                                                              one_leaf_blocks, empty_log):
    deliver(*[message_event() for _ in range(130)])
    sequence(one_leaf_blocks)
    sizes = [1, 2, 3, 7, 8, 9, 16, 31, 64, 65, 100, 127, 128, 129, 130]
    roots = {size: unb64(client.get(f"{API}/blocks/{size - 1}").get_json()["root_hash"]) for size in sizes}
    for first in sizes:
        for second in sizes:
            response = client.get(f"{API}/proofs/consistency", query_string={"first": first, "second": second})
            if first > second:
                assert response.status_code == 422
                continue
            proof = [unb64(h) for h in response.get_json()["proof"]]
            merkle.verify_consistency(first, second, roots[first], roots[second], proof)
    assert client.get(f"{API}/proofs/consistency?first=5&second=5").get_json()["proof"] == []
    assert client.get(f"{API}/proofs/consistency?first=0&second=5").get_json()["proof"] == []
    assert client.get(f"{API}/proofs/consistency?first=5&second=131").status_code == 422


def test_tiles_served_give_the_checkpoint_root_and_the_entries(client, database, deliver, sequence, message_event,
                                                               sequencing, empty_log):
    """What a C2SP tlog-tiles client does, from the served bytes alone."""
    deliver(*[message_event() for _ in range(700)])
    big_blocks = sequencer.Sequencing(signer=sequencing.signer, block_max_leaves=1000,
                                      block_max_age=dt.timedelta(0), difficulty=0)
    sequence(big_blocks)
    checkpoint = client.get(f"{API}/checkpoint").get_json()
    size = checkpoint["tree_size"]
    assert size == 700
    leaf_hashes, leaf_bytes = b"", []
    for index in range(3):   # 256 + 256 + 188
        width = min(256, size - 256 * index)
        tile = client.get(f"{API}/log/{tiles.tile_path(0, index, width)}")
        assert tile.status_code == 200 and tile.headers["Cache-Control"].endswith("immutable")
        leaf_hashes += tile.data
        bundle = client.get(f"{API}/log/{tiles.entries_path(index, width)}").data
        while bundle:
            length = int.from_bytes(bundle[:2], "big")
            leaf_bytes.append(bundle[2:2 + length])
            bundle = bundle[2 + length:]
    hashes = [leaf_hashes[i:i + 32] for i in range(0, len(leaf_hashes), 32)]
    assert hashes == [merkle.leaf_hash(leaf) for leaf in leaf_bytes]
    assert merkle.MemoryTree(hashes).root() == unb64(checkpoint["root_hash"])
    level1 = client.get(f"{API}/log/{tiles.tile_path(1, 0, 2)}").data
    assert level1 == merkle.MemoryTree(hashes).read_hashes([(8, 0), (8, 1)])[0] + \
        merkle.MemoryTree(hashes).read_hashes([(8, 1)])[0]
    assert client.get(f"{API}/log/tile/0/002.p/189").status_code == 404       # beyond the checkpoint
    assert client.get(f"{API}/log/tile/0/002").status_code == 404             # not full yet
    assert client.get(f"{API}/log/tile/0/2").status_code == 404               # not a tile path
    assert client.get(f"{API}/log/tile/0/x000/002").status_code == 404


def test_blocks_are_listed_newest_first_and_served_one_by_one(client, log_messages):
    log_messages(250)
    page = client.get(f"{API}/blocks?limit=2").get_json()
    assert [block["height"] for block in page["items"]] == [2, 1]
    rest = client.get(f"{API}/blocks", query_string={"limit": 2, "cursor": page["next_cursor"]}).get_json()
    assert [block["height"] for block in rest["items"]] == [0] and rest["next_cursor"] is None
    block = client.get(f"{API}/blocks/1").get_json()
    assert (block["first_leaf_index"], block["leaf_count"], block["tree_size"]) == (100, 100, 200)
    assert block["previous_hash"] == client.get(f"{API}/blocks/0").get_json()["hash"]
    assert client.get(f"{API}/blocks/3").status_code == 404
    assert client.get(f"{API}/blocks/{2**64}").status_code == 404


def test_staff_see_per_conversation_statistics(client, log_messages, staff_caller, caller):
    conversation = str(uuid.uuid4())
    log_messages(150, conversation_id=conversation)     # blocks 0 (100) and 1 (50)
    _user, headers = caller
    assert client.get(f"{API}/admin/stats", headers=headers).status_code == 403
    _staff, staff_headers = staff_caller
    [stats] = client.get(f"{API}/admin/stats", headers=staff_headers).get_json()["items"]
    assert stats == {"conversation_id": conversation, "message_count": 150, "block_count": 2, "first_block": 0,
                     "last_block": 1}
