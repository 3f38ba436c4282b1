import dataclasses
import hashlib
import uuid

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from servicekit.context import context_of

from auth import create_app
from auth.data_keys import Rotation, rotate_data_key
from auth.documents import FileDocumentStore
from servicekit.encryption import DataCipher
from auth.models import SigningKey, User, VerificationRequest

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
PNG = b"\x89PNG\r\n\x1a\n" + b"an identity document"


@pytest.fixture
def app(migrated_app, tmp_path):
    """A fresh auth database whose values were written while DATA_KEYS held the old key alone."""
    return migrated_app(create_app, SECRET_KEY=Fernet.generate_key().decode(), DATA_KEYS=OLD_KEY,
                        DOCUMENTS_DIR=str(tmp_path / "documents"), POW_DIFFICULTY_BITS=8)


@pytest.fixture
def store(settings):
    return FileDocumentStore(settings.documents_dir)


@pytest.fixture
def old_cipher():
    return DataCipher((OLD_KEY,))


@pytest.fixture
def cipher():
    """What every process has after the operator put the new key first."""
    return DataCipher((NEW_KEY, OLD_KEY))


@pytest.fixture
def new_only():
    """What every process has once the old key is dropped."""
    return DataCipher((NEW_KEY,))


def add_user(database, totp_secret: bytes | None = None) -> uuid.UUID:
    tag = uuid.uuid4()
    with database.transaction() as session:
        user = User(username=f"u{tag.hex[:12]}", email=f"{tag.hex[:12]}@example.test",
                    phone=f"+1{tag.int % 10**10:010d}", password_hash="not used here", totp_secret=totp_secret)
        session.add(user)
    return user.id


def add_signing_key(database, encrypt) -> tuple[str, bytes]:
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    kid = uuid.uuid4().hex
    with database.transaction() as session:
        session.add(SigningKey(kid=kid, private_key=encrypt(pem), public_jwk={"kid": kid}))
    return kid, pem


def add_document(database, store, encrypt, document: bytes = PNG) -> uuid.UUID:
    user_id = add_user(database)
    with database.transaction() as session:
        request = VerificationRequest(user_id=user_id, reason="to sell", document_key=store.put(encrypt(document)),
                                      document_type="image/png", document_size=len(document),
                                      document_sha256=hashlib.sha256(document).hexdigest())
        session.add(request)
    return request.id


def totp_secrets(session) -> dict[uuid.UUID, bytes]:
    return dict(session.execute(sa.select(User.id, User.totp_secret).where(User.totp_secret.is_not(None))).all())


def private_keys(session) -> dict[str, bytes]:
    return dict(session.execute(sa.select(SigningKey.kid, SigningKey.private_key)).all())


def document_keys(session) -> dict[uuid.UUID, str]:
    return dict(session.execute(sa.select(VerificationRequest.id, VerificationRequest.document_key)).all())


def rotate(database, cipher, store, **options):
    return rotate_data_key(database, cipher, store, newest_key=NEW_KEY, **options)


def opens(cipher, token: bytes) -> bool:
    try:
        cipher.decrypt(token)
    except InvalidToken:
        return False
    return True


class FailingStore:
    """A store whose disk fills up after `puts_left` writes."""

    def __init__(self, store, puts_left: int) -> None:
        self.store, self.puts_left = store, puts_left

    def put(self, data: bytes) -> str:
        if self.puts_left == 0:
            raise OSError(28, "No space left on device")
        self.puts_left -= 1
        return self.store.put(data)

    def get(self, key: str) -> bytes:
        return self.store.get(key)

    def delete(self, key: str) -> None:
        self.store.delete(key)


def test_after_rotation_the_new_key_alone_opens_every_secret_key_and_document(database, session, store, old_cipher,
                                                                              cipher, new_only):
    secrets = {add_user(database, old_cipher.encrypt(f"SECRET{n}".encode())): f"SECRET{n}".encode()
               for n in range(5)}
    add_user(database)  # without 2FA: nothing to rotate
    keys = dict(add_signing_key(database, old_cipher.encrypt) for _ in range(3))
    documents = {add_document(database, store, old_cipher.encrypt, PNG + bytes([n])): PNG + bytes([n])
                 for n in range(3)}
    old_files = set(document_keys(session).values())

    report = rotate(database, cipher, store, batch_size=2)

    assert report == {"totp_secrets": Rotation(rotated=5), "signing_keys": Rotation(rotated=3),
                      "documents": Rotation(rotated=3)}
    assert {user_id: new_only.decrypt(token) for user_id, token in totp_secrets(session).items()} == secrets
    assert {kid: new_only.decrypt(token) for kid, token in private_keys(session).items()} == keys
    stored = document_keys(session)
    assert {request_id: new_only.decrypt(store.get(key)) for request_id, key in stored.items()} == documents
    assert not old_files & set(stored.values())
    for key in old_files:  # the copies under the old key are gone
        with pytest.raises(KeyError):
            store.get(key)


