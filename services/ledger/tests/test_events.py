"""The ledger's consumers, through the real worker, broker and sequencer: every message and key once in the log."""
import base64
import datetime as dt
import hashlib
import uuid

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from servicekit.context import context_of
from servicekit.events import Event, record
from servicekit.tables import outbox
from servicekit.testing import wait_until

from ledger import leaves, merkle
from ledger.models import Entry
from ledger.tasks import tasks

API = "/api/ledger"
BUS_TIMEOUT = 30


@pytest.fixture
def worker(app, handlers, connected_worker, empty_log):
    """The ledger's worker (consumer, relay, sequencer, audit) on an empty queue, once connected."""
    connected_worker(app, handlers, tasks=tasks(context_of(app).settings))


def publish(database, event_type, payload) -> Event:
    """Put an event on the bus as its producer would (through an outbox the worker relays)."""
    event = Event.new(event_type, payload)
    with database.session() as session:
        record(session, event)
        session.commit()
    return event


def republish(database, event: Event) -> None:
    """The relay publishes the same event a second time (as after a lost publisher confirm)."""
    with database.session() as session:
        session.execute(outbox.update().where(outbox.c.event_id == event.id).values(published_at=None))
        session.commit()


def sealed(client, path) -> dict | None:
    response = client.get(f"{API}/{path}")
    body = response.get_json()
    return body if response.status_code == 200 and body["block_height"] is not None else None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def test_a_message_reaches_a_signed_checkpoint_once_even_when_redelivered(worker, database, client, session,
                                                                          message_event):
    created = message_event().payload
    event = publish(database, "messaging.message.created", created)
    entry = wait_until(lambda: sealed(client, f"entries/{created['message_id']}"), BUS_TIMEOUT,
                       message="the message to be sealed in a block")
    republish(database, event)                                         # the same event again
    publish(database, "messaging.message.created", created)            # the same message, another event
    marker = publish(database, "messaging.message.created", message_event().payload)
    wait_until(lambda: sealed(client, f"entries/{marker.payload['message_id']}"), BUS_TIMEOUT,
               message="a later message to be sealed")
    assert session.scalar(sa.select(sa.func.count()).select_from(Entry).where(
        Entry.message_id == uuid.UUID(created["message_id"]))) == 1
    proof = client.get(f"{API}/proofs/inclusion", query_string={"message_id": created["message_id"]}).get_json()
    merkle.verify_inclusion(entry["leaf_index"], proof["tree_size"], merkle.leaf_hash(
        base64.b64decode(entry["leaf"])), [base64.b64decode(h) for h in proof["audit_path"]],
        base64.b64decode(proof["checkpoint"]["root_hash"]))


def _key() -> tuple[str, str]:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return hashlib.sha256(der).hexdigest(), pem


def test_registered_and_revoked_keys_are_in_the_log_and_listed_for_their_owner(worker, database, client):
    user_id = str(uuid.uuid4())
    first, first_pem = _key()
    second, second_pem = _key()
    for fingerprint, pem in ((first, first_pem), (second, second_pem)):
        publish(database, "auth.key.registered", {"user_id": user_id, "fingerprint": fingerprint,
                                                  "purpose": "signing", "algorithm": "ed25519", "pem": pem,
                                                  "created_at": _now()})
    publish(database, "auth.key.revoked", {"user_id": user_id, "fingerprint": first, "purpose": "signing",
                                           "deactivated_at": _now()})
    entry = wait_until(lambda: (lambda e: e if e and e["revocation"] and e["revocation"]["block_height"] is not None
                                else None)(sealed(client, f"entries/keys/{first}")), BUS_TIMEOUT,
                       message="the key and its revocation to be sealed")
    leaf = leaves.decode_leaf(base64.b64decode(entry["leaf"]))
    assert (leaf.fingerprint, str(leaf.user_id), leaf.purpose) == (first, user_id, "signing")
    assert hashlib.sha256(leaf.der).hexdigest() == first
    wait_until(lambda: sealed(client, f"entries/keys/{second}"), BUS_TIMEOUT, message="the second key")
    listed = client.get(f"{API}/entries/keys", query_string={"user_id": user_id}).get_json()["items"]
    assert [key["fingerprint"] for key in listed] == [first, second]
    assert listed[0]["revoked_at"] is not None and listed[1]["revoked_at"] is None
    proof = client.get(f"{API}/proofs/inclusion", query_string={"fingerprint": second}).get_json()
    assert proof["leaf_index"] == client.get(f"{API}/entries/keys/{second}").get_json()["leaf_index"]
    assert client.get(f"{API}/entries/keys/{'0' * 64}").status_code == 404
