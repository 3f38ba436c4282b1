"""Waiting for a condition instead of sleeping for a fixed time."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02,
               message: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def retried_while(action: Callable[[], Any], refused: Callable[[Exception], bool], timeout: float = 10.0,
                  interval: float = 0.1, message: str = "the action to be accepted") -> Any:
    """`action()`'s result (True if it returns nothing) once it stops raising an exception `refused` accepts:
    e.g. a service that has not heard yet (through the bus) of what the action needs. Any other exception is
    raised at once; still refused after `timeout` seconds fails."""
    def attempt() -> Any:
        try:
            return action() or True
        except Exception as exc:
            if not refused(exc):
                raise
            return None
    return wait_until(attempt, timeout=timeout, interval=interval, message=message)
