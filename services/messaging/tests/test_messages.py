"""Messages through the API: standard ones encrypted at rest, e2e envelopes checked against the participants'
keys (client/beyou/envelope.py seals them, as a real client would), replays, membership changes, key rotation,
announcements, read state and removal by moderation."""
import base64
import dataclasses
import hashlib
import io
import json
import sys
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from servicekit.context import context_of
from servicekit.errors import Conflict, NotFound
from servicekit.tables import outbox
from servicekit.testing import wait_until

from messaging import conversations, messages
from messaging.models import Message, Participant, StreamEvent

try:
    from beyou import envelope as client_envelope
except ModuleNotFoundError:  # the client library is not installed here: take it from the tree (tests only)
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "client"))
    from beyou import envelope as client_envelope

API = "/api/messaging"


# --- keys, as auth's key registry announces them -----------------------------------------------------

@dataclasses.dataclass(frozen=True)
class KeyPairs:
    """A user's private keys, as their client holds them."""

    signing: Ed25519PrivateKey
    encryption: X25519PrivateKey


@pytest.fixture
def give_keys(deliver, now):
    """`give_keys(session, person)`: a new signing and encryption key for `person`: registered, they replace any
    active ones."""
    def register_key(session, person, public_key, purpose: str, algorithm: str) -> str:
        fingerprint = client_envelope.fingerprint(public_key)
        pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        deliver(session, "auth.key.registered", {
            "user_id": str(person.user_id), "fingerprint": fingerprint, "purpose": purpose, "algorithm": algorithm,
            "pem": pem.decode(), "created_at": now()})
        return fingerprint

    def give(session, person) -> KeyPairs:
        keys = KeyPairs(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())
        register_key(session, person, keys.signing.public_key(), "signing", "ed25519")
        register_key(session, person, keys.encryption.public_key(), "encryption", "x25519")
        return keys
    return give


def recipients_of(client, person, conversation_id: str) -> list[tuple[str, object]]:
    """What a client seals for: every participant's active encryption key, as the server lists them."""
    listed = client.get(f"{API}/conversations/{conversation_id}/keys", headers=person.headers)
    assert listed.status_code == 200, listed.json
    return [(p["encryption_key"]["fingerprint"],
             serialization.load_pem_public_key(p["encryption_key"]["pem"].encode()))
            for p in listed.json["participants"] if p["encryption_key"] is not None]


def seal(client, sender, keys: KeyPairs, conversation_id: str, body: str = "meet at noon", **options):
    recipients = options.pop("recipients", None) or recipients_of(client, sender, conversation_id)
    return client_envelope.seal(body, conversation_id=conversation_id, sender_signing_key=keys.signing,
                                recipients=recipients, **options)


def send(client, sender, conversation_id: str, **message):
    message.setdefault("kind", "e2e" if "envelope" in message else "standard")
    return client.post(f"{API}/conversations/{conversation_id}/messages", headers=sender.headers, json=message)


def flip(value: str, index: int = 0) -> str:
    data = bytearray(base64.b64decode(value))
    data[index] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


# --- this module's own helpers ---------------------------------------------------------------------------

@pytest.fixture
def group_of(befriend):
    """`group_of(client, session, owner, *members)`: the id of a group the owner made of their new friends."""
    def create(client, session, owner, *members) -> str:
        for member in members:
            befriend(session, owner, member)
        response = client.post(f"{API}/conversations", headers=owner.headers, json={
            "type": "group", "name": "Team", "member_ids": [str(member.user_id) for member in members]})
        assert response.status_code == 201, response.json
        return response.json["id"]
    return create


def announced(session, message_id) -> list[dict]:
    """The messaging.message.created payloads of one message."""
    return [envelope["payload"] for envelope in session.scalars(
        sa.select(outbox.c.envelope).where(outbox.c.event_type == "messaging.message.created"))
        if envelope["payload"]["message_id"] == str(message_id)]


def stored(session, message_id) -> Message:
    session.expire_all()
    return session.get(Message, uuid.UUID(str(message_id)))


