import dataclasses
import datetime as dt
import uuid

import pytest

from social import create_app
from social.events import handlers as social_handlers
from social.read_models import create_profile


@pytest.fixture(scope="session")
def app(migrated_app):
    return migrated_app(create_app)


@pytest.fixture
def handlers():
    return social_handlers


@pytest.fixture
def client(app):
    return app.test_client()


@dataclasses.dataclass(frozen=True)
class Member:
    """A user with a social profile (as auth.user.registered would have made it) and a valid token."""

    user_id: uuid.UUID
    username: str
    headers: dict[str, str]


@pytest.fixture
def new_member(session, token_issuer):
    """`new_member(username=None, *, staff=False, verified=False, profile=True)`: a fresh user, signed in, with a
    profile (as auth.user.registered makes it) unless `profile=False` (their registration has not reached social)."""

    def make(username: str | None = None, *, staff: bool = False, verified: bool = False,
             profile: bool = True) -> Member:
        user_id = uuid.uuid4()
        username = username or f"user_{user_id.hex[:12]}"
        if profile:
            create_profile(session, user_id=user_id, username=username, created_at=dt.datetime.now(dt.UTC))
            session.commit()
        roles = ("user", "staff") if staff else ("user",)
        token = token_issuer.issue(user_id, roles=roles, verified=verified)
        return Member(user_id, username, {"Authorization": f"Bearer {token}"})

    return make
