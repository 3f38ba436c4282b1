"""Access-token verification for the whole platform.

auth signs short-lived EdDSA (Ed25519) JWTs and publishes its public keys as a
JWKS. Every service verifies tokens itself: algorithm allow-list, key looked up
by `kid` in a cached JWKS (refetched on an unknown kid, at most once per
interval), `aud`/`iss`/`exp`/`nbf` checks, and a local denylist of revoked
sessions fed by `auth.session.revoked` events.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

import jwt
import requests
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import g, request
from marshmallow import EXCLUDE, Schema, fields
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from servicekit.context import service_context
from servicekit.db import request_session
from servicekit.errors import Forbidden, ServiceUnavailable, Unauthorized
from servicekit.events.handlers import EventHandlers
from servicekit.tables import revoked_sessions

log = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = ("EdDSA",)
REQUIRED_CLAIMS = ["exp", "iat", "sub", "sid", "jti", "aud", "iss"]


class InvalidToken(Unauthorized):
    code, title = "invalid-token", "Invalid access token"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the access token says."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    roles: frozenset[str]
    verified: bool
    token_id: str
    expires_at: dt.datetime

    @property
    def is_staff(self) -> bool:
        return "staff" in self.roles


class JWKSClient:
    """Public keys from auth's JWKS endpoint, cached by `kid`.

    An unknown kid triggers a refetch, but at most one per `refetch_interval`
    seconds, so a flood of forged kids cannot turn into a flood of requests to auth.
    """

    def __init__(self, url: str, *, timeout: float = 3.0, refetch_interval: float = 30.0, max_keys: int = 16,
                 http: requests.Session | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self.refetch_interval = refetch_interval
        self.max_keys = max_keys
        self._http = http or requests.Session()
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key_for(self, kid: str) -> Ed25519PublicKey:
        with self._lock:
            if kid not in self._keys and self._may_refetch():
                self._fetch()
            if not self._keys:  # auth unreachable: the token may be fine, so not a 401
                raise ServiceUnavailable("token verification keys are unavailable")
            try:
                return self._keys[kid]
            except KeyError:
                raise InvalidToken("token signed by an unknown key") from None

    def _may_refetch(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at >= self.refetch_interval

    def _fetch(self) -> None:
        if not self.url:
            raise ServiceUnavailable("token verification keys are not configured (JWKS_URL)")
        self._fetched_at = time.monotonic()
        try:
            response = self._http.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            documents = response.json().get("keys", [])
        except (requests.RequestException, ValueError) as exc:
            log.warning("JWKS fetch failed", extra={"url": self.url, "error": str(exc)})
            if not self._keys:
                raise ServiceUnavailable("token verification keys are unavailable") from exc
            return
        keys: dict[str, Ed25519PublicKey] = {}
        for document in documents:
            if not isinstance(document, dict) or document.get("kty") != "OKP" or document.get("crv") != "Ed25519":
                continue
            if not document.get("kid") or document.get("use", "sig") != "sig":
                continue
            try:
                keys[document["kid"]] = jwt.PyJWK(document, algorithm="EdDSA").key
            except (jwt.PyJWTError, ValueError, TypeError) as exc:
                log.warning("JWKS key skipped", extra={"kid": document.get("kid"), "error": str(exc)})
        if len(keys) > self.max_keys:  # keys are listed oldest first; the newest sign current tokens
            log.warning("JWKS has too many keys; keeping the newest", extra={"count": len(keys)})
            keys = dict(list(keys.items())[-self.max_keys:])
        self._keys = keys


class TokenVerifier:
    def __init__(self, jwks: JWKSClient, *, issuer: str, audience: str, leeway: int = 10,
                 is_revoked: Callable[[uuid.UUID], bool] = lambda _sid: False) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.is_revoked = is_revoked

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; `InvalidToken` (401) for anything else."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidToken("token algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token has no key id")
        key = self.jwks.key_for(kid)
        try:
            claims = jwt.decode(token, key, algorithms=list(ALLOWED_ALGORITHMS), audience=self.audience,
                                issuer=self.issuer, leeway=self.leeway, options={"require": REQUIRED_CLAIMS})
            principal = Principal(
                user_id=uuid.UUID(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                roles=frozenset(claims.get("roles") or ()),
                verified=bool(claims.get("verified", False)),
                token_id=str(claims["jti"]),
                expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(f"token rejected: {exc}") from None
        if self.is_revoked(principal.session_id):
            raise InvalidToken("session revoked")
        return principal


def verifier_for(settings, _db=None) -> TokenVerifier:
    """The verifier a service app uses by default: keys from JWKS_URL, revocations from the denylist
    in the request's database session."""
    jwks = JWKSClient(settings.jwks_url, timeout=settings.jwks_timeout_seconds,
                      refetch_interval=settings.jwks_refetch_seconds)
    return TokenVerifier(jwks, issuer=settings.token_issuer, audience=settings.token_audience,
                         leeway=settings.token_leeway_seconds,
                         is_revoked=lambda sid: session_is_revoked(request_session(), sid))


# --- the current request -------------------------------------------------------------

def authenticate() -> Principal:
    """Verify the request's bearer token (once per request) and return its principal."""
    if "principal" in g:
        return g.principal
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer access token is required",
                           headers={"WWW-Authenticate": 'Bearer realm="beyou"'})
    g.principal = service_context().verifier.verify(token.strip())
    return g.principal


def current_principal() -> Principal:
    """The signed-in caller (only inside a view protected by `login_required`/`staff_required`)."""
    return g.principal


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        authenticate()
        return view(*args, **kwargs)
    return wrapper


def staff_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not authenticate().is_staff:
            raise Forbidden("staff only")
        return view(*args, **kwargs)
    return wrapper


# --- the revoked-session denylist ----------------------------------------------------

def session_is_revoked(session: Session, session_id: uuid.UUID) -> bool:
    query = sa.select(revoked_sessions.c.session_id).where(revoked_sessions.c.session_id == session_id)
    return session.execute(query).first() is not None


def prune_revoked_sessions(session: Session, older_than: dt.timedelta) -> int:
    """Forget revocations older than any token could live (tokens of those sessions expired)."""
    cutoff = dt.datetime.now(dt.UTC) - older_than
    return session.execute(sa.delete(revoked_sessions).where(revoked_sessions.c.revoked_at < cutoff)).rowcount


class SessionRevokedSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    session_id = fields.UUID(required=True)
    user_id = fields.UUID(load_default=None)
    revoked_at = fields.AwareDateTime(required=True, default_timezone=dt.UTC)


revocation_handlers = EventHandlers()


@revocation_handlers.on("auth.session.revoked")
def on_session_revoked(session: Session, event) -> None:
    data = SessionRevokedSchema().load(event.payload)
    session.execute(insert(revoked_sessions).values(**data).on_conflict_do_nothing())
