"""TOTP two-factor authentication and one-time recovery codes.

The secret is stored encrypted (DATA_KEYS) and 2FA turns on only once the user
has shown a valid code. A TOTP code is accepted once: the accepted time step is
remembered in `users.totp_last_step` and no step at or before it is accepted
again. Recovery codes are high-entropy, shown once, stored as SHA-256 hashes
and usable once each.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import secrets
import uuid
from collections.abc import Callable

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app
from servicekit.errors import Conflict, Invalid, TooManyRequests, Unauthorized
from sqlalchemy.orm import Session

from auth.accounts import get_account, verify_password
from auth.config import Config
from auth.encryption import cipher
from auth.login_activity import BAD_2FA_CODE, BAD_PASSWORD, LOCKED, complete_attempt, record_attempt, standing
from auth.models import PasswordReset, RecoveryCode, User

ISSUER = "BeYou"
RECOVERY_CODE_COUNT = 10
# 10 base32 characters = 50 bits each, shown as two groups of five ("ABCDE-FGHIJ").
RECOVERY_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
RECOVERY_CODE_LENGTH = 10
VALID_WINDOW = 1  # one 30 s step either side, for clock drift


# --- setup, confirm, disable ---------------------------------------------------------------

def start_setup(db_session: Session, user_id: uuid.UUID, password: str, *, ip: str | None,
                user_agent: str | None) -> dict:
    """A new secret for the user, stored encrypted; 2FA stays off until `confirm_setup`.

    The password is required: otherwise a stolen access token could enrol the thief's
    authenticator and then use it to reset the password.
    """
    user = get_account(db_session, user_id)
    if user.totp_enabled:
        raise Conflict("two-factor authentication is already on; disable it first")
    _check_on_record(db_session, user, ip, user_agent,
                     lambda: None if verify_password(user.password_hash, password) else "password")
    secret = pyotp.random_base32()
    user.totp_secret = cipher().encrypt(secret.encode())
    user.totp_last_step = None
    db_session.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "qr_png_base64": _qr_png_base64(uri)}


def confirm_setup(db_session: Session, user_id: uuid.UUID, code: str, *, ip: str | None,
                  user_agent: str | None) -> dict:
    """Turn 2FA on after a valid current code; returns fresh recovery codes (shown only now)."""
    user = get_account(db_session, user_id)
    if user.totp_enabled:
        raise Conflict("two-factor authentication is already on")
    if user.totp_secret is None:
        raise Conflict("start the setup first (POST /api/auth/2fa/setup)")
    _check_on_record(db_session, user, ip, user_agent,
                     lambda: None if _accept_totp(db_session, user, code) else "code")
    user.totp_enabled = True
    codes = _replace_recovery_codes(db_session, user)
    # A reset opened before 2FA was on would need only an e-mailed code: it ends now.
    db_session.execute(sa.update(PasswordReset)
                       .where(PasswordReset.user_id == user.id, PasswordReset.completed_at.is_(None))
                       .values(expires_at=sa.func.least(PasswordReset.expires_at, sa.func.now())))
    db_session.commit()
    return {"recovery_codes": codes}


def disable(db_session: Session, user_id: uuid.UUID, password: str, code: str, *, ip: str | None,
            user_agent: str | None) -> None:
    """Turn 2FA off: needs the password and a current TOTP or an unused recovery code."""
    user = get_account(db_session, user_id)
    if not user.totp_enabled:
        raise Conflict("two-factor authentication is not on")

    def wrong_field() -> str | None:
        if not verify_password(user.password_hash, password):
            return "password"
        return None if _is_second_factor(db_session, user, code) else "code"
    _check_on_record(db_session, user, ip, user_agent, wrong_field)
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    db_session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db_session.commit()


def regenerate_recovery_codes(db_session: Session, user_id: uuid.UUID, code: str, *, ip: str | None,
                              user_agent: str | None) -> dict:
    """New recovery codes (the old ones stop working); needs a current TOTP or recovery code."""
    user = get_account(db_session, user_id)
    if not user.totp_enabled:
        raise Conflict("two-factor authentication is not on")
    _check_on_record(db_session, user, ip, user_agent,
                     lambda: None if _is_second_factor(db_session, user, code) else "code")
    codes = _replace_recovery_codes(db_session, user)
    db_session.commit()
    return {"recovery_codes": codes}


def _check_on_record(db_session: Session, user: User, ip: str | None, user_agent: str | None,
                     check: Callable[[], str | None]) -> None:
    """Run `check` (the name of the wrong field, or None) as a 2FA attempt in the login activity.

    Wrong codes and passwords count towards the account's lock like failed logins, so a
    stolen access token is no way to guess codes: 429 while locked. A wrong value is a
    field error (422), not a 401 that a client would take for an expired session.
    """
    attempt = record_attempt(db_session, username=user.username, ip=ip, user_agent=user_agent, kind="2fa",
                             user_id=user.id)
    db_session.commit()
    if standing(db_session, _settings(), username=user.username, user_id=user.id, ip=ip).locked:
        complete_attempt(attempt, user_id=user.id, failure_reason=LOCKED)
        db_session.commit()
        raise TooManyRequests("too many wrong codes or passwords; try again later")
    wrong = check()
    if wrong is not None:
        complete_attempt(attempt, user_id=user.id, failure_reason=BAD_PASSWORD if wrong == "password" else BAD_2FA_CODE)
        db_session.commit()
        message = "the password is not correct" if wrong == "password" else "the code is not valid or was already used"
        raise Invalid(message, errors={wrong: [message]})
    complete_attempt(attempt, user_id=user.id)


def _is_second_factor(db_session: Session, user: User, code: str) -> bool:
    try:
        verify_second_factor(db_session, user, code)
    except Unauthorized:
        return False
    return True


# --- the second factor ---------------------------------------------------------------------

def verify_second_factor(db_session: Session, user: User, code: str) -> str:
    """Accept a current TOTP code ("totp") once, or an unused recovery code ("recovery"), of a user with 2FA on.

    Raises `Unauthorized("invalid code")` otherwise. Does not commit.
    """
    if user.totp_enabled and user.totp_secret is not None:
        if _accept_totp(db_session, user, code):
            return "totp"
        if _use_recovery_code(db_session, user, code):
            return "recovery"
    raise Unauthorized("invalid code")


def _accept_totp(db_session: Session, user: User, code: str) -> bool:
    """True if `code` is the TOTP of a step near now that is later than the last accepted one."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6) or user.totp_secret is None:
        return False
    totp = pyotp.TOTP(cipher().decrypt(user.totp_secret).decode())
    now_step = totp.timecode(dt.datetime.now(dt.UTC))
    matched = None
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):  # every step compared: constant time
            matched = step
    if matched is None:
        return False
    # Conditional update: of two concurrent uses of one code, exactly one wins.
    accepted = db_session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < matched))
        .values(totp_last_step=matched)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    return accepted == 1


