"""Browser mode: the refresh token in a cookie that no script can read.

A browser signs in with `"mode": "browser"`. The answer then carries the access token only (the page
keeps it in memory), and the refresh token travels in a cookie that is HttpOnly (out of reach of any
script, an injected one included), Secure, SameSite=Strict (never sent with a request another site
starts) and scoped to the refresh path (sent with no other request). Each refresh spends the cookie's
token and sets the next one, so a copied cookie is caught like a copied refresh token: its reuse
revokes the session (auth/tokens.py).

A request that reads the cookie must also carry the header `X-BeYou-CSRF: 1`. A page of another site
can make a browser send a form or a simple request, but not one with a custom header (that needs a
CORS preflight, which this API never grants): the defence behind SameSite, for browsers that lack it
and for a sibling site that counts as "same site". Without the header the request is refused before
the token is looked at, so such a request neither spends nor revokes anything.

These functions shape the HTTP exchange (a Set-Cookie header, the cookie and header read by the
route); the rules about tokens stay in auth/tokens.py.
"""
from __future__ import annotations

from servicekit.context import ClientOrigin
from servicekit.encryption import DataCipher
from servicekit.errors import Forbidden
from sqlalchemy.orm import Session
from werkzeug.http import dump_cookie

from auth.config import Config
from auth.tokens import InvalidRefreshToken, refresh

API, BROWSER = "api", "browser"
MODES = (API, BROWSER)
CSRF_HEADER = "X-BeYou-CSRF"
CSRF_VALUE = "1"


class CrossSiteRequest(Forbidden):
    code, title = "csrf", "Cross-site request refused"

    def __init__(self) -> None:
        super().__init__(f"a request with the refresh cookie must carry the header {CSRF_HEADER}: {CSRF_VALUE}")


def delivered(settings: Config, tokens: dict, mode: str) -> tuple[dict, dict[str, str]]:
    """The answer's body and headers for `tokens` in `mode`: in browser mode the refresh token leaves the
    body for the cookie. An answer without a refresh token (login's MFA step) is the same in both modes."""
    if mode != BROWSER or "refresh_token" not in tokens:
        return tokens, {}
    body = {name: value for name, value in tokens.items() if name != "refresh_token"}
    return body, {"Set-Cookie": refresh_cookie(settings, tokens["refresh_token"])}


def refresh_from(session: Session, settings: Config, cipher: DataCipher, *, body_token: str | None,
                 cookie: str | None, csrf_header: str | None, client: ClientOrigin) -> tuple[dict, dict[str, str]]:
    """Refresh with the body's token (api mode, as it always was) or else the cookie (browser mode).

    With the cookie: `CrossSiteRequest` without the CSRF header; a new access token and the next cookie;
    or `InvalidRefreshToken` with a Set-Cookie that clears the refused cookie. Neither a body token nor a
    cookie: `InvalidRefreshToken`, as for an unknown token.
    """
    if body_token is not None:
        return refresh(session, settings, cipher, body_token, client=client), {}
    if cookie is None:
        raise InvalidRefreshToken("no refresh token: send refresh_token, or sign in in browser mode")
    if csrf_header != CSRF_VALUE:
        raise CrossSiteRequest()
    try:
        tokens = refresh(session, settings, cipher, cookie, client=client)
    except InvalidRefreshToken as refused:
        # The cookie will never work again: the browser should stop sending it.
        refused.headers = {**refused.headers, "Set-Cookie": cleared_cookie(settings)}
        raise
    return delivered(settings, tokens, BROWSER)


def refresh_cookie(settings: Config, refresh_token: str) -> str:
    """The Set-Cookie value that hands `refresh_token` to the browser for the refresh token's lifetime."""
    return _cookie(settings, refresh_token, max_age=settings.refresh_token_ttl_seconds)


def cleared_cookie(settings: Config) -> str:
    """The Set-Cookie value that makes the browser drop the refresh cookie (sign-out, a refused cookie)."""
    return _cookie(settings, "", max_age=0, expires=0)


def _cookie(settings: Config, value: str, **lifetime) -> str:
    return dump_cookie(settings.refresh_cookie_name, value, path=settings.refresh_cookie_path, secure=True,
                       httponly=True, samesite="Strict", **lifetime)


# --- how the OpenAPI document describes the exchange (with the default cookie name and path) -----------

SET_COOKIE = {"Set-Cookie": {
    "description": f"Browser mode: the refresh cookie, `{Config.refresh_cookie_name}=<refresh token>; Max-Age="
                   f"<refresh lifetime>; Path={Config.refresh_cookie_path}; Secure; HttpOnly; SameSite=Strict` "
                   "(empty with Max-Age=0 where the cookie is cleared).",
    "schema": {"type": "string"}}}
"""The optional Set-Cookie of an answer: `@blp.response(..., headers=SET_COOKIE)`."""

REFRESH_PARAMETERS = [
    {"in": "cookie", "name": Config.refresh_cookie_name, "required": False, "schema": {"type": "string"},
     "description": "Browser mode's refresh token, read when the body has no `refresh_token`."},
    {"in": "header", "name": CSRF_HEADER, "required": False, "schema": {"type": "string", "enum": [CSRF_VALUE]},
     "description": "Required with the cookie (else 403 `urn:beyou:problem:csrf`): a header a page of "
                    "another site cannot make a browser send."},
]
"""The cookie and header of POST token/refresh: `@blp.doc(parameters=REFRESH_PARAMETERS)`."""
