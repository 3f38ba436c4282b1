"""Password reset: start -> verify -> confirm.

Start answers the same for every login name (whether the account exists, whether it has 2FA). With 2FA on, the
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
from servicekit.context import ClientOrigin
from servicekit.errors import Conflict, DomainError, Gone, Invalid, NotFound, TooManyRequests, Unauthorized
from sqlalchemy.orm import Session

from auth.accounts import find_user_for_login, hash_password, validate_new_password
from auth.code_senders import code_sender
from auth.config import Config
from servicekit.encryption import DataCipher
from auth.login_activity import LOCKED, UNKNOWN_USER, record_attempt, settle_attempt
from auth.models import LoginAttempt, PasswordReset, User
from auth.sessions import revoke_all_sessions
from auth.totp import verify_second_factor

CODE_DIGITS = 8
MAX_CODE_ATTEMPTS = 5  # wrong codes per reset before it is dead
# Failure reasons of reset attempts in the login activity (besides unknown_user and locked).
BAD_CODE, EXPIRED, RESET_USED, TOO_MANY_CODES = "bad_code", "expired", "reset_used", "too_many_codes"


def start_reset(session: Session, settings: Config, username_or_email: str, *, client: ClientOrigin) -> dict:
    """Open a reset. The answer is the same for every login name: it tells neither whether the account
    exists nor whether it has 2FA (the verify step accepts whichever code applies)."""
    typed = username_or_email.strip()
    user = find_user_for_login(session, typed)
    user_id = user.id if user else None
    attempt = record_attempt(session, username=typed, client=client, kind="reset", user_id=user_id)
    if _throttled(session, settings, attempt, user_id=user_id, typed=typed, ip=client.ip):
        settle_attempt(session, attempt, user_id=user_id, failure_reason=LOCKED)
        session.commit()
        raise _too_many(settings)
    reset = PasswordReset(id=uuid.uuid4(), user_id=user_id, requested_as=typed, ip=client.ip,
                          method="totp" if user is not None and user.totp_enabled else "code",
                          expires_at=_now() + dt.timedelta(seconds=settings.password_reset_ttl_seconds))
    if reset.method == "code":
        # Unknown accounts get a code too, never sent, so every later step behaves alike.
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        reset.code_hash = _code_hash(settings, reset.id, code)
        if user is not None:
            code_sender(settings.password_reset_code_sender, session).send(user, "email", user.email,
                                                                            "password_reset", code)
    session.add(reset)
    settle_attempt(session, attempt, user_id=user_id, failure_reason=None if user else UNKNOWN_USER)
    session.commit()
    return {"reset_id": reset.id, "expires_at": reset.expires_at}


def verify_reset(session: Session, settings: Config, cipher: DataCipher, reset_id: uuid.UUID, code: str, *,
                 client: ClientOrigin) -> dict:
    """Check the reset's code: a TOTP or recovery code when the account has 2FA on, else the code sent."""
    reset = session.get(PasswordReset, reset_id)
    if reset is None:
        raise NotFound("no such password reset")
    user = session.get(User, reset.user_id) if reset.user_id else None
    typed = reset.requested_as or ""
    attempt = record_attempt(session, username=typed, client=client, kind="reset", user_id=reset.user_id)
    if _throttled(session, settings, attempt, user_id=reset.user_id, typed=typed, ip=client.ip):
        error, reason = _too_many(settings), LOCKED
    else:
        session.refresh(reset, with_for_update=True)  # one code check at a time per reset
        error, reason = _verification_refusal(session, settings, cipher, reset, user, code)
    if error is None:
        reset.verified_at = _now()
    settle_attempt(session, attempt, user_id=reset.user_id, failure_reason=reason)
    session.commit()
    if error is not None:
        raise error
    return {"reset_id": reset.id, "verified": True, "expires_at": reset.expires_at}


