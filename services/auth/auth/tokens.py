"""Access tokens (EdDSA JWTs) and rotating refresh tokens, issued per session.

A refresh token is opaque (256 random bits), stored only as its SHA-256 and
usable once: refreshing spends it and hands out a new pair. Presenting a spent
one means it was copied, so the whole session is revoked.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

import jwt
from flask import current_app
from servicekit.errors import Unauthorized
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from auth.config import Config
from auth.login_activity import record_attempt
from auth.models import RefreshToken, Session, User
from auth.sessions import revoke_session
from auth.signing_keys import current_signing_key


class InvalidRefreshToken(Unauthorized):
    code, title = "invalid-refresh-token", "Invalid refresh token"


def issue_tokens(db_session: DbSession, user: User, *, ip: str | None, user_agent: str | None) -> dict:
    """Open a new session for `user` and return its first token pair. Does not commit."""
    settings = _settings()
    now = dt.datetime.now(dt.UTC)
    row = Session(id=uuid.uuid4(), user_id=user.id, ip=ip, user_agent=_clip(user_agent), created_at=now,
                  last_used_at=now, expires_at=now + dt.timedelta(seconds=settings.refresh_token_ttl_seconds))
    db_session.add(row)
    db_session.flush()
    return _token_pair(db_session, row, user, settings)


def refresh(db_session: DbSession, refresh_token: str, *, ip: str | None, user_agent: str | None) -> dict:
    """Spend a refresh token for a new pair; a spent one revokes its session. Commits."""
    settings = _settings()
    stored = db_session.execute(select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token))
                                .with_for_update()).scalar_one_or_none()
    if stored is None:
        raise InvalidRefreshToken("the refresh token is not valid")
    row = db_session.get(Session, stored.session_id, with_for_update=True)
    now = dt.datetime.now(dt.UTC)
    if stored.used_at is not None:
        _revoke_for_reuse(db_session, row, ip=ip, user_agent=user_agent)
        raise InvalidRefreshToken("the refresh token was already used; the session has been revoked")
    if row.revoked_at is not None or row.expires_at <= now:
        raise InvalidRefreshToken("the session has ended; sign in again")
    user = db_session.get(User, row.user_id)
    stored.used_at = now
    row.last_used_at, row.ip, row.user_agent = now, ip, _clip(user_agent)
    pair = _token_pair(db_session, row, user, settings)
    db_session.commit()
    return pair


def _revoke_for_reuse(db_session: DbSession, row: Session, *, ip: str | None, user_agent: str | None) -> None:
    user = db_session.get(User, row.user_id)
    revoke_session(db_session, row, "refresh_token_reused")
    attempt = record_attempt(db_session, username=user.username if user else "", ip=ip, user_agent=user_agent,
                             kind="refresh")
    attempt.user_id, attempt.session_id = row.user_id, row.id
    attempt.success, attempt.failure_reason = False, "refresh_token_reused"
    db_session.commit()


def _token_pair(db_session: DbSession, row: Session, user: User, settings: Config) -> dict:
    refresh_token = secrets.token_urlsafe(32)
    db_session.add(RefreshToken(session_id=row.id, token_hash=_digest(refresh_token)))
    return {"access_token": _access_token(db_session, row, user, settings), "refresh_token": refresh_token,
            "token_type": "Bearer", "expires_in": settings.access_token_ttl_seconds, "session_id": row.id}


def _access_token(db_session: DbSession, row: Session, user: User, settings: Config) -> str:
    kid, key = current_signing_key(db_session, rotation_days=settings.signing_key_rotation_days)
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(user.id), "sid": str(row.id), "roles": list(user.roles), "verified": user.verified,
        "aud": settings.token_audience, "iss": settings.token_issuer, "iat": now, "nbf": now,
        "exp": now + dt.timedelta(seconds=settings.access_token_ttl_seconds), "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clip(user_agent: str | None) -> str | None:
    return user_agent[:512] if user_agent else None


def _settings() -> Config:
    return current_app.extensions["servicekit"].settings
