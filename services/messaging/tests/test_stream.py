"""The live stream (GET /stream), served as in production: the app under gunicorn's gevent worker
with gunicorn_stream.py, in a process of its own, read over real HTTP.

Notices are committed with `notify_users`, as the domain does, so they reach the stream
through migration 0003's trigger and the stream process's LISTEN connection.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from servicekit.context import context_of
from servicekit.testing import wait_until
from servicekit.tokens import deny_session

from messaging.models import StreamEvent
from messaging.notices import notify_users
from messaging.stream import LAGGING, StreamHub, purge_stream_events

HEARTBEAT_SECONDS = 2.0
GUNICORN_CONFIG = Path(__file__).resolve().parents[1] / "gunicorn_stream.py"


# --- the stream process and a client of it -------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def stream_url(app, tmp_path_factory) -> Iterator[str]:
    """The stream of a gunicorn stream process (one gevent worker) on the test database."""
    settings = context_of(app).settings
    port = free_port()
    log_path = tmp_path_factory.mktemp("stream") / "gunicorn.log"
    environment = {**os.environ, "DATABASE_URL": settings.database_url, "AMQP_URL": settings.amqp_url,
                   "BUS_NAMESPACE": settings.bus_namespace, "JWKS_URL": settings.jwks_url,
                   "JWKS_REFETCH_SECONDS": "0", "TRUSTED_PROXY_HOPS": "0", "DATA_KEYS": ",".join(settings.data_keys),
                   "STREAM_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS)}
    with open(log_path, "ab") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", str(GUNICORN_CONFIG), "--workers", "1",
             "--bind", f"127.0.0.1:{port}", "messaging:create_app()"],
            env=environment, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/messaging"

    def healthy():
        assert server.poll() is None, f"the stream process exited:\n{log_path.read_text()[-3000:]}"
        try:
            return requests.get(f"{base}/healthz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or its worker still loading the app
            return False
    try:
        wait_until(healthy, timeout=30, message="the stream process to answer")
        yield f"{base}/stream"
    finally:
        server.terminate()
        server.wait(timeout=15)


@dataclass
class Event:
    type: str | None = None
    id: int | None = None
    data: dict | None = None
    comments: list[str] = field(default_factory=list)
    retry: int | None = None


class StreamReader:
    """Reads a Server-Sent Events response block by block (a block ends with a blank line)."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._lines = response.iter_lines(chunk_size=None, decode_unicode=True)

    def next_block(self) -> Event | None:
        """The next block (an event, a comment, a `retry:`), or None once the server has ended the stream."""
        block = Event()
        for line in self._lines:
            if line == "":
                return block
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                block.comments.append(value)
            elif name == "event":
                block.type = value
            elif name == "id":
                block.id = int(value)
            elif name == "data":
                block.data = json.loads(value)
            elif name == "retry":
                block.retry = int(value)
        return None

    def next_event(self) -> Event | None:
        """The next event, passing over heartbeats; None once the stream has ended."""
        while (block := self.next_block()) is not None:
            if block.type is not None:
                return block
        return None

    def ended(self) -> bool:
        return self.next_block() is None


@contextmanager
def streaming(url: str, token: str | None, *, headers: dict | None = None, params: dict | None = None,
              via_query: bool = False) -> Iterator[StreamReader]:
    """An open stream, once the server has answered its first line (from then on, it is subscribed)."""
    headers = dict(headers or {})
    params = dict(params or {})
    if via_query:
        params["access_token"] = token
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.get(url, headers=headers, params=params, stream=True, timeout=(5, 3 * HEARTBEAT_SECONDS))
    try:
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/event-stream")
        reader = StreamReader(response)
        opening = reader.next_block()
        assert opening is not None and opening.retry is not None
        yield reader
    finally:
        response.close()


def notify(database, user_ids, type="message", **data) -> None:
    with database.transaction() as session:
        notify_users(session, user_ids, type, data or {"conversation_id": str(uuid.uuid4())})


# --- delivery ------------------------------------------------------------------------------