def _use_recovery_code(db_session: Session, user: User, code: str) -> bool:
    candidate = _hash_recovery_code(code)
    unused = db_session.execute(
        sa.select(RecoveryCode.id, RecoveryCode.code_hash)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    matched = None
    for row in unused:  # compare against every code: the time does not tell which one matched
        if hmac.compare_digest(row.code_hash, candidate):
            matched = row.id
    if matched is None:
        return False
    used = db_session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.id == matched, RecoveryCode.used_at.is_(None))
        .values(used_at=sa.func.now())
    ).rowcount
    return used == 1


# --- recovery codes and the QR image -------------------------------------------------------

def _replace_recovery_codes(db_session: Session, user: User) -> list[str]:
    db_session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db_session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(code)) for code in codes)
    return codes


def _new_recovery_code() -> str:
    chars = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return f"{chars[:5]}-{chars[5:]}"


def _hash_recovery_code(code: str) -> str:
    """SHA-256 of the code as typed, ignoring case, spaces and dashes."""
    normalized = "".join(ch for ch in code.upper() if ch not in " -\t")
    return hashlib.sha256(normalized.encode()).hexdigest()


def _qr_png_base64(uri: str) -> str:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=5, border=4)
    return base64.b64encode(buffer.getvalue()).decode()


def _settings() -> Config:
    return current_app.extensions["servicekit"].settings