def messages_seen_by(client, person, conversation_id: str) -> list[dict]:
    return client.get(f"{API}/conversations/{conversation_id}/messages", headers=person.headers).json["items"]


# --- standard messages ------------------------------------------------------------------------------------

def test_a_standard_message_is_stored_encrypted_and_read_by_participants(client, session, app, alice, bob,
                                                                         direct):
    body = "The password is swordfish 🐟"

    response = send(client, alice, direct, body=body)

    assert response.status_code == 201, response.json
    sent = response.json
    assert (sent["kind"], sent["body"], sent["sender_id"], sent["envelope"]) == \
        ("standard", body, str(alice.user_id), None)
    salt = base64.b64decode(sent["content_salt"])
    assert len(salt) == 16
    assert sent["content_sha256"] == hashlib.sha256(salt + body.encode()).hexdigest()
    row = stored(session, sent["id"])
    assert body.encode() not in row.content and b"swordfish" not in row.content
    assert context_of(app).resources["cipher"].decrypt(row.content) == body.encode()
    assert [m["body"] for m in messages_seen_by(client, bob, direct)] == [body]
    assert client.get(f"{API}/messages/{sent['id']}", headers=bob.headers).json["body"] == body


def test_the_same_text_twice_has_two_different_ledger_hashes(client, alice, direct):
    first = send(client, alice, direct, body="yes").json
    second = send(client, alice, direct, body="yes").json

    assert first["content_sha256"] != second["content_sha256"]  # salted: the public log confirms no guess


def test_a_message_is_not_shown_to_anyone_else(client, alice, bob, carol, direct):
    message_id = send(client, alice, direct, body="just us").json["id"]

    assert client.get(f"{API}/messages/{message_id}", headers=carol.headers).status_code == 404
    assert client.get(f"{API}/messages/{uuid.uuid4()}", headers=bob.headers).status_code == 404
    assert client.get(f"{API}/conversations/{direct}/messages", headers=carol.headers).status_code == 404
    assert send(client, carol, direct, body="let me in").status_code == 404


def test_every_message_is_announced_exactly_once_without_content_and_every_participant_is_told(
        client, session, alice, bob, direct):
    message_id = str(uuid.uuid4())

    sent = send(client, alice, direct, body="top secret plan", message_id=message_id)
    replayed = send(client, alice, direct, body="top secret plan", message_id=message_id)

    assert (sent.status_code, replayed.status_code) == (201, 409)
    [event] = announced(session, message_id)
    assert event == {"message_id": message_id, "conversation_id": direct, "conversation_type": "direct",
                     "sender_id": str(alice.user_id), "recipient_ids": [str(bob.user_id)], "kind": "standard",
                     "content_sha256": sent.json["content_sha256"], "signature_fingerprint": None,
                     "created_at": event["created_at"]}
    assert "secret" not in json.dumps(event)
    for person in (alice, bob):
        assert session.scalars(sa.select(StreamEvent.data).where(
            StreamEvent.user_id == person.user_id, StreamEvent.type == "message")).all() == [
            {"conversation_id": direct, "message_id": message_id, "sender_id": str(alice.user_id),
             "seq": sent.json["seq"]}]


def test_a_banned_sender_is_refused(client, session, alice, bob, direct, ban):
    ban(session, alice)

    response = send(client, alice, direct, body="still here?")

    assert response.status_code == 403
    assert messages_seen_by(client, bob, direct) == []


@pytest.mark.parametrize("who_blocks", ["sender", "recipient"])
def test_no_message_in_a_direct_conversation_once_either_blocks_the_other(client, session, alice, bob, direct,
                                                                           block, who_blocks):
    blocker, blocked = (alice, bob) if who_blocks == "sender" else (bob, alice)
    block(session, blocker, blocked)

    assert send(client, alice, direct, body="hello?").status_code == 403


