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

import pyotp
import segno
import sqlalchemy as sa
from servicekit.context import ClientOrigin
from servicekit.errors import Conflict, Unauthorized
from sqlalchemy.orm import Session

from auth.accounts import get_account, verify_password
from auth.config import Config
from servicekit.encryption import DataCipher
from auth.login_activity import check_on_record
from auth.models import PasswordReset, RecoveryCode, User

ISSUER = "BeYou"
RECOVERY_CODE_COUNT = 10
# 10 base32 characters = 50 bits each, shown as two groups of five ("ABCDE-FGHIJ").
RECOVERY_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
RECOVERY_CODE_LENGTH = 10
VALID_WINDOW = 1  # one 30 s step either side, for clock drift


# --- setup, confirm, disable ---------------------------------------------------------------

def start_setup(session: Session, settings: Config, cipher: DataCipher, user_id: uuid.UUID, password: str, *,
                client: ClientOrigin) -> dict:
    """A new secret for the user, stored encrypted; 2FA stays off until `confirm_setup`.

    The password is required: otherwise a stolen access token could enrol the thief's
    authenticator and then use it to reset the password.
    """
    user = get_account(session, user_id)
    if user.totp_enabled:
        raise Conflict("two-factor authentication is already on; disable it first")
    refused = check_on_record(session, settings, user=user, client=client, kind="2fa",
                              check=lambda: None if verify_password(user.password_hash, password) else "password")
    if refused is None:
        secret = pyotp.random_base32()
        user.totp_secret = cipher.encrypt(secret.encode())
        user.totp_last_step = None
    session.commit()
    if refused is not None:
        raise refused
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "qr_png_base64": _qr_png_base64(uri)}


def confirm_setup(session: Session, settings: Config, cipher: DataCipher, user_id: uuid.UUID, code: str, *,
                  client: ClientOrigin) -> dict:
    """Turn 2FA on after a valid current code; returns fresh recovery codes (shown only now)."""
    user = get_account(session, user_id)
    if user.totp_enabled:
        raise Conflict("two-factor authentication is already on")
    if user.totp_secret is None:
        raise Conflict("start the setup first (POST /api/auth/2fa/setup)")
    refused = check_on_record(session, settings, user=user, client=client, kind="2fa",
                              check=lambda: None if _accept_totp(session, cipher, user, code) else "code")
    if refused is None:
        user.totp_enabled = True
        codes = _replace_recovery_codes(session, user)
        # A reset opened before 2FA was on would need only an e-mailed code: it ends now.
        session.execute(sa.update(PasswordReset)
                        .where(PasswordReset.user_id == user.id, PasswordReset.completed_at.is_(None))
                        .values(expires_at=sa.func.least(PasswordReset.expires_at, sa.func.now())))
    session.commit()
    if refused is not None:
        raise refused
    return {"recovery_codes": codes}


def disable(session: Session, settings: Config, cipher: DataCipher, user_id: uuid.UUID, password: str, code: str,
            *, client: ClientOrigin) -> None:
    """Turn 2FA off: needs the password and a current TOTP or an unused recovery code."""
    user = get_account(session, user_id)
    if not user.totp_enabled:
        raise Conflict("two-factor authentication is not on")

    def wrong_field() -> str | None:
        if not verify_password(user.password_hash, password):
            return "password"
        return None if _is_second_factor(session, cipher, user, code) else "code"
    refused = check_on_record(session, settings, user=user, client=client, kind="2fa", check=wrong_field)
    if refused is None:
        user.totp_enabled = False
        user.totp_secret = None
        user.totp_last_step = None
        session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.commit()
    if refused is not None:
        raise refused


def regenerate_recovery_codes(session: Session, settings: Config, cipher: DataCipher, user_id: uuid.UUID,
                              code: str, *, client: ClientOrigin) -> dict:
    """New recovery codes (the old ones stop working); needs a current TOTP or recovery code."""
    user = get_account(session, user_id)
    if not user.totp_enabled:
        raise Conflict("two-factor authentication is not on")
    refused = check_on_record(session, settings, user=user, client=client, kind="2fa",
                              check=lambda: None if _is_second_factor(session, cipher, user, code) else "code")
    if refused is None:
        codes = _replace_recovery_codes(session, user)
    session.commit()
    if refused is not None:
        raise refused
    return {"recovery_codes": codes}


def _is_second_factor(session: Session, cipher: DataCipher, user: User, code: str) -> bool:
    try:
        verify_second_factor(session, cipher, user, code)
    except Unauthorized:
        return False
    return True


# --- the second factor ---------------------------------------------------------------------

def verify_second_factor(session: Session, cipher: DataCipher, user: User, code: str) -> str:
    """Accept a current TOTP code ("totp") once, or an unused recovery code ("recovery"), of a user with 2FA on.

    Raises `Unauthorized("invalid code")` otherwise. Does not commit.
    """
    if user.totp_enabled and user.totp_secret is not None:
        if _accept_totp(session, cipher, user, code):
            return "totp"
        if _use_recovery_code(session, user, code):
            return "recovery"
    raise Unauthorized("invalid code")


def _accept_totp(session: Session, cipher: DataCipher, user: User, code: str) -> bool:
    """True if `code` is the TOTP of a step near now that is later than the last accepted one."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6) or user.totp_secret is None:
        return False
    totp = pyotp.TOTP(cipher.decrypt(user.totp_secret).decode())
    now_step = totp.timecode(dt.datetime.now(dt.UTC))
    matched = None
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):  # every step compared: constant time
            matched = step
    if matched is None:
        return False
    # Conditional update: of two concurrent uses of one code, exactly one wins.
    accepted = session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < matched))
        .values(totp_last_step=matched)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    return accepted == 1


def _use_recovery_code(session: Session, user: User, code: str) -> bool:
    candidate = _hash_recovery_code(code)
    unused = session.execute(
        sa.select(RecoveryCode.id, RecoveryCode.code_hash)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    matched = None
    for row in unused:  # compare against every code: the time does not tell which one matched
        if hmac.compare_digest(row.code_hash, candidate):
            matched = row.id
    if matched is None:
        return False
    used = session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.id == matched, RecoveryCode.used_at.is_(None))
        .values(used_at=sa.func.now())
    ).rowcount
    return used == 1


# --- recovery codes and the QR image -------------------------------------------------------

def _replace_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(code)) for code in codes)
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
