"""Moving a column's values under the newest data key: older tokens are re-encrypted, current ones skipped, one
no key opens is reported and left, and only the rows asked for are touched."""
import logging

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.db import Database, new_metadata
from servicekit.encryption import DataCipher, Reencryption, reencrypt_column

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


class Base(DeclarativeBase):
    metadata = new_metadata()


class Secret(Base):
    __tablename__ = "secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str]
    value: Mapped[bytes | None]


@pytest.fixture
def database(databases):
    database = Database(databases.create("encryption"))
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def store(database, *values: bytes | None, kind: str = "secret") -> list[int]:
    with database.transaction() as session:
        rows = [Secret(kind=kind, value=value) for value in values]
        session.add_all(rows)
    return [row.id for row in rows]


def stored(database) -> dict[int, bytes | None]:
    with database.session() as session:
        return dict(session.execute(sa.select(Secret.id, Secret.value)).all())


def rotate(database, *where, batch_size=2) -> Reencryption:
    return reencrypt_column(database, DataCipher((NEW_KEY, OLD_KEY)), DataCipher((NEW_KEY,)), Secret.id,
                            Secret.value, *where, batch_size=batch_size)


def test_values_under_an_older_key_move_under_the_newest_and_a_second_run_finds_them_current(database):
    old, new = DataCipher((OLD_KEY,)), DataCipher((NEW_KEY,))
    store(database, *(old.encrypt(f"old {n}".encode()) for n in range(3)), new.encrypt(b"new"), None)

    first = rotate(database)
    second = rotate(database)

    assert first == Reencryption(reencrypted=3, current=1)
    assert second == Reencryption(current=4)
    assert sorted(new.decrypt(value) for value in stored(database).values() if value is not None) == [
        b"new", b"old 0", b"old 1", b"old 2"]


def test_a_value_no_key_opens_is_counted_logged_and_left_as_it_is(database, caplog):
    lost = DataCipher((Fernet.generate_key().decode(),)).encrypt(b"lost")  # under a key dropped too early
    [lost_id] = store(database, lost)

    with caplog.at_level(logging.WARNING, logger="servicekit.encryption"):
        report = rotate(database)

    assert report == Reencryption(unreadable=1)
    assert stored(database)[lost_id] == lost
    assert [(r.message, r.table, r.row) for r in caplog.records] == [
        ("no data key opens a stored value", "secrets", str(lost_id))]


def test_only_the_rows_selected_are_rewritten(database):
    old = DataCipher((OLD_KEY,))
    [kept_id] = store(database, b"{not a token: the client's own ciphertext}", kind="opaque")
    store(database, old.encrypt(b"secret"))

    report = rotate(database, Secret.kind == "secret")

    assert report == Reencryption(reencrypted=1)
    assert stored(database)[kept_id] == b"{not a token: the client's own ciphertext}"


def test_a_batch_size_below_one_is_refused(database):
    with pytest.raises(ValueError, match="batch_size"):
        rotate(database, batch_size=0)
