"""The client library against the real system, through the gateway (the native stack).

Accounts, tokens and 2FA; keys registered with proof of possession; direct and group
conversations end to end; what the client notices when the server (or whoever holds
its database) changes a stored message, or a contact's key changes.
"""
from __future__ import annotations

import base64
import json
import queue
import threading
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from servicekit.testing import retried_while, wait_until

from click.testing import CliRunner

from beyou import identity, messages
from beyou.api import Client, MfaRequired, ProblemError
from beyou.cli import cli
from beyou.keystore import load as load_keyring
from beyou.ledger import LedgerClient
from beyou.messages import File

PROPAGATION_SECONDS = 30.0   # an event from auth or social reaching messaging's read models


def eventually(action: Callable[[], Any], what: str, statuses: tuple[int, ...] = (404, 409, 422)) -> Any:
    """`action()` once the read models it needs are fed: retried while it fails with `statuses`."""
    return retried_while(action, lambda exc: isinstance(exc, ProblemError) and exc.status in statuses,
                         timeout=PROPAGATION_SECONDS, interval=0.1, message=what)


def keys_known(user, conversation_id: str, *people) -> None:
    """Wait until messaging knows each person's active keys (auth.key.registered reached it)."""
    def known() -> bool:
        rows = {p.user_id: p for p in messages.conversation_participants(user.client, conversation_id)}
        return all(rows.get(person.id) and rows[person.id].encryption
                   and rows[person.id].encryption["fingerprint"] == person.keyring.active("encryption").fingerprint
                   and rows[person.id].signing["fingerprint"] == person.keyring.active("signing").fingerprint
                   for person in people)
    wait_until(known, timeout=PROPAGATION_SECONDS, interval=0.1, message="messaging to know the participants' keys")


def direct(alice, bob) -> str:
    conversation = eventually(lambda: alice.client.create_direct_conversation(bob.id), "bob to reach messaging")
    keys_known(alice, conversation["id"], alice, bob)
    return str(conversation["id"])


def send(user, conversation_id: str, body: str, files=()) -> messages.Sent:
    return messages.send_e2e(user.client, conversation_id, body, keyring=user.keyring, contacts=user.contacts,
                             me=user.id, files=files)


def read_all(user, conversation_id: str) -> list[messages.Read]:
    reads, _ = messages.read_conversation(user.client, conversation_id, keyring=user.keyring,
                                          contacts=user.contacts, me=user.id)
    return reads


def proven(ledger, verify) -> Any:
    """The verdict once the ledger has sealed the record in a block (a block waits at most its age)."""
    return wait_until(lambda: (lambda verdict: verdict if verdict.status not in ("missing", "pending") else None)(
        verify()), timeout=PROPAGATION_SECONDS, interval=0.2, message="the ledger to seal the record")


# --- accounts and sessions -------------------------------------------------------------------

def test_registering_solves_the_challenge_with_progress_and_signing_in_names_the_user(
        gateway_url, new_http, new_details):
    details, progress = new_details(), []
    client = Client(gateway_url, http=new_http())
    account = client.register(**details, progress=lambda tried, expected: progress.append((tried, expected)))
    assert account["username"] == details["username"]
    assert progress and progress[-1][0] >= 1
    session = client.login(details["username"], details["password"])
    assert (session.user_id, session.username) == (account["id"], details["username"])
    assert session.refresh_token and session.session_id


def test_an_expired_access_token_is_refreshed_and_the_new_refresh_token_kept(new_user):
    user = new_user(keys=False)
    stored = []
    user.client.on_session = stored.append
    first_refresh_token = user.client.session.refresh_token
    user.client.session.expires_at = 0          # the access token has expired
    assert user.client.me()["username"] == user.username
    assert stored and stored[-1].refresh_token != first_refresh_token
    # The spent refresh token must never be used again: the server takes reuse for theft.
    reused = user.client.http.post(user.client.base_url + "/api/auth/token/refresh",
                                   json={"refresh_token": first_refresh_token}, timeout=10)
    assert reused.status_code == 401
    with pytest.raises(ProblemError) as refused:
        user.client.me()
    assert refused.value.status == 401
    assert user.client.session is None and stored[-1] is None


def test_a_refused_access_token_is_refreshed_once_and_the_request_retried(new_user):
    user = new_user(keys=False)
    user.client.session.access_token = "not.a.token"
    assert user.client.me()["id"] == user.id