def test_a_signed_standard_message_is_checked_against_the_senders_active_signing_key(client, session, alice,
                                                                                     direct, give_keys):
    keys = give_keys(session, alice)
    signed = client_envelope.sign_message("on my way", conversation_id=direct, sender_signing_key=keys.signing)

    accepted = send(client, alice, direct, body="on my way", **signed)
    tampered = send(client, alice, direct, body="not coming", **{**signed, "message_id": str(uuid.uuid4())})
    other_key = client_envelope.sign_message("on my way", conversation_id=direct,
                                             sender_signing_key=Ed25519PrivateKey.generate())
    by_another_key = send(client, alice, direct, body="on my way", **other_key)

    assert accepted.status_code == 201, accepted.json
    assert (accepted.json["sender_key"], accepted.json["signature"]) == (signed["sender_key"], signed["signature"])
    assert announced(session, signed["message_id"])[0]["signature_fingerprint"] == signed["sender_key"]
    assert (tampered.status_code, list(tampered.json["errors"])) == (422, ["signature"])
    assert (by_another_key.status_code, list(by_another_key.json["errors"])) == (422, ["sender_key"])


def test_a_signature_needs_its_message_id_and_key(client, alice, direct):
    response = send(client, alice, direct, body="hi", signature="c2lnbmF0dXJl")

    assert response.status_code == 422
    assert set(response.json["errors"]) == {"message_id", "sender_key"}


# --- end-to-end messages --------------------------------------------------------------------------------------

def test_an_e2e_message_is_checked_and_stored_as_sent_without_its_plaintext(client, session, alice, bob, direct,
                                                                            give_keys):
    alice_keys, bob_keys = give_keys(session, alice), give_keys(session, bob)
    envelope = seal(client, alice, alice_keys, direct, body="the eagle lands at dawn")

    response = send(client, alice, direct, envelope=envelope)

    assert response.status_code == 201, response.json
    assert (response.json["id"], response.json["kind"], response.json["body"]) == \
        (envelope["message_id"], "e2e", None)
    assert response.json["content_sha256"] == client_envelope.content_sha256(envelope)
    assert response.json["sender_key"] == envelope["sender_key"]
    row = stored(session, envelope["message_id"])
    assert json.loads(row.content) == envelope and b" " not in row.content  # compact JSON, as sent
    assert b"eagle" not in row.content and row.content_salt is None
    [event] = announced(session, envelope["message_id"])
    assert (event["kind"], event["signature_fingerprint"], event["content_sha256"]) == \
        ("e2e", envelope["sender_key"], response.json["content_sha256"])
    served = client.get(f"{API}/messages/{envelope['message_id']}", headers=bob.headers).json["envelope"]
    opened = client_envelope.open_envelope(served, my_encryption_key=bob_keys.encryption,
                                           sender_public_signing_key=alice_keys.signing.public_key(),
                                           conversation_id=direct, message_id=envelope["message_id"])
    assert opened.body == "the eagle lands at dawn"


@pytest.mark.parametrize("tamper", ["ciphertext", "signature", "wrapped_key"])
def test_a_tampered_envelope_is_refused_and_nothing_is_stored(client, session, alice, bob, direct, give_keys, tamper):
    alice_keys = give_keys(session, alice)
    give_keys(session, bob)
    envelope = seal(client, alice, alice_keys, direct)
    if tamper == "wrapped_key":
        envelope["recipients"][0]["wrapped_key"] = flip(envelope["recipients"][0]["wrapped_key"])
    else:
        envelope[tamper] = flip(envelope[tamper], 5)

    response = send(client, alice, direct, envelope=envelope)

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["signature"]
    assert stored(session, envelope["message_id"]) is None
    assert announced(session, envelope["message_id"]) == []


def test_a_replayed_envelope_is_refused_in_the_same_conversation_and_in_another(client, session, alice, bob, direct,
                                                                                give_keys, group_of):
    alice_keys = give_keys(session, alice)
    give_keys(session, bob)
    same_people = group_of(client, session, alice, bob)
    envelope = seal(client, alice, alice_keys, direct)
    assert send(client, alice, direct, envelope=envelope).status_code == 201

    again = send(client, alice, direct, envelope=envelope)
    elsewhere = send(client, alice, same_people, envelope=envelope)

    assert again.status_code == 409
    assert elsewhere.status_code == 422 and "conversation_id" in elsewhere.json["errors"]
    assert len(announced(session, envelope["message_id"])) == 1
    assert messages_seen_by(client, bob, same_people) == []


