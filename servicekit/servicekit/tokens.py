"""Access-token verification for the whole platform.

auth signs short-lived EdDSA (Ed25519) JWTs and publishes its public keys as a
JWKS. Every service verifies tokens itself: algorithm allow-list, key looked up
by a `kid` of a sane shape in a cached JWKS (refetched on an unknown kid, at
most once per interval), `aud`/`iss`/`exp`/`nbf` checks, a bounded lifetime
(`exp - iat`), and the service's own denylist of revoked sessions, fed by
`auth.session.revoked` events and held in memory by every API process, kept
current by PostgreSQL LISTEN/NOTIFY (`RevokedSessions`): a token check asks the
database nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import select
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

import jwt
import psycopg2
import requests
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import g, request
from marshmallow import EXCLUDE, Schema, fields
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from servicekit.context import service_context
from servicekit.db import Database
from servicekit.errors import Forbidden, ServiceUnavailable, Unauthorized
from servicekit.events.handlers import EventHandlers
from servicekit.outages import outages
from servicekit.tables import REVOCATION_NOTIFY_CHANNEL, revoked_sessions

log = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = ("EdDSA",)
REQUIRED_CLAIMS = ["exp", "iat", "sub", "sid", "jti", "aud", "iss"]
# auth's kids are RFC 7638 thumbprints (base64url); anything else named a key is junk that must not
# reach a key lookup (a NUL in it would reach PostgreSQL).
KID_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,128}")


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
            outages.up("JWKS")
        except (requests.RequestException, ValueError, AttributeError) as exc:  # AttributeError: not a JSON object
            outages.down("JWKS", exc)  # logged once per outage, not once per refetch
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
    """Checks access tokens. `jwks` gives the public key of a kid (`JWKSClient`, or auth's own key
    source); `is_revoked` says whether a session is revoked (`RevokedSessions` in a service).

    A client sends the same token for its whole lifetime, and checking the signature is most of
    what a check costs, so the principals of up to `remember` tokens already verified are kept (as
    Envoy's JWT filter does): a token seen before is checked only for expiry and revocation.
    """

    def __init__(self, jwks, *, issuer: str, audience: str, leeway: int = 10, max_lifetime: int = 900,
                 is_revoked: Callable[[uuid.UUID], bool] = lambda _sid: False, remember: int = 4096) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.max_lifetime = max_lifetime
        self.is_revoked = is_revoked
        self.remember = remember
        self._verified: dict[str, Principal] = {}

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; `InvalidToken` (401) for anything else."""
        principal = self._verified.get(token)
        if principal is None:
            principal = self._verify_signed(token)
            if len(self._verified) >= self.remember:  # bounded: forgetting only costs a signature check
                self._verified.clear()
            self._verified[token] = principal
        elif dt.datetime.now(dt.UTC) > principal.expires_at + dt.timedelta(seconds=self.leeway):
            raise InvalidToken("token expired")
        if self.is_revoked(principal.session_id):
            raise InvalidToken("session revoked")
        return principal

    def _verify_signed(self, token: str) -> Principal:
        """Everything about a token but its session: header, key, signature, claims, lifetime."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidToken("token algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not KID_SHAPE.fullmatch(kid):
            raise InvalidToken("token has no valid key id")
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
            # Revocations are kept only as long as a token may live, so a longer-lived token would
            # outlive its session's revocation.
            lifetime = float(claims["exp"]) - float(claims["iat"])
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(f"token rejected: {exc}") from None
        if lifetime > self.max_lifetime:
            raise InvalidToken(f"token lifetime exceeds {self.max_lifetime} seconds")
        return principal


def verifier_for(settings, database: Database, *, keys=None) -> TokenVerifier:
    """The verifier of a service app: keys from JWKS_URL (or `keys`: auth passes its own), revoked
    sessions from the service's denylist, held in memory per process."""
    if keys is None:
        keys = JWKSClient(settings.jwks_url, timeout=settings.jwks_timeout_seconds,
                          refetch_interval=settings.jwks_refetch_seconds)
    return TokenVerifier(keys, issuer=settings.token_issuer, audience=settings.token_audience,
                         leeway=settings.token_leeway_seconds, max_lifetime=settings.token_max_lifetime_seconds,
                         is_revoked=RevokedSessions(database, window=revocation_window(settings)))


def revocation_window(settings) -> dt.timedelta:
    """How long a revocation can still refuse a token: the longest lifetime, plus the leeway on
    `exp`, plus the leeway again for the clocks of auth and of the database."""
    return dt.timedelta(seconds=settings.token_max_lifetime_seconds + 2 * settings.token_leeway_seconds)


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

def deny_session(session: Session, *, session_id: uuid.UUID, user_id: uuid.UUID | None,
                 revoked_at: dt.datetime) -> None:
    """Refuse a session's tokens in this service once `session`'s transaction commits (does not commit).

    The `auth.session.revoked` consumer calls it in every service; auth calls it in the transaction
    that revokes, so its own API refuses at once instead of when the event comes back. The insert's
    NOTIFY tells every API process of the service on commit; a repeat changes nothing. The process
    that commits also adds the session to its own denylist at the commit, so its next request refuses
    the token even before its listener has received the notification.
    """
    session.execute(insert(revoked_sessions).values(session_id=session_id, user_id=user_id, revoked_at=revoked_at)
                    .on_conflict_do_nothing())
    session.info.setdefault(_DENIED_HERE, []).append((session.get_bind(), session_id))


_DENIED_HERE = "servicekit.denied_sessions"  # session.info key: (engine, session id) denied in its transaction
_DENYLISTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> this process's RevokedSessions


@sa.event.listens_for(Session, "after_commit")
def _remember_denied_sessions(session: Session) -> None:
    for bind, session_id in session.info.pop(_DENIED_HERE, ()):
        denylist = _DENYLISTS.get(getattr(bind, "engine", bind))
        if denylist is not None:
            denylist.remember(session_id)


@sa.event.listens_for(Session, "after_rollback")
def _forget_denied_sessions(session: Session) -> None:
    session.info.pop(_DENIED_HERE, None)


def session_is_revoked(session: Session, session_id: uuid.UUID) -> bool:
    """Whether the denylist has the session, asking the database (`RevokedSessions` answers from memory)."""
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


@revocation_handlers.on("auth.session.revoked", schema=SessionRevokedSchema)
def on_session_revoked(session: Session, event) -> None:
    deny_session(session, **SessionRevokedSchema().load(event.payload))


LISTENER = "revocation listener"  # its outages are logged once per change of state, under this name
FOLLOW_TICK_SECONDS = 1.0         # how soon the listener notices it was stopped
PRUNE_EVERY_SECONDS = 60.0
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)  # the last repeats
# A dead peer is noticed within idle + interval × count seconds even if it never closes the socket.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}