def test_a_committed_notice_reaches_its_users_stream_and_no_other(stream_url, token_issuer, database):
    alice, bob = uuid.uuid4(), uuid.uuid4()
    conversation_id, message_id = uuid.uuid4(), uuid.uuid4()
    with streaming(stream_url, token_issuer.issue(alice)) as alices, \
            streaming(stream_url, token_issuer.issue(bob)) as bobs:
        notify(database, [alice], "message", conversation_id=conversation_id, message_id=message_id,
               sender_id=bob, seq=7)
        event = alices.next_event()
        assert event.type == "message"
        assert event.data == {"conversation_id": str(conversation_id), "message_id": str(message_id),
                              "sender_id": str(bob), "seq": 7}
        assert isinstance(event.id, int)

        notify(database, [bob], "read", conversation_id=conversation_id, user_id=alice, seq=7)
        # Notices are delivered in commit order: had Alice's reached Bob, it would come first.
        assert bobs.next_event().type == "read"


def test_a_notice_of_a_transaction_rolled_back_is_never_sent(stream_url, token_issuer, database):
    alice = uuid.uuid4()
    with streaming(stream_url, token_issuer.issue(alice)) as alices:
        with database.session() as session:
            notify_users(session, [alice], "removed", {"conversation_id": uuid.uuid4(), "message_id": uuid.uuid4()})
            session.rollback()
        notify(database, [alice], "notifications", unread=3)
        assert alices.next_event().type == "notifications"


def test_every_stream_of_a_user_gets_each_notice(stream_url, token_issuer, database):
    alice = uuid.uuid4()
    with streaming(stream_url, token_issuer.issue(alice)) as phone, \
            streaming(stream_url, token_issuer.issue(alice)) as laptop:
        notify(database, [alice], "notifications", unread=1)
        assert phone.next_event().data == {"unread": 1}
        assert laptop.next_event().data == {"unread": 1}


def test_a_browser_may_send_its_token_in_the_query(stream_url, token_issuer, database):
    alice = uuid.uuid4()
    with streaming(stream_url, token_issuer.issue(alice), via_query=True) as alices:
        notify(database, [alice], "notifications", unread=2)
        assert alices.next_event().data == {"unread": 2}


def test_a_stream_without_a_valid_token_is_refused(stream_url, token_issuer):
    for headers, params in [({}, {}), ({"Authorization": "Bearer not-a-token"}, {}), ({}, {"access_token": "junk"}),
                            ({"Authorization": f"Bearer {token_issuer.issue(expires_in=-60)}"}, {})]:
        response = requests.get(stream_url, headers=headers, params=params, timeout=5)
        assert response.status_code == 401, (headers, params)
        assert response.headers["Content-Type"] == "application/problem+json"


# --- resuming --------------------------------------------------------------------------------

def test_a_client_resuming_with_the_last_event_id_gets_what_it_missed_then_what_follows(
        stream_url, token_issuer, database):
    alice = uuid.uuid4()
    token = token_issuer.issue(alice)
    with streaming(stream_url, token) as alices:
        notify(database, [alice], "notifications", unread=1)
        last_seen = alices.next_event().id
    notify(database, [alice], "notifications", unread=2)
    notify(database, [alice], "notifications", unread=3)

    with streaming(stream_url, token, headers={"Last-Event-ID": str(last_seen)}) as alices:
        missed = [alices.next_event(), alices.next_event()]
        assert [event.data["unread"] for event in missed] == [2, 3]
        assert last_seen < missed[0].id < missed[1].id
        notify(database, [alice], "notifications", unread=4)
        assert alices.next_event().data == {"unread": 4}


def test_the_last_event_id_may_come_in_the_query_and_the_header_wins(stream_url, token_issuer, database):
    alice = uuid.uuid4()
    token = token_issuer.issue(alice)
    with streaming(stream_url, token) as alices:
        for unread in (1, 2, 3):
            notify(database, [alice], "notifications", unread=unread)
        first, second, _third = (alices.next_event().id for _ in range(3))

    with streaming(stream_url, token, params={"last_event_id": first}) as alices:
        assert alices.next_event().data == {"unread": 2}
    with streaming(stream_url, token, params={"last_event_id": first},
                   headers={"Last-Event-ID": str(second)}) as alices:
        assert alices.next_event().data == {"unread": 3}