def test_a_replay_is_answered_as_one_whatever_else_is_wrong_with_it(client, session, alice, bob, direct, give_keys):
    alice_keys = give_keys(session, alice)
    give_keys(session, bob)
    message_id = str(uuid.uuid4())
    envelope = seal(client, alice, alice_keys, direct)
    readable = upload(client, alice, direct, b"%PDF-1.4\n%%EOF\n")
    assert send(client, alice, direct, body="once", message_id=message_id).status_code == 201
    assert send(client, alice, direct, envelope=envelope).status_code == 201

    with_a_stranger_attachment = send(client, alice, direct, body="once", message_id=message_id,
                                      attachment_ids=[str(uuid.uuid4())])
    with_a_bad_signature = send(client, alice, direct, body="once", message_id=message_id,
                                sender_key=envelope["sender_key"], signature="c2lnbmF0dXJl")
    with_a_readable_attachment = send(client, alice, direct, envelope=envelope, attachment_ids=[readable["id"]])

    assert [response.status_code for response in (with_a_stranger_attachment, with_a_bad_signature,
                                                  with_a_readable_attachment)] == [409, 409, 409]


def test_a_replay_racing_the_first_send_is_refused_and_the_session_goes_on(client, session, database, app, alice,
                                                                          direct):
    conversation_id, message_id = uuid.UUID(direct), uuid.uuid4()
    cipher = context_of(app).resources["cipher"]
    outcome = {}

    def replay():
        with database.session() as replaying:
            try:
                messages.send_standard(replaying, cipher, alice.user_id, conversation_id, body="again",
                                       message_id=message_id)
            except Conflict as refused:
                outcome["refused"] = str(refused)
            outcome["next"] = messages.send_standard(replaying, cipher, alice.user_id, conversation_id,
                                                     body="and on")["body"]

    with database.session() as first:  # the first send of the id, not yet committed
        first.execute(sa.insert(Message).values(id=message_id, conversation_id=conversation_id,
                                                sender_id=alice.user_id, kind="standard", content=b"first",
                                                content_sha256="0" * 64))
        replayer = threading.Thread(target=replay)
        replayer.start()
        wait_until(lambda: waiting_for_a_lock(database), message="the replay to wait for the first send")
        first.commit()
    replayer.join(timeout=10)

    assert outcome == {"refused": messages.ALREADY_SENT, "next": "and on"}
    assert announced(session, message_id) == []  # the replay announced nothing


def test_a_removed_member_gets_no_key_for_new_messages_and_cannot_read_them(client, session, alice, bob, carol,
                                                                             give_keys, group_of):
    alice_keys = give_keys(session, alice)
    give_keys(session, bob)
    carol_keys = give_keys(session, carol)
    group = group_of(client, session, alice, bob, carol)
    still_for_carol = recipients_of(client, alice, group)
    assert client.delete(f"{API}/conversations/{group}/participants/{carol.user_id}",
                         headers=alice.headers).status_code == 204

    refused = send(client, alice, group, envelope=seal(client, alice, alice_keys, group,
                                                       recipients=still_for_carol))
    envelope = seal(client, alice, alice_keys, group)
    accepted = send(client, alice, group, envelope=envelope)

    assert refused.status_code == 422 and list(refused.json["errors"]) == ["recipients"]
    assert accepted.status_code == 201, accepted.json
    carol_key = client_envelope.fingerprint(carol_keys.encryption.public_key())
    assert carol_key in {fingerprint for fingerprint, _ in still_for_carol}
    assert carol_key not in {entry["key"] for entry in envelope["recipients"]}
    assert client.get(f"{API}/messages/{envelope['message_id']}", headers=carol.headers).status_code == 404
    assert client.get(f"{API}/conversations/{group}/messages", headers=carol.headers).status_code == 404
    [event] = announced(session, envelope["message_id"])
    assert str(carol.user_id) not in event["recipient_ids"]