def test_values_already_under_the_new_key_are_left_as_they_are(database, session, store, old_cipher, cipher):
    written_since = add_user(database, cipher.encrypt(b"NEWER"))  # by a process restarted with the new key
    add_user(database, old_cipher.encrypt(b"OLDER"))
    add_document(database, store, cipher.encrypt)
    before = totp_secrets(session)[written_since], document_keys(session)

    report = rotate(database, cipher, store)

    assert report["totp_secrets"] == Rotation(rotated=1, current=1)
    assert report["documents"] == Rotation(current=1)
    assert (totp_secrets(session)[written_since], document_keys(session)) == before


def test_a_second_rotation_changes_nothing(database, session, store, old_cipher, cipher):
    add_user(database, old_cipher.encrypt(b"SECRET"))
    add_signing_key(database, old_cipher.encrypt)
    add_document(database, store, old_cipher.encrypt)
    rotate(database, cipher, store)
    after_first = totp_secrets(session), private_keys(session), document_keys(session)

    report = rotate(database, cipher, store)

    assert report == {"totp_secrets": Rotation(current=1), "signing_keys": Rotation(current=1),
                      "documents": Rotation(current=1)}
    assert (totp_secrets(session), private_keys(session), document_keys(session)) == after_first


def test_an_interrupted_rotation_leaves_every_document_readable_and_a_rerun_finishes_it(database, session, store,
                                                                                        old_cipher, cipher,
                                                                                        new_only):
    documents = {add_document(database, store, old_cipher.encrypt, PNG + bytes([n])): PNG + bytes([n])
                 for n in range(3)}
    add_user(database, old_cipher.encrypt(b"SECRET"))

    with pytest.raises(OSError):
        rotate(database, cipher, FailingStore(store, puts_left=1))

    stored = document_keys(session)
    assert {request_id: cipher.decrypt(store.get(key)) for request_id, key in stored.items()} == documents
    assert sum(opens(new_only, store.get(key)) for key in stored.values()) == 1

    report = rotate(database, cipher, store)

    assert report == {"totp_secrets": Rotation(current=1), "signing_keys": Rotation(),
                      "documents": Rotation(rotated=2, current=1)}
    assert {request_id: new_only.decrypt(store.get(key))
            for request_id, key in document_keys(session).items()} == documents


def test_a_value_no_key_opens_is_reported_and_left_as_it_is(database, session, store, old_cipher, cipher):
    lost = DataCipher((Fernet.generate_key().decode(),)).encrypt(b"SECRET")  # under a key dropped too early
    orphan = add_user(database, lost)
    add_user(database, old_cipher.encrypt(b"SECRET"))
    missing = add_document(database, store, old_cipher.encrypt)
    store.delete(document_keys(session)[missing])

    report = rotate(database, cipher, store)

    assert report == {"totp_secrets": Rotation(rotated=1, unreadable=1), "signing_keys": Rotation(),
                      "documents": Rotation(unreadable=1)}
    assert totp_secrets(session)[orphan] == lost


def test_the_rotate_data_key_command_reports_what_it_did(app, database, store, old_cipher, new_only):
    add_user(database, old_cipher.encrypt(b"SECRET"))
    add_document(database, store, old_cipher.encrypt)
    settings = dataclasses.asdict(context_of(app).settings)
    restarted = create_app({**settings, "data_keys": (NEW_KEY, OLD_KEY)})

    result = restarted.test_cli_runner().invoke(args=["rotate-data-key", "--batch-size", "1"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "totp secrets: 1 re-encrypted, 0 already under the newest key, 0 unreadable",
        "signing keys: 0 re-encrypted, 0 already under the newest key, 0 unreadable",
        "documents: 1 re-encrypted, 0 already under the newest key, 0 unreadable",
    ]
    again = restarted.test_cli_runner().invoke(args=["rotate-data-key"])
    assert "totp secrets: 0 re-encrypted, 1 already under the newest key, 0 unreadable" in again.output


def test_the_command_fails_when_a_value_opens_with_no_key(app, database):
    add_user(database, DataCipher((Fernet.generate_key().decode(),)).encrypt(b"SECRET"))

    result = app.test_cli_runner().invoke(args=["rotate-data-key"])

    assert result.exit_code == 1
    assert "1 stored value(s) open with no key of DATA_KEYS" in result.output
