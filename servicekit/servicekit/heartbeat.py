"""A worker's health: the heartbeat file its loops keep, and the check that reads it.

    python -m servicekit.heartbeat <service>     is <service>'s running worker healthy? one line on stdout,
                                                 exit 0 if so, 1 if not (compose's healthcheck, Kubernetes'
                                                 readiness probe); `python -m <service>.worker --check` says
                                                 the same
    python -m servicekit.heartbeat <service> --liveness
                                                 is it alive? its loops still run, connected to the broker or
                                                 not (Kubernetes' liveness probe: a restart cures a hung loop,
                                                 not a broker that is away, which the worker waits out itself)

A worker is healthy when its relay and its consumer were both heard within WORKER_HEARTBEAT_MAX_AGE_SECONDS
and both hold a broker connection. So an idle worker is healthy, and one that lost the broker, or whose loop
hangs, is not. It is alive while both loops are heard, connected or not: a loop that cannot reach the broker
still reports after each try (at most MAX_DELAY, 10 s, apart: servicekit.events.reconnect). The check imports nothing but the standard library and servicekit.config, and reads only
WORKER_HEARTBEAT_FILE and WORKER_HEARTBEAT_MAX_AGE_SECONDS: it costs a few milliseconds of CPU, where
importing a service's package (Flask, SQLAlchemy, its models) costs over a second, every few seconds per
worker.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from servicekit.config import WorkerHealthSettings

log = logging.getLogger(__name__)

LOOPS = ("relay", "consumer")  # what the heartbeat must hear from


def heartbeat_file(settings: WorkerHealthSettings, service: str) -> Path:
    return Path(settings.worker_heartbeat_file or f"/tmp/beyou-{service}-worker.heartbeat")


class Heartbeat:
    """Per loop, when it was last heard and whether it holds a broker connection, kept in a file.

    The file is rewritten (atomically: a temporary file renamed over it) when a loop's
    connection state changes, and otherwise at most every `write_every` seconds.
    """

    def __init__(self, path: Path, write_every: float) -> None:
        self.path = path
        self.write_every = write_every
        self._loops: dict[str, dict] = {}
        self._written_at = float("-inf")
        self._write_failed = False
        self._lock = threading.Lock()

    def beat(self, loop: str, connected: bool, error: str | None = None) -> None:
        with self._lock:
            previous = self._loops.get(loop)
            self._loops[loop] = {"at": time.time(), "connected": connected, "error": error}
            changed = previous is None or previous["connected"] != connected
            if changed or time.monotonic() - self._written_at >= self.write_every:
                self._write()

    def _write(self) -> None:
        content = json.dumps({"pid": os.getpid(), "loops": self._loops})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            try:
                with os.fdopen(fd, "w") as file:
                    file.write(content)
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as exc:
            if not self._write_failed:  # once, not every tick: --check will report the missing file
                log.error("cannot write the heartbeat file", extra={"path": str(self.path), "error": str(exc)})
            self._write_failed = True
            return
        self._write_failed = False
        self._written_at = time.monotonic()

    def remove(self) -> None:
        """The worker stopped: nothing is alive to report on any more."""
        with self._lock:
            self.path.unlink(missing_ok=True)


def check_heartbeat(path: Path, max_age: float, now: float | None = None, *,
                    liveness: bool = False) -> tuple[bool, str]:
    """(healthy, why) from the heartbeat file a running worker keeps; with `liveness`, (alive, why): the broker
    connection is not required."""
    try:
        loops = json.loads(path.read_text())["loops"]
    except FileNotFoundError:
        return False, f"no heartbeat file {path}: the worker is not running, or not yet connected"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return False, f"unreadable heartbeat file {path}: {exc}"
    now = time.time() if now is None else now
    for loop in LOOPS:
        beat = loops.get(loop)
        if beat is None:
            return False, f"the {loop} has not reported yet"
        silent = now - beat["at"]
        if silent > max_age:
            return False, f"the {loop} has been silent for {silent:.0f} s (limit {max_age:g} s)"
        if not beat["connected"] and not liveness:
            return False, f"the {loop} cannot reach the broker: {beat['error']}"
    if liveness:
        return True, " and ".join(LOOPS) + f" heard within {max_age:g} s"
    return True, " and ".join(LOOPS) + " connected to the broker"


def check(service: str, settings: WorkerHealthSettings, *, liveness: bool = False) -> tuple[bool, str]:
    """(healthy, why) of `service`'s running worker; with `liveness`, (alive, why)."""
    return check_heartbeat(heartbeat_file(settings, service), settings.worker_heartbeat_max_age_seconds,
                           liveness=liveness)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m servicekit.heartbeat",
                                     description="Report whether a service's running worker is healthy (exit 0) "
                                                 "or not (exit 1), and why.")
    parser.add_argument("service", help="the service whose worker to check, e.g. auth")
    parser.add_argument("--liveness", action="store_true",
                        help="only whether its loops still run (exit 0: alive), connected to the broker or not")
    args = parser.parse_args(argv)
    good, why = check(args.service, WorkerHealthSettings.load(), liveness=args.liveness)
    if args.liveness:
        print(f"{'alive' if good else 'not alive'}: {why}")
    else:
        print(f"{'healthy' if good else 'unhealthy'}: {why}")
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
