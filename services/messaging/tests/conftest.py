import dataclasses
import datetime as dt
import uuid

import pytest
from cryptography.fernet import Fernet
from servicekit.events import Event

from messaging import create_app
from messaging.events import handlers as messaging_handlers

API = "/api/messaging"
TEST_DATA_KEYS = (Fernet.generate_key().decode(),)


@pytest.fixture(scope="session")
def app(migrated_app):
    # Short heartbeats: the conformance pass reads a stream until its timeout, and stream tests wait for them.
    return migrated_app(create_app, DATA_KEYS=",".join(TEST_DATA_KEYS), STREAM_HEARTBEAT_SECONDS=0.25)


@pytest.fixture
def handlers():
    return messaging_handlers


@pytest.fixture
def client(app):
    return app.test_client()


# --- people, as auth's and social's events make them -----------------------------------------------

@dataclasses.dataclass(frozen=True)
class Person:
    """A user messaging heard of from auth, and the headers of their signed-in requests."""

    user_id: uuid.UUID
    username: str
    headers: dict[str, str]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _deliver(session, event_type: str, payload: dict) -> None:
    messaging_handlers.get(event_type)(session, Event.new(event_type, payload))
    session.commit()


def _verify(session, person) -> None:
    _deliver(session, "auth.user.verified", {"user_id": str(person.user_id), "request_id": str(uuid.uuid4()),
                                             "decided_at": _now()})


def _befriend(session, one, other) -> None:
    _deliver(session, "social.friendship.created", {"user_id": str(one.user_id), "friend_id": str(other.user_id),
                                                    "request_id": str(uuid.uuid4()), "created_at": _now()})


def _block(session, blocker, blocked) -> None:
    _deliver(session, "social.block.created",
             {"blocker_id": str(blocker.user_id), "blocked_id": str(blocked.user_id), "created_at": _now()})


def _ban(session, person) -> None:
    _deliver(session, "auth.user.banned", {"user_id": str(person.user_id), "reason": "spam", "banned_at": _now(),
                                           "actor_id": None})


@pytest.fixture
def now():
    """`now()`: the current time, as events carry it."""
    return _now


@pytest.fixture
def deliver():
    """`deliver(session, event_type, payload)`: handle an event as messaging's worker would (in the caller's
    transaction, then committed)."""
    return _deliver


@pytest.fixture
def verify():
    """`verify(session, person)`: auth announced that staff verified the person."""
    return _verify


@pytest.fixture
def befriend():
    """`befriend(session, one, other)`: social announced that the two are friends."""
    return _befriend


@pytest.fixture
def block():
    """`block(session, blocker, blocked)`: social announced the block."""
    return _block


@pytest.fixture
def ban():
    """`ban(session, person)`: auth announced the ban."""
    return _ban


@pytest.fixture
def new_person(session, token_issuer):
    """`new_person(verified=False)`: a user auth announced (verified or not), signed in."""
    def make(*, verified: bool = False) -> Person:
        user_id = uuid.uuid4()
        username = f"u_{user_id.hex[:12]}"
        _deliver(session, "auth.user.registered", {"user_id": str(user_id), "username": username,
                                                   "created_at": _now()})
        token = token_issuer.issue(user_id, verified=verified)
        person = Person(user_id, username, {"Authorization": f"Bearer {token}"})
        if verified:
            _verify(session, person)
        return person
    return make


@pytest.fixture
def alice(new_person):
    return new_person(verified=True)


@pytest.fixture
def bob(new_person):
    return new_person()


@pytest.fixture
def carol(new_person):
    return new_person()


@pytest.fixture
def direct(client, alice, bob) -> str:
    """The id of Alice's and Bob's direct conversation."""
    return client.post(f"{API}/conversations", headers=alice.headers,
                       json={"type": "direct", "user_id": str(bob.user_id)}).json["id"]