def confirm_reset(session: Session, reset_id: uuid.UUID, new_password: str) -> None:
    """Set the new password of a verified reset (once) and sign the account out everywhere."""
    reset = session.get(PasswordReset, reset_id, with_for_update=True)
    if reset is None:
        raise NotFound("no such password reset")
    if reset.completed_at is not None:
        raise Gone("this reset was already used; start a new one")
    if reset.expires_at <= _now():
        raise Gone("this reset has expired; start a new one")
    if reset.verified_at is None or reset.user_id is None:
        raise Conflict("verify the code first")
    user = session.get(User, reset.user_id, with_for_update=True)
    validate_new_password(new_password, username=user.username, email=user.email)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = _now()
    reset.completed_at = _now()
    # Other resets still open for the account end too: the password they were for is gone.
    session.execute(sa.update(PasswordReset)
                    .where(PasswordReset.user_id == user.id, PasswordReset.completed_at.is_(None),
                           PasswordReset.id != reset.id)
                    .values(expires_at=sa.func.now()))
    revoke_all_sessions(session, user.id, "password_reset")
    session.commit()


# --- the steps' checks --------------------------------------------------------------------

def _verification_refusal(session: Session, settings: Config, cipher: DataCipher, reset: PasswordReset,
                          user: User | None, code: str) -> tuple[DomainError | None, str | None]:
    """(the error to answer, the reason to record) for a code that does not verify the reset; (None, None) if it does."""
    if reset.completed_at is not None:
        return Gone("this reset was already used; start a new one"), RESET_USED
    if reset.expires_at <= _now():
        return Gone("this reset has expired; start a new one"), EXPIRED
    if reset.failed_attempts >= MAX_CODE_ATTEMPTS:
        return Gone("too many wrong codes for this reset; start a new one"), TOO_MANY_CODES
    if reset.verified_at is not None:
        return Conflict("this reset is already verified; set the new password"), None
    if not _code_is_valid(session, settings, cipher, reset, user, code):
        reset.failed_attempts += 1
        return Invalid("the code is not valid", errors={"code": ["the code is not valid"]}), BAD_CODE
    return None, None


def _code_is_valid(session: Session, settings: Config, cipher: DataCipher, reset: PasswordReset, user: User | None,
                   code: str) -> bool:
    if reset.method == "totp":
        if user is None:
            return False
        try:
            verify_second_factor(session, cipher, user, code)
        except Unauthorized:
            return False
        return True
    candidate = _code_hash(settings, reset.id, "".join(code.split()))
    return reset.code_hash is not None and hmac.compare_digest(reset.code_hash, candidate)


def _code_hash(settings: Config, reset_id: uuid.UUID, code: str) -> str:
    """Keyed with SECRET_KEY: an 8-digit code's plain hash would be reversed by brute force."""
    return hmac.new(settings.secret_key.encode(), f"{reset_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _throttled(session: Session, settings: Config, attempt_id: int, *, user_id: uuid.UUID | None, typed: str,
               ip: str | None) -> bool:
    """Too many reset attempts on this account or from this address within the window.

    Every attempt counts, successful starts included (each one sends a code); refusals
    for being throttled do not, so the throttle ends a window after the last real attempt.
    """
    since = _now() - dt.timedelta(seconds=settings.login_failure_window_seconds)
    earlier = sa.select(sa.func.count()).select_from(LoginAttempt).where(
        LoginAttempt.kind == "reset", LoginAttempt.occurred_at >= since, LoginAttempt.id != attempt_id,
        LoginAttempt.failure_reason.is_distinct_from(LOCKED))
    if user_id is not None:
        account = LoginAttempt.user_id == user_id
    else:
        account = sa.and_(LoginAttempt.user_id.is_(None), sa.func.lower(LoginAttempt.username) == typed.lower())
    if session.scalar(earlier.where(account)) >= settings.login_lockout_after:
        return True
    return ip is not None and session.scalar(earlier.where(LoginAttempt.ip == ip)) >= settings.login_source_lockout_after


def _too_many(settings: Config) -> TooManyRequests:
    return TooManyRequests("too many password reset attempts; try again later",
                           headers={"Retry-After": str(settings.login_failure_window_seconds)})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