def test_a_member_removed_while_their_message_waits_for_the_conversation_is_refused(client, session, database, app,
                                                                                  alice, bob, group_of):
    group = uuid.UUID(group_of(client, session, alice, bob))
    cipher = context_of(app).resources["cipher"]
    outcome = {}

    def bob_sends():
        with database.session() as bobs_session:
            try:
                messages.send_standard(bobs_session, cipher, bob.user_id, group, body="am I still in?")
                outcome["sent"] = True
            except NotFound:
                outcome["refused"] = True

    with database.session() as owners_session:  # the owner's removal holds the conversation while bob sends
        conversations.participant_conversation(owners_session, alice.user_id, group, lock=True)
        owners_session.execute(sa.delete(Participant).where(Participant.conversation_id == group,
                                                            Participant.user_id == bob.user_id))
        sender = threading.Thread(target=bob_sends)
        sender.start()
        wait_until(lambda: waiting_for_a_lock(database), message="bob's message to wait for the conversation")
        owners_session.commit()
    sender.join(timeout=10)

    assert outcome == {"refused": True}


def test_a_member_added_while_a_message_waits_for_the_conversation_is_one_of_its_recipients(
        client, session, database, app, alice, bob, carol, group_of, befriend):
    group = uuid.UUID(group_of(client, session, alice, bob))
    befriend(session, alice, carol)
    cipher = context_of(app).resources["cipher"]
    sent = {}

    def bob_sends():
        with database.session() as bobs_session:
            sent.update(messages.send_standard(bobs_session, cipher, bob.user_id, group, body="welcome"))

    with database.session() as owners_session:  # the owner's addition holds the conversation while bob sends
        conversations.participant_conversation(owners_session, alice.user_id, group, lock=True)
        owners_session.execute(sa.insert(Participant).values(conversation_id=group, user_id=carol.user_id))
        sender = threading.Thread(target=bob_sends)
        sender.start()
        wait_until(lambda: waiting_for_a_lock(database), message="bob's message to wait for the conversation")
        owners_session.commit()
    sender.join(timeout=10)

    [event] = announced(session, sent["id"])
    assert sorted(event["recipient_ids"]) == sorted([str(alice.user_id), str(carol.user_id)])


def waiting_for_a_lock(database) -> bool:
    with database.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(sa.text("pg_stat_activity")).where(
            sa.text("datname = current_database() AND wait_event_type = 'Lock'"))) > 0


def test_e2e_needs_every_participant_to_have_an_encryption_key_and_the_sender_a_signing_key(
        client, session, alice, bob, direct, give_keys):
    alice_keys = give_keys(session, alice)  # bob has registered no key yet

    without_bob = send(client, alice, direct, envelope=seal(client, alice, alice_keys, direct))
    from_bob = send(client, bob, direct, envelope=seal(client, bob, KeyPairs(Ed25519PrivateKey.generate(),
                                                                             X25519PrivateKey.generate()), direct))

    assert without_bob.status_code == 422
    assert any(str(bob.user_id) in message for message in without_bob.json["errors"]["recipients"])
    assert from_bob.status_code == 422 and "sender_key" in from_bob.json["errors"]


def test_after_a_key_rotation_old_messages_are_still_served_as_sent_and_new_ones_need_the_new_keys(
        client, session, alice, bob, direct, give_keys):
    old_keys = give_keys(session, alice)
    bob_old = give_keys(session, bob)
    before = seal(client, alice, old_keys, direct, body="sealed with the old keys")
    assert send(client, alice, direct, envelope=before).status_code == 201

    new_keys = give_keys(session, alice)
    with_old_signing_key = send(client, alice, direct, envelope=seal(client, alice, old_keys, direct))
    after = send(client, alice, direct, envelope=seal(client, alice, new_keys, direct))

    assert with_old_signing_key.status_code == 422 and "sender_key" in with_old_signing_key.json["errors"]
    assert after.status_code == 201, after.json
    served = client.get(f"{API}/messages/{before['message_id']}", headers=bob.headers).json
    assert served["envelope"] == before and served["sender_key"] == client_envelope.fingerprint(
        old_keys.signing.public_key())
    opened = client_envelope.open_envelope(served["envelope"], my_encryption_key=bob_old.encryption,
                                           sender_public_signing_key=old_keys.signing.public_key())
    assert opened.body == "sealed with the old keys"