class RevokedSessions:
    """The service's revoked sessions, answered from memory: `revoked_sessions(session_id)` asks no database.

    In each process (started by the first check, so after gunicorn forks) a thread LISTENs on the
    channel the revoked_sessions trigger notifies when a revocation commits, then loads the rows
    young enough to matter (`window`: a revocation older than any token's lifetime refuses nothing)
    and adds each notified session as it arrives. Every check first takes the notifications its
    connection has already received, without a round trip, so a revocation counts as soon as
    PostgreSQL has delivered it. A lost connection is reconnected and the window reloaded, so nothing
    committed meanwhile is missed. Until the listener is loaded — at start, or while PostgreSQL or
    the connection is away — each check asks the database: a revoked session is never accepted
    because the listener is down.
    """

    def __init__(self, database: Database, *, window: dt.timedelta) -> None:
        self._database = database
        self._window = window
        url = database.engine.url
        self._connect_args = {**url.translate_connect_args(username="user", database="dbname"), **url.query}
        self._lock = threading.Lock()        # the set and the listening connection
        self._start_lock = threading.Lock()
        self._revoked: dict[uuid.UUID, dt.datetime] = {}  # session id -> when it stops mattering
        self._listening = None               # the connection, once LISTENing and loaded
        self._stop: threading.Event | None = None
        self._pid: int | None = None
        self._inherited: list = []          # see _start_once_per_process
        # An app's end (tests dispose its engine) ends its listener too; a later check starts it again.
        sa.event.listen(database.engine, "engine_disposed", lambda _engine: self.stop())
        _DENYLISTS[database.engine] = self

    def remember(self, session_id: uuid.UUID) -> None:
        """Count a session this process just revoked (committed) at once, before its notification comes."""
        with self._lock:
            if self._listening is not None:  # otherwise every check asks the database, which has it
                self._revoked[session_id] = dt.datetime.now(dt.UTC) + self._window

    def __call__(self, session_id: uuid.UUID) -> bool:
        """Whether the session is revoked."""
        self._start_once_per_process()
        with self._lock:
            if self._listening is not None and self._take_notifications():
                return session_id in self._revoked
        with self._database.session() as session:
            return session_is_revoked(session, session_id)

    @property
    def listening(self) -> bool:
        """Whether checks are answered from memory (the listener is connected and loaded)."""
        return self._listening is not None

    def stop(self) -> None:
        """Stop listening (the thread closes its connection within a tick); checks ask the database."""
        with self._start_lock:
            if self._stop is not None:
                self._stop.set()
            self._stop = None
        with self._lock:
            self._listening = None

    # --- in the checking thread and the listener, under the lock -------------------------

    def _take_notifications(self) -> bool:
        """Add what the listening connection has received (a read, no round trip); False if it is lost."""
        connection = self._listening
        try:
            connection.poll()
        except psycopg2.Error as exc:
            self._listening = None
            outages.down(LISTENER, exc)
            return False
        if connection.notifies:
            forget_at = dt.datetime.now(dt.UTC) + self._window
            for notification in connection.notifies:
                try:
                    self._revoked[uuid.UUID(notification.payload)] = forget_at
                except ValueError:
                    log.warning("revocation notification ignored", extra={"payload": notification.payload[:100]})
            connection.notifies.clear()
        return True

    # --- the listener thread ---------------------------------------------------------------

    def _start_once_per_process(self) -> None:
        if self._stop is not None and self._pid == os.getpid():
            return
        with self._start_lock:
            if self._stop is not None and self._pid == os.getpid():
                return
            if self._pid is not None and self._pid != os.getpid():
                # A forked child: the parent's thread is gone and its connection is the parent's.
                # Keep that object from being finalized here, which would end the parent's session.
                if self._listening is not None:
                    self._inherited.append(self._listening)
                self._lock, self._listening, self._revoked = threading.Lock(), None, {}
            self._pid, self._stop = os.getpid(), threading.Event()
            threading.Thread(target=self._listen, args=(self._stop,), name="revocation-listener",
                             daemon=True).start()

    def _listen(self, stop: threading.Event) -> None:
        delays = iter(RECONNECT_DELAYS)
        while not stop.is_set():
            try:
                connection, revoked = self._connect_and_load()
            except psycopg2.Error as exc:
                outages.down(LISTENER, exc)
                stop.wait(next(delays, RECONNECT_DELAYS[-1]))
                continue
            delays = iter(RECONNECT_DELAYS)
            outages.up(LISTENER)
            try:
                with self._lock:
                    if stop.is_set():  # a listener stopped while it loaded must not replace its successor's set
                        continue
                    self._revoked, self._listening = revoked, connection
                log.info("revocation listener loaded", extra={"revoked_sessions": len(revoked)})
                self._follow(connection, stop)
            except Exception:  # never leave the process without a listener (checks would all ask the database)
                log.exception("revocation listener failed; reconnecting")
            finally:
                with self._lock:
                    if self._listening is connection:
                        self._listening = None
                connection.close()

    def _connect_and_load(self):
        connection = psycopg2.connect(**self._connect_args, connect_timeout=5, application_name=LISTENER,
                                      **KEEPALIVE)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                # LISTEN first: a revocation committed while loading is then in the rows or notified.
                cursor.execute(f"LISTEN {REVOCATION_NOTIFY_CHANNEL}")
                cursor.execute(f"SELECT session_id::text, revoked_at + %s FROM {revoked_sessions.name} "
                               "WHERE revoked_at > now() - %s", (self._window, self._window))
                revoked = {uuid.UUID(session_id): forget_at for session_id, forget_at in cursor}
        except BaseException:
            connection.close()
            raise
        return connection, revoked

    def _follow(self, connection, stop: threading.Event) -> None:
        """Take notifications as they arrive, until the connection is lost or the listener stopped."""
        pruned = time.monotonic()
        while not stop.is_set():
            try:
                select.select([connection], [], [], FOLLOW_TICK_SECONDS)
            except (OSError, ValueError, psycopg2.Error):  # its socket is gone: poll() says so below
                pass
            with self._lock:
                if self._listening is not connection or not self._take_notifications():
                    return
                if time.monotonic() - pruned > PRUNE_EVERY_SECONDS:
                    now = dt.datetime.now(dt.UTC)
                    self._revoked = {sid: at for sid, at in self._revoked.items() if at > now}
                    pruned = time.monotonic()