def test_signing_in_with_2fa_takes_a_second_step_and_a_recovery_code_works_once(new_user, gateway_url, new_http):
    user = new_user(keys=False)
    setup = user.client.setup_2fa(user.password)
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    recovery_codes = user.client.confirm_2fa(pyotp.TOTP(setup["secret"]).now())
    device = Client(gateway_url, http=new_http())
    step = device.login(user.username, user.password)
    assert isinstance(step, MfaRequired) and device.session is None
    session = device.login_2fa(step.mfa_token, recovery_codes[0])
    assert session.user_id == user.id and device.me()["totp_enabled"]
    again = device.login(user.username, user.password)
    with pytest.raises(ProblemError) as refused:
        device.login_2fa(again.mfa_token, recovery_codes[0])
    assert refused.value.status == 401


def test_a_revoked_session_is_signed_out_on_its_next_request(new_user, gateway_url, new_http):
    user = new_user(keys=False)
    laptop = Client(gateway_url, http=new_http())
    laptop.login(user.username, user.password)
    listed = {item["id"]: item for item in user.client.sessions()["items"]}
    assert listed[user.client.session.session_id]["current"]
    user.client.revoke_session(laptop.session.session_id)
    with pytest.raises(ProblemError) as refused:
        laptop.me()
    assert refused.value.status == 401 and laptop.session is None


# --- keys -----------------------------------------------------------------------------------------

def test_keys_are_registered_with_proof_of_possession_and_rotation_keeps_the_old_one(new_user):
    user = new_user()
    on_server = identity.server_keys(user.client)
    assert {purpose: key["fingerprint"] for purpose, key in on_server.items()} == {
        purpose: user.keyring.active(purpose).fingerprint for purpose in ("signing", "encryption")}
    old = user.keyring.active("encryption")
    identity.add_new_keys(user.keyring, "ed25519", ["encryption"])
    identity.register_pending(user.client, user.keyring, save=lambda: None)
    assert old.status == "retired" and user.keyring.active("encryption") is not old
    assert user.client.key(old.fingerprint)["active"] is False
    assert identity.server_keys(user.client)["encryption"]["fingerprint"] == user.keyring.active("encryption").fingerprint


def test_rsa_keys_register_too(new_user):
    user = new_user(keys=False)
    user.generate_keys("rsa")
    assert {key["algorithm"] for key in identity.server_keys(user.client).values()} == {"rsa"}


# --- end-to-end conversations -------------------------------------------------------------------------

def test_a_direct_e2e_conversation_is_read_by_both_and_the_server_stores_no_plaintext(new_user, messaging_database):
    alice, bob = new_user(), new_user()
    conversation_id = direct(alice, bob)
    sent = send(alice, conversation_id, "meet at noon — 🕛")
    assert sent.warnings == []
    [bob_reads] = read_all(bob, conversation_id)
    assert (bob_reads.trust, bob_reads.body) == ("signed", "meet at noon — 🕛")
    assert bob.contacts.get(alice.id).signing.fingerprint == alice.keyring.active("signing").fingerprint
    [alice_reads] = read_all(alice, conversation_id)
    assert (alice_reads.trust, alice_reads.body) == ("verified", "meet at noon — 🕛")
    with messaging_database.connect() as connection:
        stored = connection.execute(sa.text("SELECT content FROM messages WHERE id = :id"),
                                    {"id": sent.message["id"]}).scalar_one()
    assert "meet at noon".encode() not in bytes(stored)


def test_a_group_of_three_reads_end_to_end_and_a_removed_member_gets_no_key(new_user, verify, befriend):
    alice, bob, carol = new_user(), new_user(), new_user()
    verify(alice)
    befriend(alice, bob)
    befriend(alice, carol)
    group = eventually(lambda: alice.client.create_group("three of us", [bob.id, carol.id]),
                       "the friendships to reach messaging")
    keys_known(alice, group["id"], alice, bob, carol)
    send(alice, group["id"], "hello both")
    for member in (bob, carol):
        [read] = read_all(member, group["id"])
        assert (read.trust, read.body) == ("signed", "hello both")
    alice.client.remove_participant(group["id"], carol.id)
    later = send(alice, group["id"], "just us now")
    sealed_for = {entry["key"] for entry in later.message["envelope"]["recipients"]}
    assert carol.keyring.active("encryption").fingerprint not in sealed_for
    assert bob.keyring.active("encryption").fingerprint in sealed_for
    assert read_all(bob, group["id"])[0].body == "just us now"
    with pytest.raises(ProblemError) as refused:
        carol.client.messages(group["id"])
    assert refused.value.status == 404


