"""A client of the BeYou gateway's HTTP API.

`Client(base_url)` speaks JSON to `/api/<service>/...`. Every error answer is
raised as `ProblemError` (RFC 9457 problem+json: status, title, detail and the
per-field `errors`). A signed-in client holds a `Session` (access and refresh
token); an access token about to expire, or one the server refuses with 401, is
traded once for a new pair at `POST /api/auth/token/refresh`. Refresh tokens are
single-use, so each new pair is handed to `on_session` at once to be stored: a
client that kept using the old one would be taken for a thief and have its whole
session revoked.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import requests

from beyou import proof_of_work, sse

DEFAULT_SERVER = "http://127.0.0.1:8080"
# Refresh this long before the access token's expiry, so a request never leaves with a token that dies on the way.
REFRESH_MARGIN_SECONDS = 30
DEFAULT_TIMEOUT_SECONDS = 30.0
# The stream sends heartbeats; this much silence means the connection is dead and is reopened.
STREAM_READ_TIMEOUT_SECONDS = 60.0
STREAM_RETRY_SECONDS = 3.0


class ProblemError(Exception):
    """An error answer of the API (problem+json), or an answer that was not the expected JSON."""

    def __init__(self, status: int, title: str, detail: str | None = None, errors: dict | None = None, *,
                 type: str | None = None, retry_after: str | None = None) -> None:
        self.status, self.title, self.detail = status, title, detail
        self.errors = errors or {}
        self.type, self.retry_after = type, retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.status} {self.title}"
        return f"{text}: {self.detail}" if self.detail and self.detail != self.title else text

    @classmethod
    def from_response(cls, response: requests.Response) -> ProblemError:
        retry_after = response.headers.get("Retry-After")
        try:
            problem = response.json()
        except ValueError:
            problem = None
        if not isinstance(problem, dict):
            return cls(response.status_code, response.reason or "Error", retry_after=retry_after)
        errors = problem.get("errors")
        return cls(int(problem.get("status") or response.status_code), str(problem.get("title") or response.reason),
                   problem.get("detail"), errors if isinstance(errors, dict) else None,
                   type=problem.get("type"), retry_after=retry_after)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "title": self.title, "detail": self.detail, "errors": self.errors}


class NotSignedIn(Exception):
    """The client has no session: sign in first."""


@dataclass
class Session:
    """A signed-in session as the client keeps it (the tokens are secrets: store them 0600)."""

    access_token: str
    refresh_token: str
    expires_at: float                   # epoch seconds, when the access token expires
    session_id: str | None = None
    user_id: str | None = None
    username: str | None = None

    @classmethod
    def from_token_pair(cls, pair: dict, *, now: float, username: str | None = None) -> Session:
        return cls(access_token=pair["access_token"], refresh_token=pair["refresh_token"],
                   expires_at=now + int(pair.get("expires_in") or 0), session_id=pair.get("session_id"),
                   user_id=_subject(pair["access_token"]), username=username)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MfaRequired:
    """The password was right and 2FA is on: finish with `Client.login_2fa(mfa_token, code)`."""

    mfa_token: str
    expires_in: int | None = None


def _subject(access_token: str) -> str | None:
    """The token's `sub` (the user id). Read without checking the signature: this is our own token,
    used only to know who we are; every service checks it properly."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    return claims.get("sub") if isinstance(claims, dict) else None


