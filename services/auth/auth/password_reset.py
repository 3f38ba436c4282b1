"""Password reset: start -> verify -> confirm.

Start answers the same whether or not the account exists. With 2FA on, the
verify step needs a TOTP or recovery code; without it, a one-time code
delivered by the configured sender. Confirm sets the new password and revokes
every session. Attempts are recorded as login activity (kind "reset") and
throttled per account and per source address with the login thresholds.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid

import sqlalchemy as sa
from flask import current_app
from servicekit.errors import Conflict, Gone, Invalid, NotFound, TooManyRequests, Unauthorized
from sqlalchemy.orm import Session

from auth.accounts import find_user_for_login, hash_password, validate_new_password
from auth.code_senders import code_sender
from auth.config import Config
from auth.login_activity import LOCKED, UNKNOWN_USER, complete_attempt, record_attempt
from auth.models import LoginAttempt, PasswordReset, User
from auth.sessions import revoke_all_sessions
from auth.totp import verify_second_factor

CODE_DIGITS = 8
MAX_CODE_ATTEMPTS = 5  # wrong codes per reset before it is dead
# Failure reasons of reset attempts in the login activity (besides unknown_user and locked).
BAD_CODE, EXPIRED, RESET_USED, TOO_MANY_CODES = "bad_code", "expired", "reset_used", "too_many_codes"


def start_reset(db_session: Session, username_or_email: str, *, ip: str | None, user_agent: str | None) -> dict:
    """Open a reset; the answer never tells whether the account exists."""
    settings = _settings()
    typed = username_or_email.strip()
    user = find_user_for_login(db_session, typed)
    attempt = _record(db_session, typed, user, ip, user_agent)
    _refuse_if_throttled(db_session, settings, attempt)
    reset = PasswordReset(id=uuid.uuid4(), user_id=user.id if user else None, requested_as=typed, ip=ip,
                          method="totp" if user is not None and user.totp_enabled else "code",
                          expires_at=_now() + dt.timedelta(seconds=settings.password_reset_ttl_seconds))
    if reset.method == "code":
        # Unknown accounts get a code too, never sent, so every later step behaves alike.
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        reset.code_hash = _code_hash(settings, reset.id, code)
        if user is not None:
            sender = code_sender(settings.password_reset_code_sender, db_session)
            sender.send(user, "email", user.email, "password_reset", code)
    db_session.add(reset)
    complete_attempt(attempt, user_id=attempt.user_id, failure_reason=None if user else UNKNOWN_USER)
    db_session.commit()
    return {"reset_id": reset.id, "method": reset.method}


def verify_reset(db_session: Session, reset_id: uuid.UUID, code: str, *, ip: str | None,
                 user_agent: str | None) -> dict:
    """Check the reset's code (TOTP or recovery code with 2FA on, the delivered code otherwise)."""
    settings = _settings()
    reset = db_session.get(PasswordReset, reset_id)
    if reset is None:
        raise NotFound("no such password reset")
    user = db_session.get(User, reset.user_id) if reset.user_id else None
    attempt = _record(db_session, reset.requested_as or "", user, ip, user_agent)
    _refuse_if_throttled(db_session, settings, attempt)
    db_session.refresh(reset, with_for_update=True)  # one code check at a time per reset
    _refuse_if_unusable(db_session, reset, attempt)
    if reset.verified_at is not None:
        complete_attempt(attempt, user_id=attempt.user_id)
        db_session.commit()
        raise Conflict("this reset is already verified; set the new password")
    if not _code_is_valid(db_session, settings, reset, user, code):
        reset.failed_attempts += 1
        complete_attempt(attempt, user_id=attempt.user_id, failure_reason=BAD_CODE)
        db_session.commit()
        raise Invalid("the code is not valid", errors={"code": ["the code is not valid"]})
    reset.verified_at = _now()
    complete_attempt(attempt, user_id=attempt.user_id)
    db_session.commit()
    return {"reset_id": reset.id, "verified": True, "expires_at": reset.expires_at}


