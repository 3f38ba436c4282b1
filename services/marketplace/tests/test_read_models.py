"""The marketplace's copies of other services' state, fed by their events: users (verified, banned) and
blocks. Every handler is idempotent, and a verification or ban that overtakes its registration is kept."""
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from marketplace import read_models
from marketplace.models import Block, User


def at(minutes: int) -> str:
    return (dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)).isoformat()


def registered(deliver, user_id: uuid.UUID) -> None:
    deliver("auth.user.registered", {"user_id": str(user_id), "username": f"u_{user_id.hex[:12]}",
                                     "created_at": at(0)})


def verified(deliver, user_id: uuid.UUID) -> None:
    deliver("auth.user.verified", {"user_id": str(user_id), "request_id": str(uuid.uuid4()), "decided_at": at(1)})


def banned(deliver, user_id: uuid.UUID) -> None:
    deliver("auth.user.banned", {"user_id": str(user_id), "reason": "spam", "banned_at": at(2), "actor_id": None})


def unbanned(deliver, user_id: uuid.UUID) -> None:
    deliver("auth.user.unbanned", {"user_id": str(user_id), "unbanned_at": at(3), "actor_id": None})


def user_row(session, user_id: uuid.UUID) -> tuple | None:
    session.expire_all()
    user = session.get(User, user_id)
    return None if user is None else (user.username, user.verified, user.banned)


@pytest.fixture
def user_id() -> uuid.UUID:
    return uuid.uuid4()


def test_a_registered_user_is_known_once_however_often_the_event_comes(session, deliver, user_id):
    registered(deliver, user_id)
    registered(deliver, user_id)
    assert session.scalar(sa.select(sa.func.count()).where(User.user_id == user_id)) == 1
    assert user_row(session, user_id) == (f"u_{user_id.hex[:12]}", False, False)


def test_verification_and_bans_follow_auth(session, deliver, user_id):
    registered(deliver, user_id)
    verified(deliver, user_id)
    banned(deliver, user_id)
    assert (read_models.is_verified(session, user_id), read_models.is_banned(session, user_id)) == (True, True)
    unbanned(deliver, user_id)
    assert read_models.is_banned(session, user_id) is False
    assert read_models.is_verified(session, user_id) is True


def test_a_ban_that_overtakes_the_registration_is_kept(session, deliver, user_id):
    banned(deliver, user_id)
    verified(deliver, user_id)
    assert read_models.is_banned(session, user_id) is True
    registered(deliver, user_id)
    assert user_row(session, user_id) == (f"u_{user_id.hex[:12]}", True, True)


def test_a_user_not_heard_of_is_neither_verified_nor_banned(session):
    stranger = uuid.uuid4()
    assert (read_models.is_verified(session, stranger), read_models.is_banned(session, stranger)) == (False, False)


def test_blocks_follow_social_in_either_direction(session, deliver):
    one, other, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    payload = {"blocker_id": str(one), "blocked_id": str(other), "created_at": at(1)}
    deliver("social.block.created", payload)
    deliver("social.block.created", payload)  # redelivered

    assert session.scalar(sa.select(sa.func.count()).where(Block.blocker_id == one)) == 1
    assert read_models.blocked_between(session, one, other) is True
    assert read_models.blocked_between(session, other, one) is True
    assert read_models.blocked_between(session, one, third) is False

    removed = {"blocker_id": str(one), "blocked_id": str(other), "removed_at": at(2)}
    deliver("social.block.removed", removed)
    deliver("social.block.removed", removed)
    assert read_models.blocked_between(session, one, other) is False


def test_a_block_each_way_is_lifted_one_at_a_time(session, deliver):
    one, other = uuid.uuid4(), uuid.uuid4()
    deliver("social.block.created", {"blocker_id": str(one), "blocked_id": str(other), "created_at": at(1)})
    deliver("social.block.created", {"blocker_id": str(other), "blocked_id": str(one), "created_at": at(2)})
    deliver("social.block.removed", {"blocker_id": str(one), "blocked_id": str(other), "removed_at": at(3)})
    assert read_models.blocked_between(session, one, other) is True


def test_fields_a_consumer_does_not_know_are_ignored(session, deliver, user_id):
    deliver("auth.user.registered", {"user_id": str(user_id), "username": "extra", "created_at": at(0),
                                     "email": "ignored@example.com"})
    assert user_row(session, user_id) == ("extra", False, False)
