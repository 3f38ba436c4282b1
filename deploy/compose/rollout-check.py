"""The rollout check (#12): how many requests fail at the gateway while one service is replaced under steady load.
Run by deploy/compose/rollout-check.sh, which brings up a compose stack of its own (beyou-rollout) and removes it.

A few users register (proof of work) and sign in through the gateway. Then, for each phase, readers ask auth for
the signed-in account (GET /api/auth/me) and writers trade their refresh token for a new pair (POST
/api/auth/token/refresh: a row written per request), at a steady pace, while the phase's command runs:

    baseline   `compose restart auth`: what an operator had before
    rollout    `deploy/compose/deploy.sh auth`: the new container beside the old one, found by the gateway through
               docker's DNS, the old one fenced off and drained (make deploy SERVICE=auth)

Every request counts once, as sent: none is retried, and a request without an answer within REQUEST_TIMEOUT
seconds counts as failed, as does any answer other than 200. The load runs from SETTLE seconds before the command
until SETTLE seconds after it ended. Prints the figures of both phases; exits 1 when the rollout failed a request
(or the command failed), whatever the baseline did.
"""
from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

# faults.py's clients of the gateway: addresses, setup calls with a 429's back-off, the proof of work.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import Gateway, call, new_details, solve  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REQUEST_TIMEOUT = 10.0
SETTLE = 5.0


