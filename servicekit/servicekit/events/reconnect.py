"""Keeping a broker connection alive: the loop the relay and the consumer share, and how they report it.

While the broker is away every reconnect attempt fails the same way. The logs say
so once per change of state (servicekit.outages: "broker unreachable" with the
error, then "broker reachable again"), not with a warning or a traceback per
attempt. The worker's heartbeat hears every change, and an idle loop's ticks, so
`--check` can tell a worker that lost the broker from one that has nothing to do.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pika

from servicekit.outages import outages
from servicekit.problems import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)

FIRST_DELAY, MAX_DELAY = 0.5, 10.0
HEALTHY_AFTER = 30.0  # a connection that lived this long resets the back-off

# What a loop reports to the worker's heartbeat: whether it holds a broker connection, and if not, why.
Heartbeat = Callable[[bool, str | None], None]

# Failures of the connection itself: the broker is down, restarting or unreachable.
CONNECTION_LOST = (pika.exceptions.AMQPConnectionError, OSError)


def error_text(error: BaseException | str) -> str:
    """One line, never empty, naming the root cause: pika wraps e.g. a refused connection in
    two exceptions of its own, the outer one with an empty str()."""
    if isinstance(error, BaseException):
        error = _root_cause(error)
        error = f"{type(error).__name__}: {error}".rstrip(": ")
    return error.strip().splitlines()[0][:500] if error.strip() else "unknown error"


def _root_cause(error: BaseException) -> BaseException:
    for _ in range(10):  # pika's wrappers are a few levels deep; never loop on a cycle
        inner = getattr(error, "exception", None)                   # AMQPConnector...Error
        if inner is None and getattr(error, "exceptions", None):    # AMQPConnectionWorkflowFailed: the last try
            inner = error.exceptions[-1]
        if inner is None and len(error.args) == 1:                  # AMQPConnectionError(<the cause>)
            inner = error.args[0]
        if not isinstance(inner, BaseException):
            return error
        error = inner
    return error


class BrokerLink:
    """One loop's hold on the broker, as the logs and the worker's heartbeat see it."""

    def __init__(self, name: str, heartbeat: Heartbeat | None = None) -> None:
        self.name = name
        self._heartbeat = heartbeat or (lambda _connected, _error: None)

    def connected(self) -> None:
        """A connection is open and ready: ends an outage (logged once, whichever loop sees it first)."""
        outages.up("broker")
        self._heartbeat(True, None)

    def alive(self) -> None:
        """Still connected; an idle loop calls this on every tick so its heartbeat stays fresh."""
        self._heartbeat(True, None)

    def lost(self, error: BaseException | str) -> None:
        """The broker cannot be reached or the connection dropped."""
        if not isinstance(error, pika.exceptions.ConnectionClosedByClient):  # our own close, logged where decided
            outages.down("broker", error_text(error))
        self._heartbeat(False, error_text(error))

    def failed(self, error: BaseException) -> None:
        """A connection's life ended with `error`: reported by kind, without a traceback for outages."""
        if isinstance(error, CONNECTION_LOST):
            self.lost(error)
            return
        if isinstance(error, DATABASE_UNAVAILABLE):
            outages.down("database", error_text(getattr(error, "orig", None) or error))
        elif isinstance(error, pika.exceptions.AMQPError):  # e.g. a declaration the broker refused
            log.warning(f"{self.name} lost its channel", extra={"error": error_text(error)})
        else:  # a bug: its traceback is what an operator needs
            log.error(f"{self.name} failed", exc_info=error)
        self._heartbeat(False, error_text(error))


def run_until_stopped(stop: threading.Event, connect_and_run: Callable[[], None], link: BrokerLink) -> None:
    """Call `connect_and_run` (one connection's life) again after every failure, until `stop` is set.

    Waits between tries double from FIRST_DELAY to MAX_DELAY, so a broker or
    database that is down is not hammered, and a restart is picked up quickly.
    """
    delay = FIRST_DELAY
    while not stop.is_set():
        started = time.monotonic()
        try:
            connect_and_run()
        except Exception as exc:  # noqa: BLE001 - whatever ended the connection, try again after a pause
            link.failed(exc)
        if stop.is_set():
            break
        if time.monotonic() - started > HEALTHY_AFTER:
            delay = FIRST_DELAY
        stop.wait(delay)
        delay = min(delay * 2, MAX_DELAY)
