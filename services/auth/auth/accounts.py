"""Accounts: registration, passwords (argon2id), the account itself, password change."""
from __future__ import annotations

import datetime as dt
import functools
import uuid
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from servicekit.context import ClientOrigin
from servicekit.db import own_transaction
from servicekit.errors import Conflict, Invalid, NotFound
from servicekit.events import publish
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth.challenges import spend_challenge
from auth.config import Config
from auth.login_activity import check_on_record
from auth.models import User
from auth.sessions import revoke_all_sessions

# OWASP's Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 at least.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 8, 128
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
STAFF_ROLES = ("user", "staff")
_UNIQUE_FIELDS = {"uq_users_username_lower": "username", "uq_users_email": "email", "uq_users_phone": "phone"}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(uuid.uuid4().hex)


def verify_nothing(password: str) -> None:
    """Spend the time a real check would, so an unknown username answers as slowly as a known one."""
    verify_password(_dummy_hash(), password)


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("# "))


def validate_new_password(password: str, *, username: str | None = None, email: str | None = None) -> None:
    """Length 8..128, not a common password, not the username or email; `Invalid` otherwise."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"must be at least {PASSWORD_MIN_LENGTH} characters long")
    elif len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"must be at most {PASSWORD_MAX_LENGTH} characters long")
    elif password.lower() in common_passwords():
        problems.append("is too common; choose one that is harder to guess")
    elif password.lower() in {(username or "").lower(), (email or "").lower()}:
        problems.append("must not be your username or email address")
    if problems:
        raise Invalid("the password is not acceptable", errors={"password": problems})


def register_user(session: Session, secret_key: str, *, username: str, email: str, phone: str, password: str,
                  challenge: dict | None) -> User:
    """Create an account from a solved proof-of-work challenge; publishes `auth.user.registered`.

    The solution is spent by the attempt, whatever its outcome (in a transaction of its own),
    so one solution cannot probe which usernames, emails or phones are taken.
    """
    with own_transaction(session) as spending:
        spend_challenge(spending, secret_key, challenge)
    user = _new_account(session, username=username, email=email, phone=phone, password=password, roles=("user",))
    session.commit()
    return user


def create_staff_account(session: Session, *, username: str, email: str, phone: str, password: str) -> User:
    """A new account with the staff role (the operator's bootstrap of the first staff member)."""
    user = _new_account(session, username=username, email=email, phone=phone, password=password, roles=STAFF_ROLES)
    session.commit()
    return user


def _new_account(session: Session, *, username: str, email: str, phone: str, password: str,
                 roles: tuple[str, ...]) -> User:
    """Add an account and publish `auth.user.registered`; `Conflict` naming a taken field."""
    email = email.lower()
    validate_new_password(password, username=username, email=email)
    _refuse_taken(session, username=username, email=email, phone=phone)
    user = User(id=uuid.uuid4(), username=username, email=email, phone=phone, password_hash=hash_password(password),
                roles=list(roles))
    session.add(user)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent registration took a value between the check and the insert
        session.rollback()
        field = _UNIQUE_FIELDS.get(getattr(error.orig.diag, "constraint_name", None), "username")
        raise Conflict(f"this {field} is already registered", errors={field: ["is already registered"]}) from None
    session.refresh(user)
    publish(session, "auth.user.registered",
            {"user_id": user.id, "username": user.username, "created_at": user.created_at})
    return user


def _refuse_taken(session: Session, *, username: str, email: str, phone: str) -> None:
    taken = session.execute(select(User.username, User.email, User.phone).where(or_(
        func.lower(User.username) == username.lower(), User.email == email, User.phone == phone))).all()
    for field, value in (("username", username.lower()), ("email", email), ("phone", phone)):
        if any((row.username.lower() if field == "username" else getattr(row, field)) == value for row in taken):
            raise Conflict(f"this {field} is already registered", errors={field: ["is already registered"]})


def find_user_for_login(session: Session, login: str) -> User | None:
    """The account a login name refers to: its username (any case) or its email."""
    login = login.strip().lower()
    column = User.email if "@" in login else func.lower(User.username)
    return session.execute(select(User).where(column == login)).scalar_one_or_none()


def get_account(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such account")
    return user


def change_password(session: Session, settings: Config, user_id: uuid.UUID, *, current_password: str,
                    new_password: str, current_session_id: uuid.UUID, client: ClientOrigin) -> None:
    """Replace the password (the current one is required) and sign out every other session.

    Checking the current password is a login attempt like any other: recorded, and refused
    while the account is locked (429), so a stolen access token cannot be used to guess it.
    """
    user = get_account(session, user_id)
    validate_new_password(new_password, username=user.username, email=user.email)
    refused = check_on_record(
        session, settings, user=user, client=client, kind="password",
        check=lambda: None if verify_password(user.password_hash, current_password) else "current_password")
    if refused is None:
        user.password_hash = hash_password(new_password)
        user.password_changed_at = dt.datetime.now(dt.UTC)
        revoke_all_sessions(session, user.id, "password_changed", except_session_id=current_session_id)
    session.commit()
    if refused is not None:
        raise refused