@dataclass
class Tally:
    """The answers of one phase, and when each failure happened (seconds after the command began)."""
    answers: collections.Counter = field(default_factory=collections.Counter)
    failures: list[tuple[float, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    command_started: float = 0.0
    duration: float = 0.0

    def record(self, kind: str, answer: str) -> None:
        with self.lock:
            self.answers[answer] += 1
            if answer != "200":
                self.failures.append((time.monotonic() - self.command_started, kind, answer))

    @property
    def sent(self) -> int:
        return sum(self.answers.values())

    @property
    def failed(self) -> int:
        return len(self.failures)


class Loader(threading.Thread):
    """One client sending `request()` every `1 / rate` seconds until stopped; a slow answer delays the next one
    (a client does not burst to catch up)."""

    def __init__(self, kind: str, send, rate: float, tally: Tally) -> None:
        super().__init__(name=kind, daemon=True)
        self.kind, self.send, self.interval, self.tally = kind, send, 1 / rate, tally
        self.stop = threading.Event()

    def run(self) -> None:
        due = time.monotonic()
        while not self.stop.wait(max(0.0, due - time.monotonic())):
            due = max(due + self.interval, time.monotonic())
            try:
                answer = str(self.send().status_code)
            except requests.RequestException as error:
                answer = f"no answer ({type(error).__name__})"
            self.tally.record(self.kind, answer)


class Account:
    """A registered user with two sessions: one whose access token the reader uses, one the writer refreshes."""

    def __init__(self, gateway: Gateway) -> None:
        self.details = new_details("r")
        self.client = gateway.client()
        challenge = call(self.client, "POST", "/api/auth/challenge", expect=(201,)).json()
        call(self.client, "POST", "/api/auth/register", expect=(201,),
             json={**self.details, "challenge": solve(challenge)})
        self.access_token = self._log_in()["access_token"]
        self.refresh_token = self._log_in()["refresh_token"]
        self.refresh_failed = False

    def renew_refresh_token(self) -> None:
        """A new session for the writer when a refresh failed: its token may be spent."""
        if self.refresh_failed:
            self.refresh_token, self.refresh_failed = self._log_in()["refresh_token"], False

    def _log_in(self) -> dict:
        return call(self.client, "POST", "/api/auth/login", expect=(200,),
                    json={"username": self.details["username"], "password": self.details["password"]}).json()

    def reader(self, gateway: Gateway, rate: float, tally: Tally) -> Loader:
        client, headers = gateway.client(), {"Authorization": f"Bearer {self.access_token}"}
        return Loader("read", lambda: client.get("/api/auth/me", headers=headers, timeout=REQUEST_TIMEOUT),
                      rate, tally)

    def writer(self, gateway: Gateway, rate: float, tally: Tally) -> Loader:
        client = gateway.client()

        def refresh() -> requests.Response:
            response = client.post("/api/auth/token/refresh", json={"refresh_token": self.refresh_token},
                                   timeout=REQUEST_TIMEOUT)
            if response.status_code == 200:
                self.refresh_token = response.json()["refresh_token"]
            else:
                self.refresh_failed = True
            return response
        return Loader("write", refresh, rate, tally)


def run_phase(name: str, command: list[str], gateway: Gateway, accounts: list[Account], rate: float) -> Tally:
    """Steady load (two thirds reads, one third writes) from SETTLE seconds before `command` until SETTLE after."""
    tally = Tally()
    loaders = [account.reader(gateway, rate * 2 / 3 / len(accounts), tally) for account in accounts]
    loaders += [account.writer(gateway, rate / 3 / len(accounts), tally) for account in accounts]
    print(f"[rollout-check] {name}: {rate:g} requests/s; {' '.join(command)}", flush=True)
    tally.command_started = time.monotonic() + SETTLE
    for loader in loaders:
        loader.start()
    time.sleep(SETTLE)   # the load is steady before the command: a fixed lead, not a wait for a condition
    began = time.monotonic()
    done = subprocess.run(command, cwd=ROOT)
    tally.duration = time.monotonic() - began
    time.sleep(SETTLE)
    for loader in loaders:
        loader.stop.set()
    for loader in loaders:
        loader.join()
    if done.returncode != 0:
        tally.failures.append((tally.duration, "command", f"exit {done.returncode}"))
    return tally


def report(name: str, tally: Tally) -> str:
    answers = ", ".join(f"{answer}: {count}" for answer, count in tally.answers.most_common())
    line = (f"{name:<9} {tally.sent:6d} requests {tally.failed:4d} failed   command {tally.duration:5.1f}s   "
            f"answers {answers}")
    if tally.failures:
        first, last = tally.failures[0][0], tally.failures[-1][0]
        line += f"\n          failures from {first:+.1f}s to {last:+.1f}s after the command began"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", required=True, help="the stack's gateway, e.g. http://127.0.0.1:18093")
    parser.add_argument("--rate", type=float, default=30, help="requests a second during each phase (30)")
    parser.add_argument("--accounts", type=int, default=4, help="users, each a reader and a writer (4)")
    parser.add_argument("--skip-baseline", action="store_true", help="measure the rollout only")
    args = parser.parse_args(argv)

    gateway = Gateway(args.gateway)
    accounts = [Account(gateway) for _ in range(args.accounts)]
    deploy = [str(ROOT / "deploy" / "compose" / "deploy.sh"), "auth"]
    restart = ["bash", "-c", 'source "$0" && compose restart auth', str(ROOT / "deploy" / "compose" / "lib.sh")]

    results = {}
    if not args.skip_baseline:
        results["baseline"] = run_phase("baseline: compose restart auth", restart, gateway,
                                        accounts, args.rate)
        # The rollout starts from a serving auth, as an operator's deploy would, and from live refresh tokens (a
        # refresh whose answer was lost spent its token).
        call(gateway.client(), "GET", "/api/auth/readyz", expect=(200,), retry_on=(502, 503, 504), timeout=120)
        for account in accounts:
            account.renew_refresh_token()
    results["rollout"] = run_phase("rollout: deploy.sh auth", deploy, gateway, accounts, args.rate)

    print("\n[rollout-check] failed requests at the gateway while auth was replaced under load:")
    for name, tally in results.items():
        print(report(name, tally))
    rollout = results["rollout"]
    verdict = "ok" if rollout.failed == 0 else "FAIL"
    print(f"rollout-check: {verdict}: rollout {rollout.failed} failed of {rollout.sent}"
          + (f"; baseline {results['baseline'].failed} failed of {results['baseline'].sent}"
             if "baseline" in results else ""))
    return 0 if rollout.failed == 0 else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