def test_a_message_altered_in_the_servers_database_is_reported_not_shown(new_user, messaging_database):
    alice, bob = new_user(), new_user()
    conversation_id = direct(alice, bob)
    sent = send(alice, conversation_id, "the real text")
    envelope = sent.message["envelope"]
    ciphertext = bytearray(base64.b64decode(envelope["ciphertext"]))
    ciphertext[0] ^= 0x01
    altered = {**envelope, "ciphertext": base64.b64encode(bytes(ciphertext)).decode()}
    with messaging_database.begin() as connection:
        connection.execute(sa.text("UPDATE messages SET content = :content WHERE id = :id"),
                           {"content": json.dumps(altered, separators=(",", ":")).encode(), "id": sent.message["id"]})
    [read] = read_all(bob, conversation_id)
    assert read.trust == "bad-signature" and read.body is None
    assert "changed after it was signed" in read.problem


def test_a_recipients_changed_key_is_a_warning_for_the_sender_and_unverifies_them(new_user):
    alice, bob = new_user(), new_user()
    conversation_id = direct(alice, bob)
    send(alice, conversation_id, "first")
    alice.contacts.mark_verified(bob.id)
    bob.generate_keys()                          # bob sets up new keys (a new device, or an attacker)
    keys_known(alice, conversation_id, bob)
    sent = send(alice, conversation_id, "second")
    assert any("signing and encryption key changed" in warning and "not any more" in warning
               for warning in sent.warnings)
    assert not alice.contacts.get(bob.id).verified
    # Bob kept his old key: he still reads what was sealed for it.
    assert [read.body for read in read_all(bob, conversation_id)] == ["second", "first"]


def test_when_the_sender_rotates_old_messages_still_verify_and_new_ones_flag_the_change(new_user):
    alice, bob = new_user(), new_user()
    conversation_id = direct(alice, bob)
    send(alice, conversation_id, "before the rotation")
    assert read_all(bob, conversation_id)[0].trust == "signed"      # bob pins alice's key
    alice.generate_keys()
    keys_known(alice, conversation_id, alice)
    send(alice, conversation_id, "after the rotation")
    newest, oldest = read_all(bob, conversation_id)
    assert (newest.trust, newest.body) == ("key-changed", "after the rotation")
    assert "signing key changed" in newest.key_check.warning
    assert (oldest.trust, oldest.body) == ("signed", "before the rotation")
    assert [read.trust for read in read_all(bob, conversation_id)] == ["signed", "signed"]


def test_an_e2e_attachment_is_stored_as_ciphertext_and_decrypts_for_the_recipient(new_user, verify):
    alice, bob = new_user(), new_user()
    verify(alice)
    conversation_id = direct(alice, bob)
    document = b"%PDF-1.4 a secret plan " + uuid.uuid4().bytes
    send(alice, conversation_id, "the plan", files=[File("plan.pdf", document, "application/pdf")])
    [read] = read_all(bob, conversation_id)
    [attachment] = read.attachments
    assert (attachment.name, attachment.content_type) == ("plan.pdf", "application/pdf")
    stored, content_type = bob.client.attachment(attachment.id)
    assert content_type.startswith("application/octet-stream") and document not in stored
    assert messages.download_attachment(bob.client, read, attachment.id) == ("plan.pdf", document, "application/pdf")


def test_a_signed_standard_message_is_verified_by_the_reader(new_user):
    alice, bob = new_user(), new_user()
    conversation_id = direct(alice, bob)
    messages.send_standard(alice.client, conversation_id, "plain, but signed", keyring=alice.keyring)
    [read] = read_all(bob, conversation_id)
    assert (read.trust, read.body) == ("signed", "plain, but signed")


# --- the live stream ---------------------------------------------------------------------------------

def next_within(events, seconds: float = 20.0):
    """The iterator's next item, or a failure after `seconds` (a stream that never delivers must not hang)."""
    box: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: box.put(_outcome(events)), daemon=True).start()
    try:
        kind, value = box.get(timeout=seconds)
    except queue.Empty:
        raise AssertionError(f"nothing came from the stream within {seconds}s") from None
    if kind == "error":
        raise value
    return value


def _outcome(events) -> tuple[str, Any]:
    try:
        return "item", next(events)
    except BaseException as error:  # handed to the test's thread
        return "error", error


def message_event(events, message_id: str):
    while True:
        event = next_within(events)
        if event.type == "message" and json.loads(event.data)["message_id"] == message_id:
            return event


def test_the_stream_replays_then_delivers_live_and_ends_when_the_session_signs_out(new_user):
    alice, bob = new_user(), new_user()
    conversation_id = direct(alice, bob)
    first = send(alice, conversation_id, "before bob listened")
    events = bob.client.follow("0")             # everything kept for bob, then what happens next
    replayed = message_event(events, first.message["id"])
    second = send(alice, conversation_id, "while bob listens")
    live = message_event(events, second.message["id"])
    assert int(live.id) > int(replayed.id)
    assert json.loads(live.data)["conversation_id"] == conversation_id
    assert messages.read_message(bob.client, bob.client.message(json.loads(live.data)["message_id"]),
                                 keyring=bob.keyring, contacts=bob.contacts, me=bob.id).body == "while bob listens"
    Client(bob.client.base_url, session=bob.client.session, http=bob.client.http).logout()
    with pytest.raises(ProblemError) as ended:
        while True:
            next_within(events)
    assert ended.value.status == 401 and bob.client.session is None


