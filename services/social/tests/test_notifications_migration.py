"""Migration 0004: the message notifications already there are gathered, one unread per user and conversation."""
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from servicekit import migrations
from servicekit.context import context_of

from social import create_app
from social.models import Notification


@pytest.fixture
def at_0003(settings_overrides):
    """The context of a social app whose fresh database is migrated up to 0003."""
    context = context_of(create_app(settings_overrides("social")))
    migrations.upgrade(context.package_dir, context.settings, "0003")
    yield context
    context.db.dispose()


def test_unread_message_notifications_already_there_are_gathered_per_conversation(at_0003):
    alice, bob, sender = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    talk, other_talk = uuid.uuid4(), uuid.uuid4()
    now = dt.datetime.now(dt.UTC)

    def message(user_id, conversation_id, minutes_ago, *, read=False):
        return {"id": uuid.uuid4(), "user_id": user_id, "kind": "message.received", "source_id": uuid.uuid4(),
                "actor_id": sender, "subject_type": "conversation", "subject_id": conversation_id,
                "data": {"message_id": str(uuid.uuid4())}, "created_at": now - dt.timedelta(minutes=minutes_ago),
                "read_at": now if read else None}

    unread_in_talk = [message(alice, talk, minutes) for minutes in (30, 20, 10)]
    read_in_talk, in_other_talk, bobs = message(alice, talk, 40, read=True), message(alice, other_talk, 5), \
        message(bob, talk, 10)
    with at_0003.db.transaction() as session:
        session.execute(sa.insert(Notification.__table__).values(
            [*unread_in_talk, read_in_talk, in_other_talk, bobs]))

    migrations.upgrade(at_0003.package_dir, at_0003.settings)

    with at_0003.db.session() as session:
        left = {row.id: (row.read_at is None, row.data) for row in session.execute(
            sa.select(Notification.id, Notification.read_at, Notification.data))}
    newest = unread_in_talk[-1]
    assert left == {
        newest["id"]: (True, {**newest["data"], "count": 3}),
        read_in_talk["id"]: (False, {**read_in_talk["data"], "count": 1}),
        in_other_talk["id"]: (True, {**in_other_talk["data"], "count": 1}),
        bobs["id"]: (True, {**bobs["data"], "count": 1}),
    }