def test_a_client_connecting_afresh_gets_only_new_notices(stream_url, token_issuer, database):
    alice = uuid.uuid4()
    notify(database, [alice], "notifications", unread=1)
    with streaming(stream_url, token_issuer.issue(alice)) as alices:
        notify(database, [alice], "notifications", unread=2)
        assert alices.next_event().data == {"unread": 2}


# --- keeping it alive, and ending it -------------------------------------------------------------

def test_an_idle_stream_sends_heartbeats(stream_url, token_issuer):
    with streaming(stream_url, token_issuer.issue()) as stream:
        started = time.monotonic()
        block = stream.next_block()
        assert block.type is None and block.comments == ["heartbeat"]
        assert time.monotonic() - started < 2 * HEARTBEAT_SECONDS
        assert stream.next_block().comments == ["heartbeat"]


def test_the_stream_ends_as_soon_as_its_session_is_revoked(stream_url, token_issuer, database):
    alice, session_id = uuid.uuid4(), uuid.uuid4()
    token = token_issuer.issue(alice, session_id=session_id)
    with streaming(stream_url, token) as alices:
        revoked = time.monotonic()
        with database.transaction() as session:
            deny_session(session, session_id=session_id, user_id=alice, revoked_at=dt.datetime.now(dt.UTC))
        closing = alices.next_event()
        assert (closing.type, closing.data) == ("close", {"reason": "session_revoked"})
        assert time.monotonic() - revoked < HEARTBEAT_SECONDS / 2  # not at the next heartbeat: at once
        assert alices.ended()
    assert requests.get(stream_url, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 401


def test_the_stream_ends_when_its_access_token_expires(stream_url, token_issuer):
    expires_in = 2
    token = token_issuer.issue(expires_in=expires_in)
    expires_at = time.time() + expires_in
    with streaming(stream_url, token) as stream:
        closing = stream.next_event()
        assert (closing.type, closing.data) == ("close", {"reason": "token_expired"})
        assert time.time() >= expires_at - 1  # the token's exp has a one-second resolution
        assert stream.ended()


def test_streams_are_ended_to_resume_when_the_process_loses_its_notices(stream_url, token_issuer, database):
    alice = uuid.uuid4()
    token = token_issuer.issue(alice)
    with streaming(stream_url, token) as alices:
        with database.transaction() as session:  # PostgreSQL ends the stream process's LISTEN connection
            terminated = session.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'stream listener'")).all()
        assert terminated
        closing = alices.next_event()
        assert (closing.type, closing.data) == ("close", {"reason": "interrupted"})

    with streaming(stream_url, token) as alices:  # the process listens again, and a new stream is fed
        notify(database, [alice], "notifications", unread=9)
        assert alices.next_event().data == {"unread": 9}


# --- the hub, in this process ------------------------------------------------------------------

def test_a_stream_that_falls_behind_is_ended_to_resume_later(app, database):
    hub = StreamHub(context_of(app).settings.database_url, queue_size=2)
    alice = uuid.uuid4()
    try:
        subscription = hub.subscribe(alice, uuid.uuid4())
        for unread in (1, 2, 3):
            notify(database, [alice], "notifications", unread=unread)
        wait_until(lambda: subscription.ended == LAGGING, message="the lagging stream to be ended")
        assert hub.open_streams == 0
    finally:
        hub.stop()


# --- keeping notices ---------------------------------------------------------------------------

def test_notices_older_than_the_retention_are_purged_and_younger_ones_kept(database):
    alice = uuid.uuid4()
    purge_time = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)  # every notice so far is old by then
    with database.transaction() as session:
        notify_users(session, [alice], "notifications", {"unread": 1})
        notify_users(session, [alice], "notifications", {"unread": 2})
        session.add(StreamEvent(user_id=alice, type="notifications", data={"unread": 3},
                                created_at=purge_time - dt.timedelta(hours=1)))

    purged = purge_stream_events(database, older_than=dt.timedelta(days=1), batch_size=2, now=purge_time)

    assert purged >= 2
    with database.session() as session:
        kept = session.scalars(sa.select(StreamEvent.data).where(StreamEvent.user_id == alice)).all()
    assert kept == [{"unread": 3}]
