import dataclasses
import hashlib
import itertools
import uuid

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from servicekit.context import context_of

from auth import create_app
from auth.events import handlers as auth_handlers
from auth.models import User

# Test-only secrets: generated per run, never a default in config.py.
TEST_SECRETS = {"SECRET_KEY": Fernet.generate_key().decode(), "DATA_KEYS": Fernet.generate_key().decode(),
                "POW_DIFFICULTY_BITS": 8}
# Every test signs in from 127.0.0.1: per-source throttling would make one test's failures slow
# down the next, so the shared app only throttles per account (test_login_activity has a strict app).
SHARED_SOURCE_LIMITS = {"LOGIN_SLOWDOWN_AFTER": 1000, "LOGIN_SOURCE_LOCKOUT_AFTER": 1000}


@pytest.fixture(scope="session")
def app(migrated_app, tmp_path_factory):
    return migrated_app(create_app, DOCUMENTS_DIR=str(tmp_path_factory.mktemp("documents")),
                        **TEST_SECRETS, **SHARED_SOURCE_LIMITS)


@pytest.fixture
def handlers():
    return auth_handlers


@pytest.fixture
def client(app):
    return app.test_client()


@dataclasses.dataclass
class SignedInUser:
    """An account registered and signed in through the API, with what a client would keep."""

    id: str
    username: str
    email: str
    phone: str
    password: str
    access_token: str
    refresh_token: str
    session_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture(scope="session")
def solve_challenge():
    """`solve_challenge(challenge_json) -> {"token", "nonce"}`: what a client does before registering."""
    def solve(challenge: dict) -> dict:
        token, difficulty = challenge["token"], challenge["difficulty"]
        for nonce in itertools.count():
            digest = hashlib.sha256(f"{token}:{nonce}".encode()).digest()
            if int.from_bytes(digest, "big") >> (256 - difficulty) == 0:
                return {"token": token, "nonce": str(nonce)}
    return solve


@pytest.fixture(scope="session")
def registration(app, solve_challenge):
    """`registration(**overrides) -> dict`: a valid registration body (fresh unique values, solved challenge)."""
    def make(**overrides) -> dict:
        tag = uuid.uuid4()
        username = f"u{tag.hex[:12]}"
        challenge = app.test_client().post("/api/auth/challenge").json
        body = {"username": username, "email": f"{username}@example.test",
                "phone": f"+44{tag.int % 10**10:010d}", "password": f"Pw-{tag.hex[12:28]}",
                "challenge": solve_challenge(challenge)}
        return {**body, **overrides}
    return make


@pytest.fixture(scope="session")
def sign_in(app):
    """`sign_in(user, **environ) -> SignedInUser`: a new session of an existing account (no 2FA)."""
    def log_in(user: SignedInUser, **environ) -> SignedInUser:
        response = app.test_client().post("/api/auth/login", json={"username": user.username,
                                                                   "password": user.password},
                                          environ_base=environ)
        assert response.status_code == 200, response.json
        tokens = response.json
        return dataclasses.replace(user, access_token=tokens["access_token"], refresh_token=tokens["refresh_token"],
                                   session_id=tokens["session_id"])
    return log_in


@pytest.fixture(scope="session")
def new_user(app, registration, sign_in):
    """`new_user(**overrides) -> SignedInUser`: registers through the API (solving the challenge) and signs in."""
    def make(**overrides) -> SignedInUser:
        body = registration(**overrides)
        response = app.test_client().post("/api/auth/register", json=body)
        assert response.status_code == 201, response.json
        user = SignedInUser(id=response.json["id"], username=response.json["username"], email=response.json["email"],
                            phone=response.json["phone"], password=body["password"], access_token="",
                            refresh_token="", session_id="")
        return sign_in(user)
    return make


@pytest.fixture(scope="session")
def new_staff(app, new_user, sign_in):
    """`new_staff(**overrides) -> SignedInUser`: like new_user, with the staff role in its token."""
    def make(**overrides) -> SignedInUser:
        user = new_user(**overrides)
        with context_of(app).db.transaction() as session:
            session.execute(sa.update(User).where(User.id == uuid.UUID(user.id)).values(roles=["user", "staff"]))
        return sign_in(user)
    return make


@pytest.fixture
def caller(new_user):
    """Auth verifies its own tokens (local keys), so its `whoami` caller is a real signed-in account."""
    user = new_user()
    return uuid.UUID(user.id), user.headers


@pytest.fixture
def staff_caller(new_staff):
    """A real signed-in staff member, for the contract's staff pass."""
    staff = new_staff()
    return uuid.UUID(staff.id), staff.headers


@pytest.fixture
def cipher(app):
    """The app's data cipher, for calling the domain directly."""
    return context_of(app).resources["cipher"]