def confirm_reset(db_session: Session, reset_id: uuid.UUID, new_password: str) -> None:
    """Set the new password of a verified reset (once) and sign the account out everywhere."""
    reset = _reset_for_update(db_session, reset_id)
    if reset.completed_at is not None:
        raise Gone("this reset was already used; start a new one")
    if reset.expires_at <= _now():
        raise Gone("this reset has expired; start a new one")
    if reset.verified_at is None or reset.user_id is None:
        raise Conflict("verify the code first")
    user = db_session.get(User, reset.user_id, with_for_update=True)
    validate_new_password(new_password, username=user.username, email=user.email)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = _now()
    reset.completed_at = _now()
    # Other resets still open for the account end too: the password they were for is gone.
    db_session.execute(sa.update(PasswordReset)
                       .where(PasswordReset.user_id == user.id, PasswordReset.completed_at.is_(None),
                              PasswordReset.id != reset.id)
                       .values(expires_at=sa.func.now()))
    revoke_all_sessions(db_session, user.id, "password_reset")
    db_session.commit()


# --- the steps' checks --------------------------------------------------------------------

def _reset_for_update(db_session: Session, reset_id: uuid.UUID) -> PasswordReset:
    reset = db_session.get(PasswordReset, reset_id, with_for_update=True)
    if reset is None:
        raise NotFound("no such password reset")
    return reset


def _refuse_if_unusable(db_session: Session, reset: PasswordReset, attempt: LoginAttempt) -> None:
    """Gone (410) for a used, expired or exhausted reset; the refusal is recorded."""
    if reset.completed_at is not None:
        reason, detail = RESET_USED, "this reset was already used; start a new one"
    elif reset.expires_at <= _now():
        reason, detail = EXPIRED, "this reset has expired; start a new one"
    elif reset.failed_attempts >= MAX_CODE_ATTEMPTS:
        reason, detail = TOO_MANY_CODES, "too many wrong codes for this reset; start a new one"
    else:
        return
    complete_attempt(attempt, user_id=attempt.user_id, failure_reason=reason)
    db_session.commit()
    raise Gone(detail)


def _code_is_valid(db_session: Session, settings: Config, reset: PasswordReset, user: User | None,
                   code: str) -> bool:
    if reset.method == "totp":
        if user is None:
            return False
        try:
            verify_second_factor(db_session, user, code)
        except Unauthorized:
            return False
        return True
    candidate = _code_hash(settings, reset.id, "".join(code.split()))
    return reset.code_hash is not None and hmac.compare_digest(reset.code_hash, candidate)


def _code_hash(settings: Config, reset_id: uuid.UUID, code: str) -> str:
    """Keyed with SECRET_KEY: an 8-digit code's plain hash would be reversed by brute force."""
    return hmac.new(settings.secret_key.encode(), f"{reset_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _record(db_session: Session, typed: str, user: User | None, ip: str | None,
            user_agent: str | None) -> LoginAttempt:
    """Put the attempt on record (kind "reset") before anything is checked."""
    attempt = record_attempt(db_session, username=typed, ip=ip, user_agent=user_agent, kind="reset",
                             user_id=user.id if user else None)
    db_session.commit()
    return attempt


def _refuse_if_throttled(db_session: Session, settings: Config, attempt: LoginAttempt) -> None:
    """429 after too many reset attempts on this account or from this address within the window.

    Every attempt counts, successful starts included (each one sends a code); refusals
    for being throttled do not, so the throttle ends a window after the last real attempt.
    """
    since = _now() - dt.timedelta(seconds=settings.login_failure_window_seconds)
    earlier = sa.select(sa.func.count()).select_from(LoginAttempt).where(
        LoginAttempt.kind == "reset", LoginAttempt.occurred_at >= since, LoginAttempt.id != attempt.id,
        LoginAttempt.failure_reason.is_distinct_from(LOCKED))
    if attempt.user_id is not None:
        account = LoginAttempt.user_id == attempt.user_id
    else:
        account = sa.and_(LoginAttempt.user_id.is_(None),
                          sa.func.lower(LoginAttempt.username) == attempt.username.lower())
    throttled = db_session.scalar(earlier.where(account)) >= settings.login_lockout_after
    if not throttled and attempt.ip is not None:
        from_source = db_session.scalar(earlier.where(LoginAttempt.ip == attempt.ip))
        throttled = from_source >= settings.login_source_lockout_after
    if throttled:
        complete_attempt(attempt, user_id=attempt.user_id, failure_reason=LOCKED)
        db_session.commit()
        raise TooManyRequests("too many password reset attempts; try again later",
                              headers={"Retry-After": str(settings.login_failure_window_seconds)})


def _settings() -> Config:
    return current_app.extensions["servicekit"].settings


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
