"""Access tokens for tests: signed the way auth signs them, verified through a JWKS served over real HTTP."""
from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class TokenIssuer:
    """Signs access tokens the way auth does and serves its JWKS over real HTTP."""

    issuer = "beyou-auth"
    audience = "beyou"

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.kid = self.rotate()
        self.jwks_requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/api/auth/.well-known/jwks.json"

    def rotate(self) -> str:
        """Add a new signing key (published in the JWKS) and sign with it from now on."""
        kid = uuid.uuid4().hex[:16]
        self.keys[kid] = Ed25519PrivateKey.generate()
        self.kid = kid
        return kid

    def jwks(self) -> dict:
        documents = []
        for kid, key in self.keys.items():
            document = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
            documents.append({**document, "kid": kid, "use": "sig", "alg": "EdDSA"})
        return {"keys": documents}

    def issue(self, user_id: uuid.UUID | None = None, *, session_id: uuid.UUID | None = None,
              roles: tuple[str, ...] = ("user",), verified: bool = False, expires_in: int = 900,
              key: Ed25519PrivateKey | None = None, kid: str | None = None, **claims: Any) -> str:
        now = dt.datetime.now(dt.UTC)
        payload = {
            "sub": str(user_id or uuid.uuid4()), "sid": str(session_id or uuid.uuid4()), "roles": list(roles),
            "verified": verified, "iss": self.issuer, "aud": self.audience, "iat": now,
            "nbf": now, "exp": now + dt.timedelta(seconds=expires_in), "jti": uuid.uuid4().hex,
        }
        payload.update(claims)
        kid = kid or self.kid
        return jwt.encode(payload, key or self.keys[kid], algorithm="EdDSA", headers={"kid": kid})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        issuer = self

        class JWKSHandler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                issuer.jwks_requests += 1
                body = json.dumps(issuer.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        return JWKSHandler


@pytest.fixture
def caller(token_issuer) -> tuple[uuid.UUID, dict[str, str]]:
    """(user id, headers) of a signed-in caller; a service that issues its own tokens overrides this."""
    user_id = uuid.uuid4()
    return user_id, {"Authorization": f"Bearer {token_issuer.issue(user_id)}"}


@pytest.fixture
def staff_caller(token_issuer) -> tuple[uuid.UUID, dict[str, str]]:
    """(user id, headers) of a signed-in staff member; a service that issues its own tokens overrides this."""
    user_id = uuid.uuid4()
    return user_id, {"Authorization": f"Bearer {token_issuer.issue(user_id, roles=('user', 'staff'))}"}


@pytest.fixture(scope="session")
def token_issuer() -> Iterator[TokenIssuer]:
    issuer = TokenIssuer()
    yield issuer
    issuer.close()