class Client:
    """The gateway API, for one user (or none, before signing in)."""

    def __init__(self, base_url: str = DEFAULT_SERVER, *, session: Session | None = None,
                 on_session: Callable[[Session | None], None] | None = None, http: requests.Session | None = None,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.on_session = on_session
        self.http = http or requests.Session()
        self.http.headers.setdefault("User-Agent", "beyou-cli/0.1")
        self.timeout = timeout
        self._clock = clock

    # --- plumbing ---------------------------------------------------------------------

    def request(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        """Send a request (a path under the gateway); with `auth`, signed in and refreshed as needed.

        Answers of any status are returned; `call` is the version that raises ProblemError.
        """
        kwargs.setdefault("timeout", self.timeout)
        url = self.base_url + path
        if not auth:
            return self.http.request(method, url, **kwargs)
        headers = dict(kwargs.pop("headers", None) or {})
        response = self.http.request(method, url, headers=self._signed(headers), **kwargs)
        if response.status_code == 401:
            # The access token was refused (expired early, or the session was revoked): one refresh
            # tells which. A revoked session fails the refresh too, and that 401 is the answer.
            response.close()
            self.refresh()
            response = self.http.request(method, url, headers=self._signed(headers), **kwargs)
        return response

    def call(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> Any:
        """Send a request and return its JSON (None for an empty answer); ProblemError for an error status."""
        response = self.request(method, path, auth=auth, **kwargs)
        if response.status_code >= 400:
            raise ProblemError.from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ProblemError(response.status_code, "The answer is not JSON",
                               f"{method} {path} answered {response.headers.get('Content-Type')}") from None

    def _signed(self, headers: dict[str, str]) -> dict[str, str]:
        return {**headers, "Authorization": f"Bearer {self._access_token()}"}

    def _access_token(self) -> str:
        if self.session is None:
            raise NotSignedIn("not signed in")
        if self.session.expires_at - REFRESH_MARGIN_SECONDS <= self._clock():
            self.refresh()
        return self.session.access_token

    def _set_session(self, session: Session | None) -> None:
        self.session = session
        if self.on_session:
            self.on_session(session)

    # --- accounts and sessions (auth) -------------------------------------------------

    def register(self, *, username: str, email: str, phone: str, password: str,
                 progress: proof_of_work.Progress | None = None) -> dict:
        """Create an account: fetch a proof-of-work challenge, solve it (reporting progress), register."""
        challenge = self.call("POST", "/api/auth/challenge", auth=False)
        nonce = proof_of_work.solve(challenge["token"], int(challenge["difficulty"]), progress)
        return self.call("POST", "/api/auth/register", auth=False, json={
            "username": username, "email": email, "phone": phone, "password": password,
            "challenge": {"token": challenge["token"], "nonce": nonce}})

    def login(self, username: str, password: str) -> Session | MfaRequired:
        """Sign in with the password: the session, or MfaRequired when 2FA is on."""
        answer = self.call("POST", "/api/auth/login", auth=False, json={"username": username, "password": password})
        if answer.get("mfa_required"):
            return MfaRequired(answer["mfa_token"], answer.get("expires_in"))
        return self._signed_in(answer)

    def login_2fa(self, mfa_token: str, code: str) -> Session:
        """Finish a 2FA sign-in with a TOTP or recovery code."""
        return self._signed_in(self.call("POST", "/api/auth/login/2fa", auth=False,
                                         json={"mfa_token": mfa_token, "code": code}))

    def _signed_in(self, pair: dict) -> Session:
        session = Session.from_token_pair(pair, now=self._clock())
        self.session = session          # `me` needs it; stored (on_session) once complete
        account = self.me()
        session.user_id, session.username = account["id"], account["username"]
        self._set_session(session)
        return session

    def refresh(self) -> Session:
        """Trade the refresh token for a new pair (the old one is spent: the new one is stored at once)."""
        if self.session is None:
            raise NotSignedIn("not signed in")
        old = self.session
        response = self.http.post(self.base_url + "/api/auth/token/refresh", timeout=self.timeout,
                                  json={"refresh_token": old.refresh_token})
        if response.status_code >= 400:
            problem = ProblemError.from_response(response)
            if response.status_code == 401:
                self._set_session(None)     # the session is over (revoked, expired or signed out)
            raise problem
        session = Session.from_token_pair(response.json(), now=self._clock(), username=old.username)
        session.user_id = session.user_id or old.user_id
        self._set_session(session)
        return session

    def logout(self) -> None:
        """Sign out: the server revokes this session; the local copy is dropped either way."""
        try:
            self.call("POST", "/api/auth/logout")
        except ProblemError as problem:
            if problem.status != 401:   # already over on the server: signed out all the same
                raise
        finally:
            self._set_session(None)

    def me(self) -> dict:
        return self.call("GET", "/api/auth/me")

    def sessions(self, *, limit: int | None = None, cursor: str | None = None) -> dict:
        return self.call("GET", "/api/auth/sessions", params=_page(limit, cursor))

    def revoke_session(self, session_id: str) -> None:
        self.call("DELETE", f"/api/auth/sessions/{session_id}")

    def revoke_other_sessions(self) -> int:
        return self.call("POST", "/api/auth/sessions/revoke-others")["revoked"]

    def setup_2fa(self, password: str) -> dict:
        """Start 2FA setup: {secret, otpauth_uri, qr_png_base64}; off until confirmed."""
        return self.call("POST", "/api/auth/2fa/setup", json={"password": password})

    def confirm_2fa(self, code: str) -> list[str]:
        """Turn 2FA on with a current code: the one-time recovery codes (shown only now)."""
        return self.call("POST", "/api/auth/2fa/confirm", json={"code": code})["recovery_codes"]

    def disable_2fa(self, password: str, code: str) -> None:
        self.call("POST", "/api/auth/2fa/disable", json={"password": password, "code": code})

    def new_recovery_codes(self, code: str) -> list[str]:
        return self.call("POST", "/api/auth/2fa/recovery-codes", json={"code": code})["recovery_codes"]

    def start_password_reset(self, username_or_email: str) -> dict:
        """{reset_id, expires_at}: the same answer whether or not the account exists."""
        return self.call("POST", "/api/auth/password-reset", auth=False,
                         json={"username_or_email": username_or_email})

    def verify_password_reset(self, reset_id: str, code: str) -> dict:
        return self.call("POST", f"/api/auth/password-reset/{reset_id}/verify", auth=False, json={"code": code})

    def confirm_password_reset(self, reset_id: str, new_password: str) -> None:
        self.call("POST", f"/api/auth/password-reset/{reset_id}/confirm", auth=False,
                  json={"new_password": new_password})

    def request_verification(self, document: bytes, *, filename: str, content_type: str, reason: str) -> dict:
        """Ask to be verified: an ID document (JPEG, PNG or PDF) with a reason, for staff to review."""
        return self.call("POST", "/api/auth/verification", data={"reason": reason},
                         files={"document": (filename, document, content_type)})

    def verification_requests(self) -> dict:
        return self.call("GET", "/api/auth/verification")

    # --- the public-key registry (auth) ----------------------------------------------

    def key_challenge(self) -> str:
        return self.call("POST", "/api/auth/keys/challenge")["challenge"]

    def register_key(self, *, purpose: str, algorithm: str, pem: str, challenge: str, signature: str) -> dict:
        return self.call("POST", "/api/auth/keys", json={"purpose": purpose, "algorithm": algorithm, "pem": pem,
                                                         "challenge": challenge, "signature": signature})

    def key(self, fingerprint: str) -> dict:
        return self.call("GET", f"/api/auth/keys/{fingerprint}")

    def user_keys(self, user_id: str, *, active: bool | None = None, limit: int | None = None) -> list[dict]:
        params = _page(limit, None)
        if active is not None:
            params["active"] = "true" if active else "false"
        return self.call("GET", f"/api/auth/users/{user_id}/keys", params=params)["items"]

    # --- people (social) --------------------------------------------------------------

    def profile(self, username: str) -> dict:
        return self.call("GET", f"/api/social/profiles/{username}")

    def request_friendship(self, username: str) -> dict:
        return self.call("POST", "/api/social/friend-requests", json={"username": username})

    def friend_requests(self, direction: str = "incoming") -> dict:
        return self.call("GET", "/api/social/friend-requests", params={"direction": direction})

    def accept_friend_request(self, request_id: str) -> dict:
        return self.call("POST", f"/api/social/friend-requests/{request_id}/accept")

    def friends(self, *, limit: int | None = None, cursor: str | None = None) -> dict:
        return self.call("GET", "/api/social/friends", params=_page(limit, cursor))

    def search_users(self, query: str, *, limit: int | None = None, cursor: str | None = None) -> dict:
        """Users by username or display name (never anyone blocked either way, nor myself)."""
        return self.call("GET", "/api/social/users/search", params={"q": query, **_page(limit, cursor)})

    def block(self, username: str, reason: str | None = None) -> dict:
        """Block a user: it ends our friendship and open requests, and nothing passes between us anywhere.
        The reason is private (never shown to them)."""
        return self.call("POST", "/api/social/blocks", json={"username": username, **_given(reason=reason)})

    def blocks(self, *, limit: int | None = None, cursor: str | None = None) -> dict:
        return self.call("GET", "/api/social/blocks", params=_page(limit, cursor))

    def notifications(self, *, unread: bool | None = None, limit: int | None = None,
                      cursor: str | None = None) -> dict:
        """My notifications, unread first, then the newest first."""
        params = _page(limit, cursor)
        if unread is not None:
            params["unread"] = "true" if unread else "false"
        return self.call("GET", "/api/social/notifications", params=params)

    def unread_notifications(self) -> int:
        return self.call("GET", "/api/social/notifications/unread-count")["unread"]

    def report(self, target_type: str, target_id: str, reason: str, *, screenshot: bytes | None = None,
               screenshot_type: str = "image/png") -> dict:
        """Report a user, a message I received or an item (`target_type`) to staff, with optional evidence."""
        # A multipart form with or without the file: fields given as (no filename, value).
        form: dict[str, tuple] = {"target_type": (None, target_type), "target_id": (None, target_id),
                                  "reason": (None, reason)}
        if screenshot is not None:
            form["screenshot"] = ("screenshot", screenshot, screenshot_type)
        return self.call("POST", "/api/social/reports", files=form)

    def reports(self, *, limit: int | None = None, cursor: str | None = None) -> dict:
        """My reports, newest first, with their status and outcome."""
        return self.call("GET", "/api/social/reports", params=_page(limit, cursor))

    # --- messaging --------------------------------------------------------------------

    def create_direct_conversation(self, user_id: str) -> dict:
        """The direct conversation with a user (the existing one if there is one)."""
        return self.call("POST", "/api/messaging/conversations", json={"type": "direct", "user_id": user_id})

    def create_group(self, name: str, member_ids: list[str]) -> dict:
        return self.call("POST", "/api/messaging/conversations",
                         json={"type": "group", "name": name, "member_ids": member_ids})

    def conversations(self, *, limit: int | None = None, cursor: str | None = None) -> dict:
        return self.call("GET", "/api/messaging/conversations", params=_page(limit, cursor))

    def conversation(self, conversation_id: str) -> dict:
        return self.call("GET", f"/api/messaging/conversations/{conversation_id}")

    def rename_group(self, conversation_id: str, name: str) -> dict:
        return self.call("PATCH", f"/api/messaging/conversations/{conversation_id}", json={"name": name})

    def delete_group(self, conversation_id: str) -> None:
        self.call("DELETE", f"/api/messaging/conversations/{conversation_id}")

    def add_participant(self, conversation_id: str, user_id: str) -> dict:
        return self.call("POST", f"/api/messaging/conversations/{conversation_id}/participants",
                         json={"user_id": user_id})

    def remove_participant(self, conversation_id: str, user_id: str) -> None:
        self.call("DELETE", f"/api/messaging/conversations/{conversation_id}/participants/{user_id}")

    def leave(self, conversation_id: str) -> None:
        self.call("POST", f"/api/messaging/conversations/{conversation_id}/leave")

    def conversation_keys(self, conversation_id: str) -> Any:
        """Every participant's active signing and encryption key, as messaging checks envelopes against."""
        return self.call("GET", f"/api/messaging/conversations/{conversation_id}/keys")

    def post_message(self, conversation_id: str, message: dict) -> dict:
        """Send a prepared message body (standard or e2e; see beyou.messages for building one)."""
        return self.call("POST", f"/api/messaging/conversations/{conversation_id}/messages", json=message)

    def messages(self, conversation_id: str, *, limit: int | None = None, cursor: str | None = None) -> dict:
        """A page of messages, newest first."""
        return self.call("GET", f"/api/messaging/conversations/{conversation_id}/messages",
                         params=_page(limit, cursor))

    def message(self, message_id: str) -> dict:
        return self.call("GET", f"/api/messaging/messages/{message_id}")

    def mark_read(self, conversation_id: str, seq: int) -> Any:
        return self.call("POST", f"/api/messaging/conversations/{conversation_id}/read", json={"seq": seq})

    def upload_attachment(self, conversation_id: str, filename: str, data: bytes, *, content_type: str,
                          encrypted_by_client: bool) -> dict:
        return self.call("POST", "/api/messaging/attachments",
                         data={"conversation_id": conversation_id,
                               "encrypted_by_client": "true" if encrypted_by_client else "false"},
                         files={"file": (filename, data, content_type)})

    def attachment(self, attachment_id: str) -> tuple[bytes, str]:
        """An attachment's bytes and content type."""
        response = self.request("GET", f"/api/messaging/attachments/{attachment_id}")
        if response.status_code >= 400:
            raise ProblemError.from_response(response)
        return response.content, response.headers.get("Content-Type", "application/octet-stream")

    # --- the marketplace ----------------------------------------------------------------

    def list_item(self, *, title: str, category_id: str, price_minor: int, currency: str, condition: str,
                  quantity: int = 1, description: str | None = None) -> dict:
        """Put an item up for sale (verified users); the price in minor units of an ISO 4217 currency."""
        return self.call("POST", "/api/marketplace/items", json={
            "title": title, "category_id": category_id, "price_minor": price_minor, "currency": currency,
            "condition": condition, "quantity": quantity, **_given(description=description)})

    def item(self, item_id: str) -> dict:
        """An item's page (public)."""
        return self.call("GET", f"/api/marketplace/items/{item_id}", auth=False)

    def search_items(self, query: str | None = None, *, limit: int | None = None, cursor: str | None = None,
                     **filters: Any) -> dict:
        """Items by text and filters (category, min_price, max_price, currency, condition, seller, available,
        sort). Signed in, the search leaves out sellers blocked either way, as the server applies it."""
        params = {**_page(limit, cursor), **_given(q=query, **filters)}
        return self.call("GET", "/api/marketplace/items", auth=self.session is not None, params=params)

    def cart(self) -> dict:
        return self.call("GET", "/api/marketplace/cart")

    def add_to_cart(self, item_id: str, quantity: int = 1) -> dict:
        return self.call("POST", "/api/marketplace/cart/items", json={"item_id": item_id, "quantity": quantity})

    def check_out(self, shipping_address: dict, *, currency: str | None = None,
                  idempotency_key: str | None = None) -> dict:
        """Turn the cart into a pending order that reserves its items. A retry that must not order twice
        passes the first attempt's `idempotency_key` (a new one is made otherwise)."""
        return self.call("POST", "/api/marketplace/checkout", headers=_idempotent(idempotency_key),
                         json={"shipping_address": shipping_address, **_given(currency=currency)})

    def pay(self, order_id: str, card: dict, *, idempotency_key: str | None = None) -> dict:
        """Pay a pending order by card ({number, exp_month, exp_year, cvc}); a retry with the first attempt's
        `idempotency_key` is never charged twice."""
        return self.call("POST", f"/api/marketplace/orders/{order_id}/pay", headers=_idempotent(idempotency_key),
                         json={"card": card})

    def orders(self, *, limit: int | None = None, cursor: str | None = None) -> dict:
        return self.call("GET", "/api/marketplace/orders", params=_page(limit, cursor))

    def order(self, order_id: str) -> dict:
        return self.call("GET", f"/api/marketplace/orders/{order_id}")

    def sales(self) -> dict:
        """My paid sales: revenue per currency, units, unique buyers, by month and by item."""
        return self.call("GET", "/api/marketplace/sales")

    # --- staff ------------------------------------------------------------------------------

    def approve_verification(self, request_id: str, notes: str | None = None) -> dict:
        """Staff: approve a user's verification request (the user becomes verified)."""
        return self.call("POST", f"/api/auth/admin/verifications/{request_id}/approve", json=_given(notes=notes))

    def resolve_report(self, report_id: str, action: str, notes: str, *,
                       duration_seconds: int | None = None) -> dict:
        """Staff: resolve a report with an action (dismiss, warn, suspend, ban, remove_content), which takes
        effect in the service owning the target."""
        return self.call("POST", f"/api/social/admin/reports/{report_id}/resolve",
                         json={"action": action, "notes": notes, **_given(duration_seconds=duration_seconds)})

    def create_category(self, name: str, slug: str, *, parent_id: str | None = None) -> dict:
        """Staff: a marketplace category, at the top or under `parent_id`."""
        return self.call("POST", "/api/marketplace/admin/categories",
                         json={"name": name, "slug": slug, **_given(parent_id=parent_id)})

    # --- the live stream ----------------------------------------------------------------

    def stream(self, last_event_id: str | None = None, *, parser: sse.Parser | None = None,
               read_timeout: float = STREAM_READ_TIMEOUT_SECONDS) -> Iterator[sse.Event]:
        """One connection to the live stream: its events until the server closes it.

        Resumes after `last_event_id`; `parser.last_event_id` is where to resume next time.
        """
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        response = self.request("GET", "/api/messaging/stream", headers=headers, stream=True,
                                timeout=(self.timeout, read_timeout))
        with response:
            if response.status_code >= 400:
                raise ProblemError.from_response(response)
            parser = parser or sse.Parser()
            # read1: whatever has arrived, without waiting for a full buffer (events must not sit in one).
            yield from sse.events(iter(lambda: response.raw.read1(65536), b""), parser)

    def follow(self, last_event_id: str | None = None, *,
               on_reconnect: Callable[[str | None, float], None] | None = None) -> Iterator[sse.Event]:
        """The live stream without end: reconnects after a drop, resuming with Last-Event-ID.

        The server ends a stream with a `close` event saying why: `token_expired` (reconnect at once
        with a refreshed token), `lagging` or `interrupted` (reconnect and resume), `session_revoked`
        (signed out: ProblemError 401, as when a reconnection is refused for that reason).
        """
        parser = sse.Parser()
        parser.last_event_id = last_event_id
        while True:
            reason = None
            try:
                with contextlib.closing(self.stream(parser.last_event_id, parser=parser)) as events:
                    for event in events:
                        if event.type == "close":
                            reason = _close_reason(event.data)
                            break
                        yield event
            except (requests.ConnectionError, requests.Timeout):
                pass
            except ProblemError as problem:
                if problem.status not in (502, 503, 504):
                    raise
            if reason == "session_revoked":
                self._set_session(None)
                raise ProblemError(401, "Signed out", "this session was revoked or signed out: the stream ended")
            if reason == "token_expired":
                self.refresh()
                continue
            delay = parser.retry_ms / 1000 if parser.retry_ms is not None else STREAM_RETRY_SECONDS
            if on_reconnect:
                on_reconnect(parser.last_event_id, delay)
            time.sleep(delay)


def _close_reason(data: str) -> str | None:
    try:
        reason = json.loads(data).get("reason")
    except (ValueError, AttributeError):
        return None
    return reason if isinstance(reason, str) else None


def _given(**values: Any) -> dict[str, Any]:
    """The values that are not None (optional fields left out of a request rather than sent as null)."""
    return {name: value for name, value in values.items() if value is not None}


def _idempotent(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key or str(uuid.uuid4())}


def _page(limit: int | None, cursor: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if limit is not None:
        params["limit"] = limit
    if cursor:
        params["cursor"] = cursor
    return params
