"""Following the live stream: resumption with Last-Event-ID, and the server's reasons for ending a stream.

The server here is a real HTTP server on a loopback port playing three connections of the
messaging stream as its API documents them (the gateway test follows the real one): the first drops
after an event, the second ends with `close: token_expired`, the third with `close: session_revoked`.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from beyou.api import Client, ProblemError, Session

CONNECTIONS = [
    b"retry: 10\n\nid: 1\nevent: message\ndata: {\"message_id\": \"m1\"}\n\n",
    b": heartbeat\n\nid: 2\nevent: read\ndata: {\"seq\": 5}\n\nevent: close\ndata: {\"reason\":\"token_expired\"}\n\n",
    b"event: close\ndata: {\"reason\":\"session_revoked\"}\n\n",
]


class StreamServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[tuple[str | None, str | None]] = []   # (Last-Event-ID, Authorization) per connection


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"      # the body ends when the connection closes: a dropped stream

    def do_GET(self) -> None:
        server: StreamServer = self.server
        server.seen.append((self.headers.get("Last-Event-ID"), self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(CONNECTIONS[len(server.seen) - 1])

    def do_POST(self) -> None:
        assert self.path == "/api/auth/token/refresh"
        body = json.dumps({"access_token": "second-access-token", "refresh_token": "second-refresh-token",
                           "expires_in": 900, "session_id": "s"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[StreamServer]:
    server = StreamServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_stream_resumes_after_drops_refreshes_on_token_expiry_and_ends_when_revoked(server):
    stored: list[Session | None] = []
    session = Session("first-access-token", "first-refresh-token", expires_at=4102444800.0, session_id="s")
    client = Client(f"http://127.0.0.1:{server.server_port}", session=session, on_session=stored.append)
    events = client.follow()
    assert [(event.type, event.id) for event in (next(events), next(events))] == [("message", "1"), ("read", "2")]
    with pytest.raises(ProblemError) as ended:
        next(events)
    assert ended.value.status == 401
    assert server.seen == [(None, "Bearer first-access-token"), ("1", "Bearer first-access-token"),
                           ("2", "Bearer second-access-token")]
    assert [s.refresh_token if s else None for s in stored] == ["second-refresh-token", None]
    assert client.session is None
