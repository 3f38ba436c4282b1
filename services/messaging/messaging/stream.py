"""The live stream's machinery: notices delivered to the open streams of their user as they commit.

A stream process (gunicorn's gevent worker, `gunicorn_stream.py`) holds one `StreamHub` per
worker process: ONE PostgreSQL connection LISTENing on `messaging_stream` (migration 0003's
trigger NOTIFYs each `stream_events` insert when its transaction commits) and on servicekit's
revoked-session channel. The hub fans each notice out to the open streams of its user — per
user a set of `Subscription`s, each a bounded queue — and ends at once the streams of a session
that is revoked.

A stream (`open_stream`, then `EventStream`) subscribes first and only then looks at what is
committed: the user's latest notices (already committed, so not for the queue) and what the
client missed (`Last-Event-ID`, replayed). The LISTEN is active before those reads, so a notice
committed around that moment is in them, in the queue, or in both (sent once). Then it
follows its queue with a heartbeat comment every STREAM_HEARTBEAT_SECONDS, until the session is
revoked, the access token expires (the client reconnects with a fresh one), the client goes
away, the client falls QUEUE_SIZE notices behind, or the hub loses its connection. Each end the
server chooses is told as a last `close` event naming the reason; the client resumes with
Last-Event-ID and loses nothing (notices are kept STREAM_RETENTION_SECONDS; the worker purges
older ones). A live notice is sent whatever its id, so two transactions that commit out of id
order both reach an open stream; only a client that drops between those two commits and
resumes after the larger id would miss the smaller one.

Written with threads, locks, queues and select: under the gevent worker, whose monkey-patching
makes each of these cooperative, every stream is a greenlet and so is the listener; anywhere
else (the tests, the sync API process) the same code runs on plain threads.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import queue
import select
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2
import sqlalchemy as sa
from servicekit.context import ServiceContext
from servicekit.db import Database
from servicekit.errors import ServiceUnavailable
from servicekit.logs import current_request_id, reset_request_id, set_request_id
from servicekit.outages import outages
from servicekit.tables import REVOCATION_NOTIFY_CHANNEL
from servicekit.tokens import KEEPALIVE, RECONNECT_DELAYS, Principal
from servicekit.worker import PeriodicTask
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from messaging.models import StreamEvent

log = logging.getLogger(__name__)

NOTICE_CHANNEL = "messaging_stream"  # migration 0003's trigger on stream_events
LISTENER = "stream listener"         # its outages are logged once per change of state, under this name
QUEUE_SIZE = 256                     # notices a stream may fall behind before it is ended (and resumes)
LISTEN_WAIT_SECONDS = 5.0            # how long a new stream waits for the hub to be listening, else 503
RECENT_NOTICES = 100                 # a notice committed before a stream opened is among its user's latest
FOLLOW_TICK_SECONDS = 1.0            # how soon the listener notices it was stopped
RETRY_MILLISECONDS = 2000            # how long an EventSource waits before reconnecting
HEARTBEAT = b": heartbeat\n\n"       # a comment line: no event for the client, traffic for every proxy

# Why the server ended a stream (the `close` event's reason).
TOKEN_EXPIRED = "token_expired"      # reconnect with a fresh access token
SESSION_REVOKED = "session_revoked"  # signed out: do not reconnect with this session
LAGGING = "lagging"                  # the client fell behind: reconnect with Last-Event-ID
INTERRUPTED = "interrupted"          # the stream process lost its notices: reconnect with Last-Event-ID

_WAKE = object()  # put in a subscription's queue to wake its stream when the hub ends it


@dataclass(frozen=True)
class Notice:
    """One stream_events row as a stream sends it: `id:`, `event:` (its type), `data:` (its JSON)."""

    id: int
    type: str
    data: dict[str, Any]

    def encode(self) -> bytes:
        # json.dumps writes no newline (it escapes those in strings), so the data is one `data:` line.
        data = json.dumps(self.data, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.type}\ndata: {data}\n\n".encode()


def closing_event(reason: str) -> bytes:
    """The last event of a stream the server ends, saying why (no `id:`: it is no notice to resume after)."""
    return f'event: close\ndata: {{"reason":"{reason}"}}\n\n'.encode()


class Subscription:
    """One open stream's place in the hub: a bounded queue of encoded notices, and why the hub ended it."""

    __slots__ = ("user_id", "session_id", "queue", "ended")

    def __init__(self, user_id: uuid.UUID, session_id: uuid.UUID, size: int) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.queue: queue.Queue = queue.Queue(size)
        self.ended: str | None = None

    def offer(self, notice_id: int, chunk: bytes) -> bool:
        """Queue a notice; False if the queue is full (the client is not keeping up)."""
        try:
            self.queue.put_nowait((notice_id, chunk))
        except queue.Full:
            return False
        return True

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
        try:
            self.queue.put_nowait(_WAKE)
        except queue.Full:  # a full queue wakes its stream anyway
            pass


