"""Fixtures of the client's tests. The offline tests need none of them; the gateway tests
(test_client_gateway.py) use the library against this checkout's native stack (`make dev`),
started when it is not running, as the cross-service suite in tests/ does, and each user's
client connects from its own loopback address (servicekit.testing.gateway says why).
"""
from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import segno
import sqlalchemy as sa
from servicekit.testing import wait_until
from servicekit.testing.gateway import create_staff, stack_env
# Fixtures: imported here, they are this suite's (and not every service suite's, as the plugin's are).
from servicekit.testing.gateway import gateway_url, new_client  # noqa: F401

from beyou import identity
from beyou.api import Client, ProblemError
from beyou.contacts import Contacts
from beyou.keystore import Keyring

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def new_http(new_client) -> Callable[[], requests.Session]:
    """Factory of HTTP sessions for the library, each from its own loopback address (another device)."""
    return new_client


@dataclass
class User:
    """A registered, signed-in user of the library: the client, the password, the local keys and contacts."""

    client: Client
    username: str
    password: str
    keyring: Keyring
    contacts: Contacts

    @property
    def id(self) -> str:
        return self.client.session.user_id

    def generate_keys(self, family: str = "ed25519") -> None:
        identity.add_new_keys(self.keyring, family)
        identity.register_pending(self.client, self.keyring, save=lambda: None)


def _new_details() -> dict[str, str]:
    tag = uuid.uuid4()
    username = f"c{tag.hex[:12]}"
    return {"username": username, "email": f"{username}@client.test", "phone": f"+4420{tag.int % 10**8:08d}",
            "password": f"Client-{tag.hex[12:28]}"}


@pytest.fixture
def new_details() -> Callable[[], dict[str, str]]:
    """`new_details()`: a new username, email, phone and password."""
    return _new_details


@pytest.fixture
def new_user(gateway_url, new_http, tmp_path) -> Callable[..., User]:
    """`new_user(keys=True)`: a user registered (proof of work solved) and signed in through the library."""
    def make(keys: bool = True) -> User:
        details = _new_details()
        client = Client(gateway_url, http=new_http())
        client.register(**details)
        client.login(details["username"], details["password"])
        home = tmp_path / details["username"]
        user = User(client, details["username"], details["password"], Keyring(client.session.user_id, []),
                    Contacts(home / "contacts.json", owner_id=client.session.user_id))
        if keys:
            user.generate_keys()
        return user
    return make


@pytest.fixture
def staff(gateway_url, new_http) -> Client:
    """A staff account made the operator's way (`flask --app auth create-staff`), signed in."""
    details = _new_details()
    create_staff(ROOT, details)
    client = Client(gateway_url, http=new_http())
    client.login(details["username"], details["password"])
    return client


@pytest.fixture
def verify(staff) -> Callable[[User], None]:
    """`verify(user)`: the user asks to be verified with an ID document and staff approve it."""
    def approve(user: User) -> None:
        png = io.BytesIO()
        segno.make("an identity document").save(png, kind="png", scale=4)
        request = user.client.request_verification(png.getvalue(), filename="id.png", content_type="image/png",
                                                   reason="to create groups")
        staff.call("POST", f"/api/auth/admin/verifications/{request['id']}/approve", json={"notes": "ok"})
        user.client.refresh()       # the new access token carries verified=true
    return approve


@pytest.fixture
def befriend() -> Callable[[User, User], None]:
    """`befriend(a, b)`: a asks b to be friends, b accepts."""
    def make(a: User, b: User) -> None:
        def asked() -> bool:
            try:
                a.client.request_friendship(b.username)
            except ProblemError as problem:
                if problem.status != 404:       # b's profile has not reached social yet: 404
                    raise
                return False
            return True
        wait_until(asked, timeout=30, interval=0.1, message=f"{b.username}'s profile to reach social")
        incoming = b.client.friend_requests("incoming")["items"]
        b.client.accept_friend_request(next(r["id"] for r in incoming if r["sender"]["username"] == a.username))
    return make


@pytest.fixture
def messaging_database():
    """An engine on messaging's database (to play the attacker who alters stored messages)."""
    engine = sa.create_engine(stack_env(ROOT, "messaging")["DATABASE_URL"])
    yield engine
    engine.dispose()