def test_the_keys_of_a_conversation_are_every_participants_active_ones(client, session, alice, bob, direct, give_keys):
    give_keys(session, alice)
    bob_keys = give_keys(session, bob)
    bob_keys = give_keys(session, bob)  # rotated: only the newest are listed

    listed = client.get(f"{API}/conversations/{direct}/keys", headers=alice.headers).json

    by_user = {p["user_id"]: p for p in listed["participants"]}
    assert set(by_user) == {str(alice.user_id), str(bob.user_id)}
    assert by_user[str(bob.user_id)]["signing_key"]["fingerprint"] == \
        client_envelope.fingerprint(bob_keys.signing.public_key())
    assert by_user[str(bob.user_id)]["encryption_key"]["algorithm"] == "x25519"


def test_an_envelope_that_is_no_envelope_is_refused_naming_what_is_wrong(client, session, alice, direct, give_keys):
    give_keys(session, alice)

    response = send(client, alice, direct, envelope={"v": 2, "note": "hello"})

    assert response.status_code == 422
    assert {"note", "ciphertext", "recipients", "signature"} <= set(response.json["errors"])


def test_an_e2e_message_carries_client_encrypted_attachments_only(client, session, alice, bob, direct, give_keys):
    alice_keys, bob_keys = give_keys(session, alice), give_keys(session, bob)
    menu = b"Soup of the day: tomato"
    encrypted = client_envelope.encrypt_attachment(menu)
    opaque = upload(client, alice, direct, encrypted.ciphertext, encrypted_by_client=True)
    readable = upload(client, alice, direct, b"%PDF-1.4\n%%EOF\n")
    attachment = client_envelope.Attachment(opaque["id"], encrypted.key, encrypted.nonce, "menu.txt", "text/plain")

    refused = send(client, alice, direct, envelope=seal(client, alice, alice_keys, direct),
                   attachment_ids=[readable["id"]])
    envelope = seal(client, alice, alice_keys, direct, body="the menu", attachments=[attachment])
    sent = send(client, alice, direct, envelope=envelope, attachment_ids=[opaque["id"]])

    assert refused.status_code == 422 and list(refused.json["errors"]) == ["attachment_ids"]
    assert sent.status_code == 201 and sent.json["attachment_ids"] == [opaque["id"]]
    opened = client_envelope.open_envelope(sent.json["envelope"], my_encryption_key=bob_keys.encryption,
                                           sender_public_signing_key=alice_keys.signing.public_key())
    downloaded = client.get(f"{API}/attachments/{opaque['id']}", headers=bob.headers).data
    assert client_envelope.decrypt_attachment(opened.attachments[0], downloaded) == menu


def upload(client, person, conversation_id: str, data: bytes, *, encrypted_by_client: bool = False) -> dict:
    response = client.post(f"{API}/attachments", headers=person.headers, content_type="multipart/form-data", data={
        "conversation_id": conversation_id, "encrypted_by_client": str(encrypted_by_client).lower(),
        "file": (io.BytesIO(data), "file")})
    assert response.status_code == 201, response.json
    return response.json


# --- reading and read state ----------------------------------------------------------------------------------

def test_messages_are_listed_newest_first_a_page_at_a_time(client, alice, bob, direct):
    sent = [send(client, alice if i % 2 else bob, direct, body=f"message {i}").json["id"] for i in range(5)]

    first = client.get(f"{API}/conversations/{direct}/messages?limit=3", headers=bob.headers).json
    rest = client.get(f"{API}/conversations/{direct}/messages?limit=3&cursor={first['next_cursor']}",
                      headers=bob.headers).json

    assert [m["id"] for m in first["items"] + rest["items"]] == sent[::-1]
    assert rest["next_cursor"] is None


