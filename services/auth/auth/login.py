"""Signing in: password, then (when 2FA is on) a second factor, then a session with tokens.

Every refusal answers the same `InvalidCredentials` 401 (unknown user, bad password,
locked, banned), after the same amount of work, so the answer says nothing about
whether an account exists or is locked; the real reason goes to the login log.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time

from flask import current_app
from servicekit.errors import Unauthorized
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.accounts import find_user_for_login, hash_password, password_needs_rehash, verify_nothing, verify_password
from auth.config import Config
from auth.login_activity import (BAD_2FA_CODE, BAD_PASSWORD, BANNED, LOCKED, UNKNOWN_USER, complete_attempt,
                                 Standing, record_attempt, standing)
from auth.models import MfaChallenge, User
from auth.tokens import issue_tokens
from auth.totp import verify_second_factor

MFA_MAX_FAILED_ATTEMPTS = 5


class InvalidCredentials(Unauthorized):
    code, title = "invalid-credentials", "Invalid credentials"

    def __init__(self) -> None:
        super().__init__("invalid credentials")


def log_in(db: Session, *, login: str, password: str, ip: str | None, user_agent: str | None) -> dict:
    """Tokens, or {"mfa_required": True, "mfa_token"} when the account has 2FA on; `InvalidCredentials` otherwise."""
    settings = _settings()
    user = find_user_for_login(db, login)
    attempt = record_attempt(db, username=login, ip=ip, user_agent=user_agent, user_id=user.id if user else None)
    db.commit()  # on record before anything is checked, whatever happens next
    verdict = standing(db, settings, username=login, user_id=user.id if user else None, ip=ip)
    if verdict.delay_seconds:
        db.commit()  # ends the read: no pooled connection is held while the answer is held back
        time.sleep(verdict.delay_seconds)
    reason = _refusal(verdict, user, password)
    if reason is not None:
        complete_attempt(attempt, user_id=user.id if user else None, failure_reason=reason)
        db.commit()
        raise InvalidCredentials()
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.totp_enabled:
        complete_attempt(attempt, user_id=user.id)
        mfa_token = _open_mfa_challenge(db, user, ip=ip, user_agent=user_agent, settings=settings)
        db.commit()
        return {"mfa_required": True, "mfa_token": mfa_token, "expires_in": settings.mfa_token_ttl_seconds}
    tokens = issue_tokens(db, user, ip=ip, user_agent=user_agent)
    complete_attempt(attempt, user_id=user.id, session_id=tokens["session_id"])
    db.commit()
    return tokens


def _refusal(verdict: Standing, user: User | None, password: str) -> str | None:
    """Why to refuse (None: don't), after the same argon2 work whatever the reason."""
    password_ok = verify_password(user.password_hash, password) if user else verify_nothing(password)
    if verdict.locked:
        return LOCKED
    if user is None:
        return UNKNOWN_USER
    if not password_ok:
        return BAD_PASSWORD
    if user.banned_at is not None:
        return BANNED
    return None


def complete_mfa_login(db: Session, *, mfa_token: str, code: str, ip: str | None, user_agent: str | None) -> dict:
    """Finish a 2FA login with a TOTP or recovery code: tokens, or a 401."""
    settings = _settings()
    challenge = db.execute(select(MfaChallenge).where(MfaChallenge.token_hash == _digest(mfa_token))).scalar_one_or_none()
    if not _usable(challenge):
        raise _mfa_step_over()
    user = db.get(User, challenge.user_id)
    attempt = record_attempt(db, username=user.username, ip=ip, user_agent=user_agent, kind="2fa", user_id=user.id)
    db.commit()
    db.refresh(challenge, with_for_update=True)  # one code check at a time per sign-in step
    if not _usable(challenge):
        complete_attempt(attempt, user_id=user.id, failure_reason=BAD_2FA_CODE)
        db.commit()
        raise _mfa_step_over()
    verdict = standing(db, settings, username=user.username, user_id=user.id, ip=ip)
    if verdict.locked or user.banned_at is not None:
        complete_attempt(attempt, user_id=user.id, failure_reason=LOCKED if verdict.locked else BANNED)
        db.commit()
        raise InvalidCredentials()
    try:
        verify_second_factor(db, user, code)
    except Unauthorized:
        challenge.failed_attempts += 1
        complete_attempt(attempt, user_id=user.id, failure_reason=BAD_2FA_CODE)
        db.commit()
        raise
    challenge.used_at = dt.datetime.now(dt.UTC)
    tokens = issue_tokens(db, user, ip=ip, user_agent=user_agent)
    complete_attempt(attempt, user_id=user.id, session_id=tokens["session_id"])
    db.commit()
    return tokens


def _usable(challenge: MfaChallenge | None) -> bool:
    return (challenge is not None and challenge.used_at is None and challenge.expires_at > dt.datetime.now(dt.UTC)
            and challenge.failed_attempts < MFA_MAX_FAILED_ATTEMPTS)


def _mfa_step_over() -> Unauthorized:
    return Unauthorized("this sign-in step has expired or is used up; sign in again")


def _open_mfa_challenge(db: Session, user: User, *, ip: str | None, user_agent: str | None,
                        settings: Config) -> str:
    token = secrets.token_urlsafe(32)
    db.add(MfaChallenge(user_id=user.id, token_hash=_digest(token), ip=ip,
                        user_agent=user_agent[:512] if user_agent else None,
                        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.mfa_token_ttl_seconds)))
    return token


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _settings() -> Config:
    return current_app.extensions["servicekit"].settings
