"""Re-encrypting standard messages and attachments under the newest DATA_KEYS key: everything moves, e2e envelopes
stay as sent, a second run finds nothing left, an interrupted run is finished by running it again."""
import contextlib
import dataclasses
import io
import os
import uuid

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from servicekit.context import context_of
from servicekit.encryption import DataCipher

from messaging import attachments, conversations, create_app, messages, read_models
from messaging.commands import reencrypt as reencrypt_command
from messaging.data_keys import Reencryption, reencrypt
from messaging.models import Attachment, Message

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def app(migrated_app):
    """A fresh messaging database whose values were written while DATA_KEYS held the old key alone."""
    return migrated_app(create_app, DATA_KEYS=OLD_KEY)


@pytest.fixture
def cipher():
    """What every process has after the operator put the new key first."""
    return DataCipher((NEW_KEY, OLD_KEY))


@pytest.fixture
def new_only():
    """What every process has once the old key is dropped."""
    return DataCipher((NEW_KEY,))


@pytest.fixture
def conversation_id(session) -> uuid.UUID:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    for user_id in (alice, bob):
        read_models.register_user(session, user_id=user_id, username=f"u_{user_id.hex[:12]}")
    session.commit()
    return uuid.UUID(str(conversations.start_direct(session, alice, bob)[0]["id"]))


def sender_of(session, conversation_id) -> uuid.UUID:
    return conversations.participant_ids(session, conversation_id)[0]


def write_messages(session, cipher, conversation_id, count: int) -> dict[uuid.UUID, str]:
    """`count` standard messages stored under `cipher`'s first key: {id: text}."""
    sender = sender_of(session, conversation_id)
    texts = {}
    for i in range(count):
        text = f"message {i} {uuid.uuid4()}"
        texts[uuid.UUID(str(messages.send_standard(session, cipher, sender, conversation_id, body=text)["id"]))] = text
    return texts


def write_attachment(session, cipher, conversation_id) -> tuple[uuid.UUID, bytes]:
    data = os.urandom(200)
    attachment = attachments.upload_attachment(session, cipher, sender_of(session, conversation_id), verified=True,
                                               conversation_id=conversation_id, upload=io.BytesIO(data),
                                               encrypted_by_client=True, max_bytes=10_000)
    return attachment.id, data


def stored_texts(session, cipher) -> dict[uuid.UUID, str]:
    session.expire_all()
    return {row.id: cipher.decrypt(row.content).decode() for row in session.scalars(
        sa.select(Message).where(Message.kind == "standard", Message.content.is_not(None)))}


def stored_files(session, cipher) -> dict[uuid.UUID, bytes]:
    session.expire_all()
    return {row.id: cipher.decrypt(row.data) for row in session.scalars(sa.select(Attachment))}


def test_every_message_and_attachment_moves_under_the_newest_key_and_envelopes_stay_as_sent(
        database, session, conversation_id, cipher, new_only):
    old = DataCipher((OLD_KEY,))
    texts = write_messages(session, old, conversation_id, 5)
    attachment_id, data = write_attachment(session, old, conversation_id)
    envelope = Message(id=uuid.uuid4(), conversation_id=conversation_id, sender_id=sender_of(session, conversation_id),
                       kind="e2e", content=b'{"v":1,"ciphertext":"..."}', content_sha256="0" * 64)
    session.add(envelope)
    session.commit()
    removed_id = next(iter(texts))
    messages.remove_message(session, removed_id)
    session.commit()

    report = reencrypt(database, cipher, newest_key=NEW_KEY, batch_size=2)

    assert report == {"messages": Reencryption(reencrypted=4), "attachments": Reencryption(reencrypted=1)}
    assert stored_texts(session, new_only) == {id_: text for id_, text in texts.items() if id_ != removed_id}
    assert stored_files(session, new_only) == {attachment_id: data}
    assert session.get(Message, envelope.id).content == b'{"v":1,"ciphertext":"..."}'
    assert session.get(Message, removed_id).content is None


def test_a_second_run_finds_nothing_left_to_do(database, session, conversation_id, cipher):
    write_messages(session, DataCipher((OLD_KEY,)), conversation_id, 3)
    reencrypt(database, cipher, newest_key=NEW_KEY)
    write_messages(session, cipher, conversation_id, 2)  # written under the new key meanwhile

    again = reencrypt(database, cipher, newest_key=NEW_KEY)

    assert again == {"messages": Reencryption(current=5), "attachments": Reencryption()}


@dataclasses.dataclass
class Interrupted:
    """The database, as a run sees it that is stopped (Ctrl-C, a crash) when it asks for its `after`+1th batch."""

    database: object
    after: int
    calls: int = 0

    @contextlib.contextmanager
    def transaction(self):
        if self.calls == self.after:
            raise KeyboardInterrupt
        self.calls += 1
        with self.database.transaction() as session:
            yield session


def test_an_interrupted_run_is_finished_by_running_it_again(database, session, conversation_id, cipher, new_only):
    texts = write_messages(session, DataCipher((OLD_KEY,)), conversation_id, 5)

    with pytest.raises(KeyboardInterrupt):
        reencrypt(Interrupted(database, after=1), cipher, newest_key=NEW_KEY, batch_size=2)
    finished = reencrypt(database, cipher, newest_key=NEW_KEY, batch_size=2)

    assert finished["messages"] == Reencryption(reencrypted=3, current=2)  # the first batch was committed
    assert stored_texts(session, new_only) == texts


def test_a_value_no_key_opens_is_reported_and_left_as_it_is(database, session, conversation_id, cipher):
    lost_key = DataCipher((Fernet.generate_key().decode(),))  # a key dropped too early
    [message_id] = write_messages(session, lost_key, conversation_id, 1)
    token = session.get(Message, message_id).content

    report = reencrypt(database, cipher, newest_key=NEW_KEY)

    assert report["messages"] == Reencryption(unreadable=1)
    session.expire_all()
    assert session.get(Message, message_id).content == token


def test_the_reencrypt_command_reports_what_it_did_and_the_service_reads_on(app, session, conversation_id,
                                                                            token_issuer):
    texts = write_messages(session, DataCipher((OLD_KEY,)), conversation_id, 2)
    write_attachment(session, DataCipher((OLD_KEY,)), conversation_id)
    settings = dataclasses.asdict(context_of(app).settings)
    restarted = create_app({**settings, "data_keys": (NEW_KEY, OLD_KEY)})

    result = restarted.test_cli_runner().invoke(reencrypt_command, ["--batch-size", "1"])
    again = restarted.test_cli_runner().invoke(reencrypt_command)

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "messages: 2 re-encrypted, 0 already under the newest key, 0 unreadable",
        "attachments: 1 re-encrypted, 0 already under the newest key, 0 unreadable"]
    assert "messages: 0 re-encrypted, 2 already under the newest key, 0 unreadable" in again.output
    new_only = create_app({**settings, "data_keys": (NEW_KEY,)})
    reader = sender_of(session, conversation_id)
    listed = new_only.test_client().get(
        f"/api/messaging/conversations/{conversation_id}/messages",
        headers={"Authorization": f"Bearer {token_issuer.issue(reader)}"}).json["items"]
    assert {item["body"] for item in listed} == set(texts.values())


def test_the_command_fails_when_a_value_opens_with_no_key(app, session, conversation_id):
    write_messages(session, DataCipher((Fernet.generate_key().decode(),)), conversation_id, 1)

    result = app.test_cli_runner().invoke(reencrypt_command)

    assert result.exit_code == 1
    assert "1 stored value(s) open with no key of DATA_KEYS" in result.output
