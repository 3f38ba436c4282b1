"""The auth service's tables (servicekit adds outbox, inbox and revoked_sessions)."""
from __future__ import annotations

import datetime as dt
import uuid

from servicekit.db import new_metadata
from sqlalchemy import (ARRAY, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        func, text)
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = new_metadata()


def _now():
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(32), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)      # stored lower-cased
    phone: Mapped[str] = mapped_column(String(16), nullable=False)       # E.164
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)     # argon2id
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False, server_default="{user}")
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    banned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ban_reason: Mapped[str | None] = mapped_column(Text)
    # Sign-in is refused until then; a time in the past is a suspension that has ended by itself.
    suspended_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)      # Fernet-encrypted
    totp_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)      # last accepted time step (no replay)
    password_changed_at: Mapped[dt.datetime] = _now()
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        Index("uq_users_username_lower", func.lower(username), unique=True),
        Index("uq_users_email", "email", unique=True),
        Index("uq_users_phone", "phone", unique=True),
    )


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)  # SHA-256 hex of a high-entropy code
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = _now()


class Device(Base):
    """A session: a signed-in device. Refresh tokens rotate within it; revoking it ends every token of it.

    (Named for what it is to the user, and so that it never shadows SQLAlchemy's `Session`.)
    """

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = _now()
    last_used_at: Mapped[dt.datetime] = _now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)  # SHA-256 hex
    created_at: Mapped[dt.datetime] = _now()
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # rotated: reuse kills the session


class LoginAttempt(Base):
    """Login activity: every attempt, recorded before the password is checked."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(254), nullable=False)   # as typed
    user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    occurred_at: Mapped[dt.datetime] = _now()
    success: Mapped[bool | None] = mapped_column(Boolean)                # NULL while being checked
    failure_reason: Mapped[str | None] = mapped_column(String(32))       # unknown_user, bad_password, ...
    session_id: Mapped[uuid.UUID | None] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16), nullable=False, server_default="login")  # login | 2fa | reset

    __table_args__ = (
        Index("ix_login_attempts_username_time", func.lower(username), "occurred_at"),
        Index("ix_login_attempts_ip_time", "ip", "occurred_at"),
        Index("ix_login_attempts_time", "occurred_at"),
    )


class SpentChallenge(Base):
    """Proof-of-work challenges already used for a registration (each is usable once)."""

    __tablename__ = "spent_challenges"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)


class MfaChallenge(Base):
    """The second step of a login with 2FA on: a short-lived, single-use token."""

    __tablename__ = "mfa_challenges"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    ip: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = _now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))


class PasswordReset(Base):
    """start -> verify (TOTP, recovery code, or a delivered one-time code) -> confirm."""

    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(16), nullable=False)     # totp | code (none: unknown account)
    code_hash: Mapped[str | None] = mapped_column(String(64))          # delivered one-time code
    ip: Mapped[str | None] = mapped_column(INET)
    created_at: Mapped[dt.datetime] = _now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # Added by migration 0003b: the username or email as typed at the start, so the verify
    # step's login-activity rows name it too (and are throttled with it) even for unknown accounts.
    requested_as: Mapped[str | None] = mapped_column(String(254))


class SentCode(Base):
    """One-time codes handed to the pluggable sender with `PASSWORD_RESET_CODE_SENDER=outbox` (dev, tests)."""

    __tablename__ = "sent_codes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)   # email | sms
    destination: Mapped[str] = mapped_column(String(254), nullable=False)
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[dt.datetime] = _now()


class SigningKey(Base):
    """Ed25519 keys that sign access tokens; published in the JWKS until their tokens expire."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # Fernet-encrypted PKCS#8 PEM
    public_jwk: Mapped[dict] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[dt.datetime] = _now()
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # no longer signs


class VerificationRequest(Base):
    __tablename__ = "verification_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")  # pending|approved|rejected
    document_key: Mapped[str] = mapped_column(String(128), nullable=False)   # storage key of the encrypted file
    document_type: Mapped[str] = mapped_column(String(64), nullable=False)   # detected content type
    document_size: Mapped[int] = mapped_column(Integer, nullable=False)
    document_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = _now()
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # One open request per user.
        Index("uq_verification_requests_open", "user_id", unique=True, postgresql_where=text("status = 'pending'")),
        Index("ix_verification_requests_status_time", "status", "created_at"),
    )


class PublicKey(Base):
    """The public-key registry for end-to-end messaging; private keys never reach the server."""

    __tablename__ = "public_keys"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of DER SubjectPublicKeyInfo
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)     # signing | encryption
    algorithm: Mapped[str] = mapped_column(String(16), nullable=False)   # rsa | ed25519 | x25519
    pem: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[dt.datetime] = _now()
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_public_keys_active_purpose", "user_id", "purpose", unique=True, postgresql_where=text("active")),
    )


class SpentKeyChallenge(Base):
    """Key-registration challenges already used (each proves possession of a key once)."""

    __tablename__ = "spent_key_challenges"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
