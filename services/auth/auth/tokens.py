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
from servicekit.context import ClientOrigin
from servicekit.errors import Unauthorized
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.config import Config
from servicekit.encryption import DataCipher
from auth.login_activity import record_attempt, settle_attempt
from auth.models import Device, RefreshToken, User
from auth.sessions import revoke_session
from auth.signing_keys import current_signing_key

REUSED = "refresh_token_reused"


class InvalidRefreshToken(Unauthorized):
    code, title = "invalid-refresh-token", "Invalid refresh token"


def issue_tokens(session: Session, settings: Config, cipher: DataCipher, user: User, *,
                 client: ClientOrigin) -> dict:
    """Open a new session (a device) for `user` and return its first token pair. Does not commit."""
    now = dt.datetime.now(dt.UTC)
    device = Device(id=uuid.uuid4(), user_id=user.id, ip=client.ip, user_agent=client.user_agent, created_at=now,
                    last_used_at=now, expires_at=now + dt.timedelta(seconds=settings.refresh_token_ttl_seconds))
    session.add(device)
    session.flush()
    return _token_pair(session, settings, cipher, device, user)


def refresh(session: Session, settings: Config, cipher: DataCipher, refresh_token: str, *,
            client: ClientOrigin) -> dict:
    """Spend a refresh token for a new pair; a spent one revokes its session."""
    stored = session.execute(select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token))
                             .with_for_update()).scalar_one_or_none()
    if stored is None:
        raise InvalidRefreshToken("the refresh token is not valid")
    device = session.get(Device, stored.session_id, with_for_update=True)
    now = dt.datetime.now(dt.UTC)
    if stored.used_at is not None:
        _revoke_for_reuse(session, device, client)
        session.commit()
        raise InvalidRefreshToken("the refresh token was already used; the session has been revoked")
    if device.revoked_at is not None or device.expires_at <= now:
        raise InvalidRefreshToken("the session has ended; sign in again")
    user = session.get(User, device.user_id)
    stored.used_at = now
    device.last_used_at, device.ip, device.user_agent = now, client.ip, client.user_agent
    pair = _token_pair(session, settings, cipher, device, user)
    session.commit()
    return pair


def _revoke_for_reuse(session: Session, device: Device, client: ClientOrigin) -> None:
    """A copied refresh token: the whole session ends, and the reuse is on record as a failed attempt."""
    user = session.get(User, device.user_id)
    revoke_session(session, device, REUSED)
    attempt = record_attempt(session, username=user.username if user else "", client=client, kind="refresh",
                             user_id=device.user_id)
    settle_attempt(session, attempt, user_id=device.user_id, failure_reason=REUSED, session_id=device.id)


def _token_pair(session: Session, settings: Config, cipher: DataCipher, device: Device, user: User) -> dict:
    refresh_token = secrets.token_urlsafe(32)
    session.add(RefreshToken(session_id=device.id, token_hash=_digest(refresh_token)))
    return {"access_token": _access_token(session, settings, cipher, device, user), "refresh_token": refresh_token,
            "token_type": "Bearer", "expires_in": settings.access_token_ttl_seconds, "session_id": device.id}


def _access_token(session: Session, settings: Config, cipher: DataCipher, device: Device, user: User) -> str:
    kid, key = current_signing_key(session, cipher, rotation_days=settings.signing_key_rotation_days)
    now = dt.datetime.now(dt.UTC)
    # A token never outlives its session: an expired session needs no revocation to refuse its tokens.
    expires_at = min(now + dt.timedelta(seconds=settings.access_token_ttl_seconds), device.expires_at)
    claims = {
        "sub": str(user.id), "sid": str(device.id), "roles": list(user.roles), "verified": user.verified,
        "aud": settings.token_audience, "iss": settings.token_issuer, "iat": now, "nbf": now,
        "exp": expires_at, "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
