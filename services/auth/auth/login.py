"""Signing in: password, then (when 2FA is on) a second factor, then a session with tokens.

Every refusal answers the same `InvalidCredentials` 401 (unknown user, bad password,
throttled, locked, banned, suspended), so the answer says nothing about whether an account
exists or is locked; the real reason goes to the login log. A checked password
costs the same argon2 work whether or not the account exists.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from servicekit.context import ClientOrigin
from servicekit.errors import Unauthorized
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.accounts import find_user_for_login, hash_password, password_needs_rehash, verify_nothing, verify_password
from auth.config import Config
from servicekit.encryption import DataCipher
from auth.login_activity import (BAD_2FA_CODE, BAD_PASSWORD, BANNED, SUSPENDED, UNKNOWN_USER, Standing,
                                 record_attempt, settle_attempt, standing)
from auth.models import MfaChallenge, User
from auth.moderation import is_suspended
from auth.tokens import issue_tokens
from auth.totp import verify_second_factor

MFA_MAX_FAILED_ATTEMPTS = 5


class InvalidCredentials(Unauthorized):
    code, title = "invalid-credentials", "Invalid credentials"

    def __init__(self) -> None:
        super().__init__("invalid credentials")


def log_in(session: Session, settings: Config, cipher: DataCipher, *, login: str, password: str,
           client: ClientOrigin) -> dict:
    """Tokens, or {"mfa_required": True, "mfa_token"} when the account has 2FA on; `InvalidCredentials` otherwise."""
    user = find_user_for_login(session, login)
    user_id = user.id if user else None
    attempt = record_attempt(session, username=login, client=client, user_id=user_id)
    verdict = standing(session, settings, username=login, user_id=user_id, ip=client.ip)
    refusal = _refusal(session, verdict, user, password)
    if refusal is not None:
        settle_attempt(session, attempt, user_id=user_id, failure_reason=refusal)
    elif user.totp_enabled:
        settle_attempt(session, attempt, user_id=user.id)
        result = {"mfa_required": True, "mfa_token": _open_mfa_challenge(session, settings, user, client),
                  "expires_in": settings.mfa_token_ttl_seconds}
    else:
        result = issue_tokens(session, settings, cipher, user, client=client)
        settle_attempt(session, attempt, user_id=user.id, session_id=result["session_id"])
    if refusal is None and password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.commit()
    if refusal is not None:
        raise InvalidCredentials()
    return result


def _refusal(session: Session, verdict: Standing, user: User | None, password: str) -> str | None:
    """Why to refuse (None: don't). A throttled or locked attempt is refused without a check; any other
    costs the same argon2 work whatever the reason."""
    if verdict.refusal is not None:
        return verdict.refusal
    password_ok = verify_password(user.password_hash, password) if user else verify_nothing(password)
    if user is None:
        return UNKNOWN_USER
    if not password_ok:
        return BAD_PASSWORD
    return _barred(session, user)


def _barred(session: Session, user: User) -> str | None:
    """BANNED or SUSPENDED while the account may not sign in, else None.

    The account is read again under a lock held to the commit: a ban or suspension being
    decided meanwhile is waited for and seen, or waits for this sign-in's new session and
    revokes it with the others. Either way no session outlives the decision.
    """
    session.refresh(user, with_for_update={"read": True, "key_share": True})
    if user.banned_at is not None:
        return BANNED
    if is_suspended(user, dt.datetime.now(dt.UTC)):
        return SUSPENDED
    return None


def complete_mfa_login(session: Session, settings: Config, cipher: DataCipher, *, mfa_token: str, code: str,
                       client: ClientOrigin) -> dict:
    """Finish a 2FA login with a TOTP or recovery code: tokens, or a 401."""
    challenge = session.execute(select(MfaChallenge).where(MfaChallenge.token_hash == _digest(mfa_token))
                                ).scalar_one_or_none()
    if not _usable(challenge):
        raise _mfa_step_over()
    user = session.get(User, challenge.user_id)
    attempt = record_attempt(session, username=user.username, client=client, kind="2fa", user_id=user.id)
    session.refresh(challenge, with_for_update=True)  # one code check at a time per sign-in step
    error, reason = _second_step_refusal(session, settings, cipher, challenge, user, code, client)
    if error is None:
        challenge.used_at = dt.datetime.now(dt.UTC)
        tokens = issue_tokens(session, settings, cipher, user, client=client)
        settle_attempt(session, attempt, user_id=user.id, session_id=tokens["session_id"])
    else:
        settle_attempt(session, attempt, user_id=user.id, failure_reason=reason)
    session.commit()
    if error is not None:
        raise error
    return tokens


def _second_step_refusal(session: Session, settings: Config, cipher: DataCipher, challenge: MfaChallenge, user: User, code: str,
                         client: ClientOrigin) -> tuple[Unauthorized | None, str | None]:
    """(the error to answer, the reason to record), or (None, None) to let the user in."""
    if not _usable(challenge):
        return _mfa_step_over(), BAD_2FA_CODE
    verdict = standing(session, settings, username=user.username, user_id=user.id, ip=client.ip)
    if verdict.locked:
        return InvalidCredentials(), verdict.refusal
    barred = _barred(session, user)
    if barred is not None:
        return InvalidCredentials(), barred
    try:
        verify_second_factor(session, cipher, user, code)
    except Unauthorized as wrong_code:
        challenge.failed_attempts += 1
        return wrong_code, BAD_2FA_CODE
    return None, None


def _usable(challenge: MfaChallenge | None) -> bool:
    return (challenge is not None and challenge.used_at is None and challenge.expires_at > dt.datetime.now(dt.UTC)
            and challenge.failed_attempts < MFA_MAX_FAILED_ATTEMPTS)


def _mfa_step_over() -> Unauthorized:
    return Unauthorized("this sign-in step has expired or is used up; sign in again")


def _open_mfa_challenge(session: Session, settings: Config, user: User, client: ClientOrigin) -> str:
    token = secrets.token_urlsafe(32)
    session.add(MfaChallenge(user_id=user.id, token_hash=_digest(token), ip=client.ip, user_agent=client.user_agent,
                             expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.mfa_token_ttl_seconds)))
    return token


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
