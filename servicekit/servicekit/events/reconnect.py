"""Keeping a broker connection alive: the loop the relay and the consumer share."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pika

log = logging.getLogger(__name__)

FIRST_DELAY, MAX_DELAY = 0.5, 10.0
HEALTHY_AFTER = 30.0  # a connection that lived this long resets the back-off


def run_until_stopped(stop: threading.Event, connect_and_run: Callable[[], None], name: str) -> None:
    """Call `connect_and_run` (one connection's life) again after every failure, until `stop` is set.

    Waits between tries double from FIRST_DELAY to MAX_DELAY, so a broker or
    database that is down is not hammered, and a restart is picked up quickly.
    """
    delay = FIRST_DELAY
    while not stop.is_set():
        started = time.monotonic()
        try:
            connect_and_run()
        except (pika.exceptions.AMQPError, OSError) as exc:
            log.warning(f"{name} lost the broker", extra={"error": repr(exc)})
        except Exception:
            log.exception(f"{name} failed")
        if stop.is_set():
            break
        if time.monotonic() - started > HEALTHY_AFTER:
            delay = FIRST_DELAY
        stop.wait(delay)
        delay = min(delay * 2, MAX_DELAY)