def test_read_state_counts_what_others_sent_after_what_i_read(client, session, alice, bob, direct):
    send(client, alice, direct, body="my own message is never unread to me")
    seqs = [send(client, bob, direct, body=f"news {i}").json["seq"] for i in range(3)]

    def unread():
        return client.get(f"{API}/conversations/{direct}", headers=alice.headers).json["unread_count"]

    assert unread() == 3
    read = client.post(f"{API}/conversations/{direct}/read", headers=alice.headers, json={"seq": seqs[1]})
    assert read.status_code == 200
    assert read.json == {"conversation_id": direct, "last_read_seq": seqs[1], "unread_count": 1}
    assert unread() == 1
    backwards = client.post(f"{API}/conversations/{direct}/read", headers=alice.headers, json={"seq": seqs[0]})
    assert backwards.json["last_read_seq"] == seqs[1]
    beyond = client.post(f"{API}/conversations/{direct}/read", headers=alice.headers, json={"seq": 2**62})
    assert beyond.json["unread_count"] == 0 and beyond.json["last_read_seq"] < 2**62
    read_notices = session.scalars(sa.select(StreamEvent.data).where(
        StreamEvent.user_id == bob.user_id, StreamEvent.type == "read")).all()
    assert {"conversation_id": direct, "user_id": str(alice.user_id), "seq": seqs[1]} in read_notices


def test_replying_reads_the_conversation_up_to_my_reply(client, alice, bob, direct):
    send(client, bob, direct, body="are you there?")
    send(client, bob, direct, body="hello?")

    reply = send(client, alice, direct, body="yes").json

    mine = client.get(f"{API}/conversations/{direct}", headers=alice.headers).json
    assert (mine["unread_count"], mine["last_read_seq"]) == (0, reply["seq"])


# --- removal by moderation ---------------------------------------------------------------------------------------

@pytest.fixture
def remove_content(deliver, now):
    """`remove_content(session, message_id, *, action="remove_content", target_type="message")`: social's
    moderation resolving a report of the message (as its event reaches messaging)."""
    def take_action(session, message_id, *, action="remove_content", target_type="message") -> None:
        deliver(session, "social.moderation.action_taken", {
            "action": action, "target_type": target_type, "target_id": str(message_id), "reason": None,
            "notes": "abusive", "actor_id": str(uuid.uuid4()), "duration": None, "report_id": str(uuid.uuid4()),
            "taken_at": now()})
    return take_action


def test_a_message_removed_by_moderation_disappears_for_everyone(client, session, alice, bob, direct, remove_content):
    kept = send(client, bob, direct, body="hello").json
    removed = send(client, bob, direct, body="something abusive").json

    remove_content(session, removed["id"])
    remove_content(session, removed["id"])  # a second action on it changes nothing more

    for person in (alice, bob):
        assert [m["id"] for m in messages_seen_by(client, person, direct)] == [kept["id"]]
        assert client.get(f"{API}/messages/{removed['id']}", headers=person.headers).status_code == 404
    row = stored(session, removed["id"])
    assert row.removed_at is not None and row.content is None and row.content_salt is None
    assert row.content_sha256 == removed["content_sha256"]  # what the ledger recorded stays
    assert client.get(f"{API}/conversations/{direct}", headers=alice.headers).json["unread_count"] == 1
    events = [e["payload"] for e in session.scalars(sa.select(outbox.c.envelope).where(
        outbox.c.event_type == "messaging.message.removed")) if e["payload"]["message_id"] == removed["id"]]
    assert [(e["conversation_id"], e["sender_id"], e["reason"]) for e in events] == \
        [(direct, str(bob.user_id), "moderation")]
    assert session.scalars(sa.select(StreamEvent.data).where(
        StreamEvent.user_id == alice.user_id, StreamEvent.type == "removed")).all() == [
        {"conversation_id": direct, "message_id": removed["id"]}]


def test_other_moderation_actions_leave_messages_alone(client, session, alice, bob, direct, remove_content):
    message = send(client, bob, direct, body="borderline").json

    remove_content(session, message["id"], action="warn")
    remove_content(session, message["id"], action="remove_content", target_type="item")
    remove_content(session, uuid.uuid4())  # a message messaging never stored: nothing to do

    assert [m["id"] for m in messages_seen_by(client, alice, direct)] == [message["id"]]