# --- the command, through the gateway ----------------------------------------------------------------

def test_the_readme_walkthrough_with_the_beyou_command(gateway_url, new_user, new_details, tmp_path):
    bob = new_user()
    alice = new_details()
    runner = CliRunner()
    env = {"BEYOU_HOME": str(tmp_path / "alice"), "BEYOU_SERVER": gateway_url, "BEYOU_PASSWORD": alice["password"],
           "BEYOU_PASSPHRASE": "alice's long passphrase"}

    def beyou(*args: str):
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == 0, (args, result.output)
        return result

    beyou("register", "--username", alice["username"], "--email", alice["email"], "--phone", alice["phone"])
    beyou("login", "--username", alice["username"])
    beyou("keys", "generate")
    conversation = json.loads(eventually(lambda: _created(runner, env, bob.username), "bob to reach messaging").stdout)
    alice_id = json.loads(beyou("whoami", "--json").stdout)["id"]
    alice_user = SimpleNamespace(id=alice_id, keyring=load_keyring(tmp_path / "alice" / "keys.json",
                                                                   "alice's long passphrase"))
    keys_known(bob, conversation["id"], alice_user, bob)
    beyou("send", f"@{bob.username}", "hello from the terminal")
    [read] = read_all(bob, conversation["id"])
    assert (read.trust, read.body) == ("signed", "hello from the terminal")
    send(bob, conversation["id"], "hello back")
    shown = json.loads(beyou("read", f"@{bob.username}", "--json").stdout)["items"]
    assert [(item["body"], item["trust"]) for item in shown] == [
        ("hello back", "signed"), ("hello from the terminal", "verified")]
    watched = beyou("watch", "--from-start", "--max-events", "3", "--json").stdout
    assert '"hello back"' in watched
    assert "SIGNATURE FAILED" not in beyou("read", conversation["id"]).stdout
    wait_until(lambda: runner.invoke(cli, ["keys", "monitor"], env=env).exit_code == 0, timeout=PROPAGATION_SECONDS,
               interval=0.5, message="my keys to be in the ledger, and none that is not mine")
    assert "verified" in beyou("ledger", "checkpoint").stdout


def test_a_message_and_its_senders_keys_are_proven_in_the_ledger_by_the_client(new_user, tmp_path):
    alice, bob = new_user(), new_user()
    conversation = direct(alice, bob)
    sent = send(alice, conversation, "for the record")
    ledger = LedgerClient.through(bob.client, tmp_path / "bob-ledger")
    verdict = proven(ledger, lambda: ledger.verify_message(sent.message["id"]))
    assert (verdict.status, verdict.problem) == ("verified", None)
    signing = alice.keyring.active("signing").fingerprint
    key = proven(ledger, lambda: ledger.verify_key(signing, user_id=alice.id, purpose="signing"))
    assert key.status == "verified"
    never_logged = ledger.verify_key("ab" * 32)
    assert never_logged.status == "missing"          # the client reports it unverifiable
    later = send(alice, conversation, "and another")
    assert proven(ledger, lambda: ledger.verify_message(later.message["id"])).status == "verified"  # consistent


def test_the_ledger_commands_verify_a_message_and_monitor_my_keys(gateway_url, new_user, tmp_path):
    alice, bob = new_user(), new_user()
    conversation = direct(alice, bob)
    sent = send(alice, conversation, "on the record")
    runner = CliRunner()
    env = {"BEYOU_HOME": str(tmp_path / "cli"), "BEYOU_SERVER": gateway_url}
    ledger = LedgerClient.through(alice.client, tmp_path / "wait")
    proven(ledger, lambda: ledger.verify_message(sent.message["id"]))
    verified = runner.invoke(cli, ["ledger", "verify", sent.message["id"]], env=env)
    assert verified.exit_code == 0 and "verified" in verified.stdout, verified.output
    missing = runner.invoke(cli, ["ledger", "verify", str(uuid.uuid4())], env=env)
    assert missing.exit_code != 0 and "NOT verified" in missing.output


def _created(runner, env, username: str):
    result = runner.invoke(cli, ["conversations", "create", "--with", f"@{username}", "--json"], env=env)
    if result.exit_code != 0 and "404" in result.stderr:
        raise ProblemError(404, "Not Found")     # not there yet: try again
    assert result.exit_code == 0, result.output
    return result
