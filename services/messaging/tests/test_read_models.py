"""Messaging's copies of other services' state, fed by their events: users, public keys, friendships, blocks,
and the unread notification count passed on to the live streams."""
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from servicekit.events import Event, record
from servicekit.tables import inbox
from servicekit.testing import wait_until

from messaging import read_models
from messaging.events import handlers
from messaging.models import Block, Friendship, PublicKey, StreamEvent, User


def handle(session, event_type: str, payload: dict) -> None:
    """Handle an event as messaging's worker would (in the caller's transaction)."""
    handlers.get(event_type)(session, Event.new(event_type, payload))
    session.commit()


def at(minutes: int) -> str:
    return (dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)).isoformat()


def register(session, user_id: uuid.UUID) -> None:
    handle(session, "auth.user.registered", {"user_id": str(user_id), "username": f"u_{user_id.hex[:12]}",
                                             "created_at": at(0)})


def key_registered(session, user_id: uuid.UUID, purpose: str, *, minute: int) -> str:
    fingerprint = uuid.uuid4().hex * 2
    handle(session, "auth.key.registered", {
        "user_id": str(user_id), "fingerprint": fingerprint, "purpose": purpose,
        "algorithm": "ed25519" if purpose == "signing" else "x25519",
        "pem": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n", "created_at": at(minute)})
    return fingerprint


def keys_of(session, user_id: uuid.UUID) -> dict[str, tuple]:
    session.expire_all()
    return {key.fingerprint: (key.purpose, key.active, key.deactivated_at)
            for key in session.scalars(sa.select(PublicKey).where(PublicKey.user_id == user_id))}


@pytest.fixture
def user_id(session) -> uuid.UUID:
    user_id = uuid.uuid4()
    register(session, user_id)
    return user_id


def test_a_registered_user_is_known_once_however_often_the_event_comes(session, user_id):
    register(session, user_id)

    users = session.scalars(sa.select(User).where(User.user_id == user_id)).all()
    assert [(u.username, u.verified, u.banned) for u in users] == [(f"u_{user_id.hex[:12]}", False, False)]


def test_verification_and_bans_follow_auth(session, user_id):
    handle(session, "auth.user.verified", {"user_id": str(user_id), "request_id": str(uuid.uuid4()),
                                           "decided_at": at(1)})
    handle(session, "auth.user.banned", {"user_id": str(user_id), "reason": "spam", "banned_at": at(2),
                                         "actor_id": None})
    assert (read_models.is_verified(session, user_id), read_models.is_banned(session, user_id)) == (True, True)

    handle(session, "auth.user.unbanned", {"user_id": str(user_id), "unbanned_at": at(3), "actor_id": None})
    assert read_models.is_banned(session, user_id) is False


def test_news_of_a_user_messaging_does_not_know_changes_nothing(session):
    stranger = uuid.uuid4()

    handle(session, "auth.user.verified", {"user_id": str(stranger), "request_id": str(uuid.uuid4()),
                                           "decided_at": at(1)})

    assert session.get(User, stranger) is None


def test_a_new_key_becomes_active_and_deactivates_the_previous_one_of_its_purpose(session, user_id):
    first = key_registered(session, user_id, "signing", minute=1)
    encryption = key_registered(session, user_id, "encryption", minute=2)
    second = key_registered(session, user_id, "signing", minute=3)

    assert keys_of(session, user_id) == {
        first: ("signing", False, dt.datetime.fromisoformat(at(3))),
        encryption: ("encryption", True, None),
        second: ("signing", True, None)}


def test_a_key_whose_event_arrives_late_does_not_replace_the_newer_active_key(session, user_id):
    newer = key_registered(session, user_id, "encryption", minute=5)
    older = key_registered(session, user_id, "encryption", minute=1)

    keys = keys_of(session, user_id)
    assert (keys[newer][1], keys[older][1]) == (True, False)


def test_a_revoked_key_is_kept_inactive_for_old_messages_and_a_repeated_event_changes_nothing(session, user_id):
    fingerprint = key_registered(session, user_id, "signing", minute=1)
    revoked = {"user_id": str(user_id), "fingerprint": fingerprint, "purpose": "signing", "deactivated_at": at(2)}

    handle(session, "auth.key.revoked", revoked)
    handle(session, "auth.key.revoked", revoked)
    handle(session, "auth.key.revoked", {**revoked, "fingerprint": "f" * 64})  # unknown here: nothing to do

    assert keys_of(session, user_id) == {fingerprint: ("signing", False, dt.datetime.fromisoformat(at(2)))}


def test_a_friendship_is_two_rows_and_ends_in_both(session):
    one, other = uuid.uuid4(), uuid.uuid4()
    created = {"user_id": str(one), "friend_id": str(other), "request_id": str(uuid.uuid4()), "created_at": at(1)}

    handle(session, "social.friendship.created", created)
    handle(session, "social.friendship.created", created)
    assert read_models.friends_of(session, one, {other}) == {other}
    assert read_models.friends_of(session, other, {one}) == {one}

    handle(session, "social.friendship.removed", {"user_id": str(other), "friend_id": str(one),
                                                  "reason": "unfriended", "removed_at": at(2)})
    assert session.scalar(sa.select(sa.func.count()).select_from(Friendship).where(
        Friendship.user_id.in_([one, other]))) == 0


def test_a_block_applies_both_ways_until_it_is_lifted(session):
    blocker, blocked = uuid.uuid4(), uuid.uuid4()
    block = {"blocker_id": str(blocker), "blocked_id": str(blocked)}

    handle(session, "social.block.created", {**block, "created_at": at(1)})
    handle(session, "social.block.created", {**block, "created_at": at(1)})
    assert read_models.blocked_between(session, blocker, blocked) and read_models.blocked_between(session, blocked,
                                                                                                 blocker)

    handle(session, "social.block.removed", {**block, "removed_at": at(2)})
    assert not read_models.blocked_between(session, blocked, blocker)


def test_the_unread_notification_count_reaches_the_users_streams(session, user_id):
    handle(session, "social.notifications.changed", {"user_id": str(user_id), "unread": 3})

    assert session.scalars(sa.select(StreamEvent.data).where(
        StreamEvent.user_id == user_id, StreamEvent.type == "notifications")).all() == [{"unread": 3}]


def test_events_cross_the_real_bus_into_the_read_models(app, database, connected_worker):
    connected_worker(app, handlers)
    blocker, blocked = uuid.uuid4(), uuid.uuid4()
    event = Event.new("social.block.created", {"blocker_id": str(blocker), "blocked_id": str(blocked),
                                               "created_at": at(1)})
    with database.transaction() as session:  # stands in for social: the event crosses RabbitMQ
        record(session, event)

    def handled() -> bool:
        with database.session() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(inbox)
                                  .where(inbox.c.event_id == event.id)) == 1
    wait_until(handled, timeout=90, message="the block to be handled by messaging's worker")

    with database.session() as session:
        assert session.get(Block, (blocker, blocked)) is not None
