"""Dependencies that go away and come back, logged once per change of state.

While PostgreSQL or RabbitMQ is down every request, probe and reconnect attempt
fails the same way; a warning (with a traceback) for each would bury the one line
an operator needs. `outages.down("database", error)` logs the first failure of an
outage, `outages.up("database")` its end; repeats in between are silent.
"""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("servicekit.outages")


class OutageLog:
    def __init__(self, logger: logging.Logger = log) -> None:
        self._log = logger
        self._down_since: dict[str, float] = {}
        self._lock = threading.Lock()

    def down(self, what: str, error: BaseException | str) -> None:
        """`what` failed; logged only if it was not already known to be down."""
        with self._lock:
            if what in self._down_since:
                return
            self._down_since[what] = time.monotonic()
        text = str(error).strip() or type(error).__name__
        self._log.warning(f"{what} unreachable", extra={"dependency": what, "error": text.splitlines()[0][:500]})

    def up(self, what: str) -> None:
        """`what` works; logged only if it was down."""
        if what not in self._down_since:  # the common case, without the lock
            return
        with self._lock:
            since = self._down_since.pop(what, None)
        if since is not None:
            self._log.warning(f"{what} reachable again", extra={
                "dependency": what, "outage_seconds": round(time.monotonic() - since, 1)})

    def is_down(self, what: str) -> bool:
        return what in self._down_since


outages = OutageLog()