class StreamHub:
    """The open streams of this process, and the one LISTEN connection that feeds them.

    The listener starts with the first subscription in each process (after gunicorn forks). If
    its connection is lost, every stream is ended (`interrupted`) before it reconnects: a
    notice committed while it was away reaches the clients through their resumption instead.
    """

    def __init__(self, database_url: str, *, queue_size: int = QUEUE_SIZE) -> None:
        url = make_url(database_url)
        self._connect_args = {**url.translate_connect_args(username="user", database="dbname"), **url.query}
        self._queue_size = queue_size
        self._lock = threading.Lock()  # the two indexes, and the listening flag's changes
        self._by_user: dict[uuid.UUID, set[Subscription]] = {}
        self._by_session: dict[uuid.UUID, set[Subscription]] = {}
        self._listening = threading.Event()
        self._start_lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._pid: int | None = None

    def subscribe(self, user_id: uuid.UUID, session_id: uuid.UUID) -> Subscription:
        """A subscription to the user's notices: every notice committed from now on reaches it.
        `ServiceUnavailable` (503) if the hub cannot listen."""
        self._start_once_per_process()
        if not self._listening.wait(LISTEN_WAIT_SECONDS):
            raise ServiceUnavailable("live delivery is unavailable right now")
        subscription = Subscription(user_id, session_id, self._queue_size)
        with self._lock:
            if not self._listening.is_set():  # lost since the wait: its streams were just ended
                raise ServiceUnavailable("live delivery is unavailable right now")
            self._by_user.setdefault(user_id, set()).add(subscription)
            self._by_session.setdefault(session_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Take a stream out (repeating it, or for one the hub already ended, changes nothing)."""
        with self._lock:
            self._forget(subscription)

    @property
    def open_streams(self) -> int:
        """How many streams this process holds open."""
        with self._lock:
            return sum(map(len, self._by_user.values()))

    def stop(self) -> None:
        """Stop listening (within a tick); the open streams end as `interrupted`."""
        with self._start_lock:
            if self._stop is not None:
                self._stop.set()
            self._stop = None

    # --- the listener --------------------------------------------------------------------

    def _start_once_per_process(self) -> None:
        if self._stop is not None and self._pid == os.getpid():
            return
        with self._start_lock:
            if self._stop is not None and self._pid == os.getpid():
                return
            if self._pid is not None and self._pid != os.getpid():  # forked: the parent's listener is not ours
                self._lock, self._listening = threading.Lock(), threading.Event()
                self._by_user, self._by_session = {}, {}
            self._pid, self._stop = os.getpid(), threading.Event()
            threading.Thread(target=self._listen, args=(self._stop,), name=LISTENER, daemon=True).start()

    def _listen(self, stop: threading.Event) -> None:
        delays = iter(RECONNECT_DELAYS)
        while not stop.is_set():
            try:
                connection = self._connect()
            except psycopg2.Error as exc:
                outages.down(LISTENER, exc)
                stop.wait(next(delays, RECONNECT_DELAYS[-1]))
                continue
            delays = iter(RECONNECT_DELAYS)
            outages.up(LISTENER)
            self._listening.set()
            try:
                self._follow(connection, stop)
            except Exception:  # never leave the process without a listener
                log.exception("stream listener failed; reconnecting")
            finally:
                with self._lock:
                    self._listening.clear()
                    self._end_all(INTERRUPTED)
                connection.close()

    def _connect(self):
        connection = psycopg2.connect(**self._connect_args, connect_timeout=5, application_name=LISTENER,
                                      **KEEPALIVE)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {NOTICE_CHANNEL}; LISTEN {REVOCATION_NOTIFY_CHANNEL}")
        except BaseException:
            connection.close()
            raise
        return connection

    def _follow(self, connection, stop: threading.Event) -> None:
        """Dispatch notifications as they arrive, until the connection is lost or the hub stopped."""
        while not stop.is_set():
            try:
                select.select([connection], [], [], FOLLOW_TICK_SECONDS)
            except (OSError, ValueError):  # its socket is gone: poll() says so below
                pass
            try:
                connection.poll()
            except psycopg2.Error as exc:
                outages.down(LISTENER, exc)
                return
            if connection.notifies:
                notifications = list(connection.notifies)
                connection.notifies.clear()
                self._dispatch(notifications)

    def _dispatch(self, notifications: Sequence) -> None:
        with self._lock:
            for notification in notifications:
                try:
                    if notification.channel == REVOCATION_NOTIFY_CHANNEL:
                        self._end_session(uuid.UUID(notification.payload))
                    else:
                        self._deliver(notification.payload)
                except (ValueError, KeyError, TypeError):
                    log.warning("stream notification ignored", extra={
                        "channel": notification.channel, "payload": notification.payload[:200]})

    # --- under the lock --------------------------------------------------------------------

    def _deliver(self, payload: str) -> None:
        row = json.loads(payload)
        subscriptions = self._by_user.get(uuid.UUID(row["user_id"]))
        if not subscriptions:  # most notices are for users streaming from another process, or not at all
            return
        notice = Notice(int(row["id"]), str(row["type"]), row["data"])
        chunk = notice.encode()  # once, whatever the number of the user's streams
        for subscription in list(subscriptions):
            if not subscription.offer(notice.id, chunk):
                self._forget(subscription)
                subscription.end(LAGGING)

    def _end_session(self, session_id: uuid.UUID) -> None:
        for subscription in list(self._by_session.get(session_id, ())):
            self._forget(subscription)
            subscription.end(SESSION_REVOKED)

    def _end_all(self, reason: str) -> None:
        for subscriptions in self._by_user.values():
            for subscription in subscriptions:
                subscription.end(reason)
        self._by_user, self._by_session = {}, {}

    def _forget(self, subscription: Subscription) -> None:
        for index, key in ((self._by_user, subscription.user_id), (self._by_session, subscription.session_id)):
            subscriptions = index.get(key)
            if subscriptions is not None:
                subscriptions.discard(subscription)
                if not subscriptions:
                    del index[key]


# --- one stream ----------------------------------------------------------------------------

def latest_notice_ids(session: Session, user_id: uuid.UUID, count: int = RECENT_NOTICES) -> set[int]:
    """The ids of the user's latest notices committed so far."""
    return set(session.scalars(sa.select(StreamEvent.id).where(StreamEvent.user_id == user_id)
                               .order_by(StreamEvent.id.desc()).limit(count)))


def notices_after(session: Session, user_id: uuid.UUID, last_event_id: int) -> list[Notice]:
    """The user's notices with an id above `last_event_id` still kept, oldest first."""
    rows = session.execute(sa.select(StreamEvent.id, StreamEvent.type, StreamEvent.data)
                           .where(StreamEvent.user_id == user_id, StreamEvent.id > last_event_id)
                           .order_by(StreamEvent.id))
    return [Notice(row.id, row.type, row.data) for row in rows]


def open_stream(hub: StreamHub, session: Session, principal: Principal, *, last_event_id: int | None,
                heartbeat_seconds: float, is_revoked: Callable[[uuid.UUID], bool]) -> EventStream:
    """The signed-in user's stream of the notices committed from now on, after those they missed
    after `last_event_id` (if given). `session` is read here and not needed afterwards."""
    subscription = hub.subscribe(principal.user_id, principal.session_id)
    try:
        # Revoked between the token check and the subscription: its notification may have gone by.
        if is_revoked(principal.session_id):
            subscription.end(SESSION_REVOKED)
        # In this order: a notice committed between the two reads is replayed, not skipped.
        committed = latest_notice_ids(session, principal.user_id)
        backlog = [] if last_event_id is None else notices_after(session, principal.user_id, last_event_id)
    except BaseException:
        hub.unsubscribe(subscription)
        raise
    return EventStream(hub, subscription, backlog, committed | {notice.id for notice in backlog},
                       heartbeat_seconds=heartbeat_seconds, expires_at=principal.expires_at, is_revoked=is_revoked)


class EventStream:
    """The body of one stream response, as Server-Sent Events; the WSGI server calls `close()` when
    the response ends or the client has gone, which takes the stream out of the hub."""

    BATCH = 64  # queued notices written at once when the client is behind

    def __init__(self, hub: StreamHub, subscription: Subscription, backlog: list[Notice], skip: set[int], *,
                 heartbeat_seconds: float, expires_at: dt.datetime, is_revoked: Callable[[uuid.UUID], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._hub = hub
        self._subscription = subscription
        self._heartbeat_seconds = heartbeat_seconds
        self._is_revoked = is_revoked
        self._clock = clock
        self._opened = clock()
        self._expires = self._opened + max(0.0, (expires_at - dt.datetime.now(dt.UTC)).total_seconds())
        self._request_id = current_request_id()
        self._sent = 0
        self._closed = False
        self.ended = "disconnected"  # unless the server ends it
        self._chunks = self._generate(backlog, skip)

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._chunks.close()
        self._hub.unsubscribe(self._subscription)
        token = set_request_id(self._request_id)
        try:
            log.info("stream closed", extra={
                "user_id": str(self._subscription.user_id), "reason": self.ended, "notices_sent": self._sent,
                "seconds": round(self._clock() - self._opened, 1)})
        finally:
            reset_request_id(token)

    def _generate(self, backlog: list[Notice], skip: set[int]) -> Iterator[bytes]:
        """`skip`: the ids of notices replayed or committed before the stream opened, which the hub
        may still be about to queue."""
        # The first bytes go out at once: the client knows it is subscribed (and its reconnection delay).
        yield b"".join([f"retry: {RETRY_MILLISECONDS}\n\n".encode(), *(notice.encode() for notice in backlog)])
        self._sent += len(backlog)
        subscription = self._subscription
        next_beat = self._clock() + self._heartbeat_seconds
        while True:
            if subscription.ended is not None:
                yield self._end(subscription.ended)
                return
            now = self._clock()
            if now >= self._expires:
                yield self._end(TOKEN_EXPIRED)
                return
            if now >= next_beat:
                if self._is_revoked(subscription.session_id):  # in case its notification went by
                    yield self._end(SESSION_REVOKED)
                    return
                yield HEARTBEAT
                next_beat = now + self._heartbeat_seconds
                continue
            try:
                first = subscription.queue.get(timeout=min(next_beat, self._expires) - now)
            except queue.Empty:
                continue
            chunks = [chunk for notice_id, chunk in self._take(first) if notice_id not in skip]
            if chunks:
                self._sent += len(chunks)
                yield b"".join(chunks)

    def _take(self, first) -> list[tuple[int, bytes]]:
        """`first` and what else is queued already (up to a batch), without the hub's wake-ups."""
        items = [first]
        while len(items) < self.BATCH:
            try:
                items.append(self._subscription.queue.get_nowait())
            except queue.Empty:
                break
        return [item for item in items if item is not _WAKE]

    def _end(self, reason: str) -> bytes:
        self.ended = reason
        return closing_event(reason)


# --- keeping the notices ---------------------------------------------------------------------

PURGE_EVERY_SECONDS = 600
PURGE_BATCH_SIZE = 5000


def purge_stream_events(database: Database, *, older_than: dt.timedelta, batch_size: int = PURGE_BATCH_SIZE,
                        now: dt.datetime | None = None) -> int:
    """Delete the notices older than `older_than`, oldest first, a batch per transaction; how many went.

    Ids grow with time, so each batch is taken from the lowest ids and the purge stops at the
    first batch that holds a younger notice: it never scans the notices it keeps. (A notice of a
    transaction that began long before its commit may go a run later.)
    """
    cutoff = (now or dt.datetime.now(dt.UTC)) - older_than
    oldest = sa.select(StreamEvent.id).order_by(StreamEvent.id).limit(batch_size)
    total = 0
    while True:
        with database.transaction() as session:
            deleted = session.execute(sa.delete(StreamEvent)
                                      .where(StreamEvent.id.in_(oldest), StreamEvent.created_at < cutoff)
                                      .execution_options(synchronize_session=False)).rowcount
        total += deleted
        if deleted < batch_size:
            break
    if total:
        log.info("purged stream notices", extra={"purged": total})
    return total


def purge_old_notices(context: ServiceContext) -> None:
    """Delete the notices older than STREAM_RETENTION_SECONDS (the worker's periodic task)."""
    purge_stream_events(context.db, older_than=dt.timedelta(seconds=context.settings.stream_retention_seconds))


PURGE_TASK = PeriodicTask("purge stream notices", PURGE_EVERY_SECONDS, purge_old_notices)
