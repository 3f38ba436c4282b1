"""The fault test: nothing lost, nothing doubled (#11). Run by deploy/compose/faults.sh (`make test-faults`),
which brings up a compose stack of its own (beyou-faults) and removes it afterwards.

Users register (proof of work), befriend each other in pairs and open a direct conversation per pair, all through
the gateway. Then every user sends standard messages into their conversation at a steady pace, and meanwhile, in
turn, with a pause of steady load after each recovery:

    RabbitMQ restarts              (docker-compose stop, then start: a restart whose down moment is known)
    the ledger worker crashes      (SIGKILL to the container's main process from the host: the restart policy
                                    answers a crash, unlike `docker stop` or `docker kill`, a manual stop)
    PostgreSQL restarts            (docker-compose stop, then start)
    messaging's API crashes        (SIGKILL to gunicorn's master, the container's main process)

A sender is a real client: it picks each message's id itself, and a request that got no answer, or a 502/503/504
from the gateway, is sent again with the same id after a back-off, as is a 429 after its Retry-After. A 201 is
accepted; a 409 to a resend means the message was stored by an earlier attempt whose answer was lost, so it is
accepted too (once).

Once the load stops and the system has settled (each condition waited for, with a bound):
- every message messaging stored was sent by a sender, every accepted one is stored, none twice;
- the ledger's log (read as its public C2SP entry bundles, up to the signed checkpoint) holds a leaf for every
  stored message, exactly one;
- every recipient has exactly one `message.received` notification for the conversation, and its `data.count` is
  the number of messages stored from the other participant (social gathers a conversation's unread messages into
  one notification);
- no event sits in a dead-letter queue, every queue is drained, and no outbox holds an unsent event older than a
  grace (events of types nobody consumes wait out the relay's unroutable grace, and are reported, not counted);
- the ledger's full audit, asked for by a staff account made the operator's way, is clean.

It prints the figures (sent, accepted, stored, recorded, duplicates, lost; per fault the seconds until the
component was down and back, until the first send begun during the outage was accepted and until the first message
sent during it reached the ledger, and the failed attempts) and exits 1 on any loss, duplicate or other failed
check, or a fault the system did not recover from within the bound.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from servicekit.testing import wait_until
from servicekit.testing.gateway import GatewayClient

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_LIB = ROOT / "deploy" / "compose" / "lib.sh"
SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")

REQUEST_TIMEOUT = 10.0        # a send with no answer by then is sent again
RETRIED = {502, 503, 504}     # the gateway's answers while a service or its database is away
RETRY_FIRST, RETRY_MAX = 0.2, 2.0
OUTBOX_GRACE_SECONDS = 30
UNROUTABLE = "unroutable:%"   # the relay's last_error for an event no queue is bound for (servicekit.events.relay)

started = time.monotonic()


def now() -> float:
    """Seconds since the test began: the clock of every figure."""
    return time.monotonic() - started


def say(text: str) -> None:
    print(f"[faults {now():6.1f}s] {text}", flush=True)


# --- the compose stack ------------------------------------------------------------------------------------------

class Stack:
    """The compose stack faults.sh brought up: compose commands (lib.sh's `compose`, with the project name and
    image variables faults.sh exported), and docker's view of its containers."""

    def compose(self, *args: str, stdin: str | None = None, timeout: float = 180) -> str:
        done = subprocess.run(["bash", "-c", 'source "$0" && compose "$@"', str(COMPOSE_LIB), *args],
                              input=stdin, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"compose {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        return done.stdout

    def container(self, service: str) -> dict[str, Any]:
        """docker inspect of the service's container (State: Pid, Running, Health; RestartCount)."""
        container_id = self.compose("ps", "-q", service).strip()
        if not container_id:
            raise RuntimeError(f"no container for {service}")
        done = subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True, check=True)
        return json.loads(done.stdout)[0]

    def crash(self, service: str) -> dict[str, Any]:
        """SIGKILL the container's main process from the host, as a crash would end it; the container as it was."""
        before = self.container(service)
        pid = before["State"]["Pid"]
        if not pid:
            raise RuntimeError(f"{service} has no running process to kill")
        if os.geteuid() == 0:
            os.kill(pid, signal.SIGKILL)
        else:
            subprocess.run(["sudo", "kill", "-KILL", str(pid)], check=True)
        return before

    def restarted(self, service: str, before: dict[str, Any]) -> bool:
        """Whether the restart policy brought the crashed container back: a new process, running."""
        state = self.container(service)
        return (state["RestartCount"] > before["RestartCount"] and state["State"]["Running"]
                and state["State"]["Pid"] != before["State"]["Pid"])

    def healthy(self, service: str) -> bool:
        """Whether the container runs and docker's health check finds it healthy."""
        state = self.container(service)["State"]
        return state["Running"] and state.get("Health", {}).get("Status") == "healthy"

    def sql(self, database: str, query: str) -> list[list[str]]:
        """Rows of `query` (fields split at psql's unaligned `|`), run as the PostgreSQL superuser in `database`."""
        out = self.compose("exec", "-T", "postgres", "sh", "-c",
                           'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U postgres -d "$1" -XAt -c "$2"',
                           "sh", database, query)
        return [line.split("|") for line in out.splitlines() if line]

    def queues(self) -> dict[str, int]:
        """Messages (ready and unacknowledged) in every queue of the vhost, by name."""
        out = self.compose("exec", "-T", "rabbitmq", "rabbitmqctl", "-q", "list_queues", "-p", "beyou",
                           "name", "messages", "--formatter", "json")
        return {queue["name"]: int(queue["messages"]) for queue in json.loads(out)}

    def create_staff(self, details: dict[str, str]) -> None:
        """A staff account, the operator's way (README: `flask --app auth create-staff`)."""
        self.compose("exec", "-T", "auth", "flask", "--app", "auth", "create-staff", "--username",
                     details["username"], "--email", details["email"], "--phone", details["phone"],
                     "--password-stdin", stdin=details["password"] + "\n")


# --- clients of the gateway -------------------------------------------------------------------------------------

def loopback_addresses() -> Iterator[str]:
    """A fresh /16 inside 127/8 per run: each client sends from its own address, as a device would, because the
    gateway limits rates per address (behind docker's port proxy the gateway sees the proxy's address instead, and
    the few requests this test makes stay well within one address's allowance)."""
    base = random.randrange(16, 250)
    return (f"127.{base}.{n // 250}.{n % 250 + 1}" for n in itertools.count())


class Gateway:
    def __init__(self, url: str) -> None:
        self.url = url
        self._addresses = loopback_addresses()
        self._lock = threading.Lock()

    def client(self) -> GatewayClient:
        with self._lock:
            address = next(self._addresses)
        return GatewayClient(self.url, address if self.url.startswith("http://127.") else None)


def call(client: GatewayClient, method: str, path: str, *, expect: tuple[int, ...], retry_on: tuple[int, ...] = (),
         timeout: float = 60, **kwargs: Any) -> requests.Response:
    """A setup or verification request: sent again after a 429's Retry-After, or while it answers one of
    `retry_on` (e.g. 404 until an event has reached the service), for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.request(method, path, timeout=30, **kwargs)
        if response.status_code in expect:
            return response
        if time.monotonic() > deadline or response.status_code not in (429, *retry_on):
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        time.sleep(float(response.headers.get("Retry-After", 0.25)))


def solve(challenge: dict) -> dict:
    """What a client does before registering: find a nonce with enough leading zero bits (tests/conftest.py)."""
    token, difficulty = challenge["token"], challenge["difficulty"]
    for nonce in itertools.count():
        if int.from_bytes(hashlib.sha256(f"{token}:{nonce}".encode()).digest(), "big") >> (256 - difficulty) == 0:
            return {"token": token, "nonce": str(nonce)}


def new_details(prefix: str) -> dict[str, str]:
    tag = uuid.uuid4()
    username = f"{prefix}{tag.hex[:12]}"
    return {"username": username, "email": f"{username}@faults.test", "phone": f"+4420{tag.int % 10**8:08d}",
            "password": f"Faults-{tag.hex[12:28]}"}


@dataclass
class User:
    client: GatewayClient
    details: dict[str, str]
    id: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def username(self) -> str:
        return self.details["username"]

    def sign_in(self) -> None:
        response = call(self.client, "POST", "/api/auth/login", expect=(200,),
                        json={"username": self.username, "password": self.details["password"]})
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}


def register(gateway: Gateway, solver: Callable[[dict], dict]) -> User:
    user = User(gateway.client(), new_details("f"))
    challenge = call(user.client, "POST", "/api/auth/challenge", expect=(201,)).json()
    user.id = call(user.client, "POST", "/api/auth/register", expect=(201,),
                   json={**user.details, "challenge": solver(challenge)}).json()["id"]
    user.sign_in()
    return user


@dataclass
class Pair:
    """Two friends and their direct conversation."""
    a: User
    b: User
    conversation_id: str = ""

    def peer(self, user: User) -> User:
        return self.b if user is self.a else self.a


def befriend_and_converse(pair: Pair) -> None:
    """a asks b to be friends, b accepts, a opens their direct conversation. Each step waits (404) until the
    events it depends on reached the service: b's profile in social, b in messaging's read model."""
    request_id = call(pair.a.client, "POST", "/api/social/friend-requests", expect=(201,), retry_on=(404,),
                      headers=pair.a.headers, json={"username": pair.b.username}).json()["id"]
    call(pair.b.client, "POST", f"/api/social/friend-requests/{request_id}/accept", expect=(200,),
         headers=pair.b.headers)
    pair.conversation_id = call(pair.a.client, "POST", "/api/messaging/conversations", expect=(200, 201),
                                retry_on=(404,), headers=pair.a.headers,
                                json={"type": "direct", "user_id": pair.b.id}).json()["id"]


# --- the load ---------------------------------------------------------------------------------------------------

@dataclass
class Message:
    id: uuid.UUID
    conversation_id: str
    sender_id: str
    first_try: float
    attempts: int = 0
    outcome: str = "pending"      # accepted, refused (an answer no client retries), abandoned (gave up)
    answers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Attempt:
    started: float
    ended: float
    answer: str                   # the status, or "no answer"
    ok: bool


class Journal:
    """Every message and every attempt to send one, shared by the senders."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()

    def new(self, message: Message) -> None:
        with self._lock:
            self.messages.append(message)

    def attempted(self, attempt: Attempt) -> None:
        with self._lock:
            self.attempts.append(attempt)

    def attempts_since(self, since: float, until: float = float("inf")) -> list[Attempt]:
        with self._lock:
            return [a for a in self.attempts if since <= a.started < until]

    def accepted_since(self, since: float) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.first_try >= since and m.outcome == "accepted"]

    def accepted_by(self, sender_id: str) -> int:
        with self._lock:
            return sum(1 for m in self.messages if m.sender_id == sender_id and m.outcome == "accepted")


class Sender(threading.Thread):
    """One user sending into their conversation at `rate` messages a second, each until it is accepted (a retry
    with the same id), refused, or `give_up` seconds have passed since its first try."""

    def __init__(self, user: User, conversation_id: str, journal: Journal, *, rate: float, give_up: float) -> None:
        super().__init__(name=f"sender {user.username}", daemon=True)
        self.user, self.conversation_id, self.journal = user, conversation_id, journal
        self.interval, self.give_up = 1 / rate, give_up
        self.stop = threading.Event()

    def run(self) -> None:
        due = time.monotonic()
        for n in itertools.count(1):
            if self.stop.wait(max(0.0, due - time.monotonic())):
                return
            due = max(due + self.interval, time.monotonic())  # a sender that fell behind does not burst
            self.deliver(n)

    def deliver(self, n: int) -> None:
        message = Message(uuid.uuid4(), self.conversation_id, self.user.id, now())
        self.journal.new(message)
        pause = RETRY_FIRST
        while True:
            message.attempts += 1
            begun = now()
            answer, retry_after = self._send(message, n)
            ok = answer == "201" or (answer == "409" and message.attempts > 1)  # 409 to a resend: stored before
            message.answers.append(answer)
            self.journal.attempted(Attempt(begun, now(), answer, ok))
            if ok:
                message.outcome = "accepted"
                return
            if not (answer in ("no answer", "429") or int(answer) in RETRIED):
                message.outcome = "refused"
                return
            if now() - message.first_try > self.give_up:
                message.outcome = "abandoned"
                return
            time.sleep(retry_after if retry_after is not None else pause)
            pause = min(pause * 2, RETRY_MAX)

    def _send(self, message: Message, n: int) -> tuple[str, float | None]:
        try:
            response = self.user.client.post(
                f"/api/messaging/conversations/{self.conversation_id}/messages", timeout=REQUEST_TIMEOUT,
                headers=self.user.headers,
                json={"kind": "standard", "message_id": str(message.id), "body": f"fault test message {n}"})
        except requests.RequestException:
            return "no answer", None
        retry_after = response.headers.get("Retry-After") if response.status_code == 429 else None
        return str(response.status_code), float(retry_after) if retry_after else None


# --- faults -----------------------------------------------------------------------------------------------------

@dataclass
class FaultRecord:
    name: str
    injected_at: float
    down_at: float | None = None          # the component is down: stopped, or its process killed
    back_at: float | None = None          # it serves again (see FaultRun: what "back" means for each)
    sends_ok_at: float | None = None      # the first accepted send that began once it was down
    ledger_at: float | None = None        # the first message sent once it was down is in the ledger
    failed_attempts: collections.Counter = field(default_factory=collections.Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> bool:
        return None not in (self.back_at, self.sends_ok_at, self.ledger_at)


class FaultRun:
    """The faults, one at a time: each is injected, then waited out — the component back, a send that began once
    it was down accepted, and that message in the ledger — each wait bounded by `recovery_timeout`.

    "Back" is what its users would ask: docker's health check for PostgreSQL and RabbitMQ (pg_isready, a TCP
    connect); for a crashed API a new process (the restart policy) whose /readyz answers 200 through the gateway;
    for a crashed worker a new process whose own `--check` passes, run as an operator runs it (docker's health
    status lags behind it by up to an interval, and longer on a busy machine)."""

    def __init__(self, stack: Stack, gateway: Gateway, journal: Journal, recovery_timeout: float) -> None:
        self.stack, self.gateway, self.journal, self.recovery_timeout = stack, gateway, journal, recovery_timeout
        self.records: list[FaultRecord] = []

    def restart(self, service: str) -> None:
        """What `docker-compose restart <service>` does, as its two halves, so the moment it is down is known."""
        record = self._begin(f"restart {service}")
        self.stack.compose("stop", service)
        watchers = self._down(record)
        self.stack.compose("start", service)
        self._wait(record, "back_at", lambda: self.stack.healthy(service), f"{service} healthy again")
        self._wait_for(watchers)

    def crash_api(self, service: str) -> None:
        """SIGKILL to the API container's main process (gunicorn's master, and with it its workers)."""
        probe = self.gateway.client()

        def ready() -> bool:
            try:
                return probe.get(f"/api/{service}/readyz", timeout=5).status_code == 200
            except requests.RequestException:
                return False
        self._crash(service, f"{service}'s API (gunicorn's master)", ready)

    def crash_worker(self, service: str) -> None:
        """SIGKILL to the worker container's main process (`python -m <service>.worker`)."""
        def checked() -> bool:
            try:
                self.stack.compose("exec", "-T", f"{service}-worker", "python", "-m", f"{service}.worker", "--check")
            except RuntimeError:
                return False
            return True
        self._crash(f"{service}-worker", f"the {service} worker", checked)

    def _crash(self, container: str, what: str, serving: Callable[[], bool]) -> None:
        record = self._begin(f"SIGKILL {what}")
        before = self.stack.crash(container)
        watchers = self._down(record)
        record.notes.append(f"pid {before['State']['Pid']} killed (restarts before: {before['RestartCount']})")
        self._wait(record, "back_at", lambda: self.stack.restarted(container, before) and serving(),
                   f"the restart policy to bring {container} back, serving")
        after = self.stack.container(container)
        record.notes.append(f"now pid {after['State']['Pid']} (restarts: {after['RestartCount']})")
        self._wait_for(watchers)

    def _begin(self, name: str) -> FaultRecord:
        record = FaultRecord(name, now())
        self.records.append(record)
        say(f"fault: {name} ...")
        return record

    def _down(self, record: FaultRecord) -> list[threading.Thread]:
        """The component is down: from now on, watch for a send to be accepted and for it to reach the ledger."""
        record.down_at = now()
        watchers = [threading.Thread(target=self._wait, daemon=True, args=(record, *watch)) for watch in (
            ("sends_ok_at", self._accepted_since(record.down_at), "a send begun during the outage accepted"),
            ("ledger_at", self._in_ledger_since(record.down_at), "a message sent during the outage in the ledger"))]
        for watcher in watchers:
            watcher.start()
        return watchers

    @staticmethod
    def _wait_for(watchers: list[threading.Thread]) -> None:
        for watcher in watchers:
            watcher.join()  # each is bounded by the recovery timeout

    def _wait(self, record: FaultRecord, attribute: str, condition: Callable[[], Any], what: str) -> None:
        """Wait for `condition` (bounded); record when it held: its value if it is a time, else the moment seen."""
        try:
            held = wait_until(condition, timeout=self.recovery_timeout, interval=0.25, message=what)
        except AssertionError as exc:
            record.notes.append(str(exc))
            say(f"  {exc}")
            return
        setattr(record, attribute, held if isinstance(held, float) else now())
        say(f"  {what}: {getattr(record, attribute) - record.injected_at:.1f}s after the fault")

    def _accepted_since(self, since: float) -> Callable[[], float | None]:
        """When the first attempt begun at or after `since` was accepted."""
        def condition() -> float | None:
            return min((a.ended for a in self.journal.attempts_since(since) if a.ok), default=None)
        return condition

    def _in_ledger_since(self, since: float) -> Callable[[], bool]:
        """The first message first tried at or after `since` (once it is accepted) has its ledger entry."""
        probe = self.gateway.client()

        def condition() -> bool:
            sent = self.journal.accepted_since(since)
            if not sent:
                return False
            first = min(sent, key=lambda m: m.first_try)
            try:
                return probe.get(f"/api/ledger/entries/{first.id}", timeout=5).status_code == 200
            except requests.RequestException:
                return False
        return condition

    def close(self, end: float) -> None:
        """Each fault's window ends where the next begins: count the attempts that failed in it."""
        for record, following in zip(self.records, [*self.records[1:], None]):
            window = self.journal.attempts_since(record.injected_at, following.injected_at if following else end)
            record.failed_attempts = collections.Counter(a.answer for a in window if not a.ok)


# --- what the system holds afterwards ---------------------------------------------------------------------------

def pages(client: GatewayClient, path: str, headers: dict[str, str], **query: Any) -> Iterator[dict]:
    cursor = None
    while True:
        params = {**query, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = call(client, "GET", path, expect=(200,), retry_on=(502, 503, 504), headers=headers,
                    params=params).json()
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def tile_index(n: int) -> str:
    """C2SP tlog-tiles: N in groups of three digits, every group but the last prefixed with x (1000 -> x001/000)."""
    groups = [f"{n % 1000:03d}"]
    while n >= 1000:
        n //= 1000
        groups.insert(0, f"x{n % 1000:03d}")
    return "/".join(groups)


class LedgerLog:
    """The log as any client reads it: the checkpoint's tree size, then the entry bundles up to it."""

    def __init__(self, client: GatewayClient) -> None:
        self.client = client
        self.full_bundles: dict[int, list[bytes]] = {}   # immutable once full: fetched once

    def message_ids(self) -> collections.Counter:
        """How many leaves of the signed log record each message id."""
        size = call(self.client, "GET", "/api/ledger/checkpoint", expect=(200, 404),
                    retry_on=(502, 503, 504)).json().get("tree_size", 0)
        leaves: list[bytes] = []
        for n in range(size // 256):
            if n not in self.full_bundles:
                self.full_bundles[n] = self._bundle(tile_index(n))
            leaves += self.full_bundles[n]
        if size % 256:
            leaves += self._bundle(f"{tile_index(size // 256)}.p/{size % 256}")
        # docs/ledger-formats.md §2.1: kind 0x01 is a message; its id is bytes 2-17.
        return collections.Counter(uuid.UUID(bytes=leaf[2:18]) for leaf in leaves if leaf[0] == 0x01)

    def _bundle(self, index: str) -> list[bytes]:
        data = call(self.client, "GET", f"/api/ledger/log/tile/entries/{index}", expect=(200,),
                    retry_on=(502, 503, 504)).content
        leaves, offset = [], 0
        while offset < len(data):  # uint16 length ‖ leaf, repeated
            length = int.from_bytes(data[offset:offset + 2], "big")
            leaves.append(data[offset + 2:offset + 2 + length])
            offset += 2 + length
        return leaves


@dataclass
class Figures:
    sent: int = 0
    accepted: int = 0
    stored: int = 0
    recorded: int = 0
    duplicates: int = 0
    lost: int = 0


class Verdict:
    """The checks, printed as they are made."""

    def __init__(self) -> None:
        self.passed = self.failed = 0

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'ok  ' if ok else 'FAIL'}  {what}{f' ({detail})' if detail else ''}", flush=True)
        return ok


def settled(condition: Callable[[], Any], timeout: float, what: str) -> None:
    """Wait until `condition` holds, for at most `timeout` seconds; the check that follows says whether it did."""
    try:
        wait_until(condition, timeout=timeout, interval=1.0, message=what)
    except AssertionError:
        say(f"  not settled within {timeout:g}s: {what}")


class Afterwards:
    """What the system holds once it has settled, asked as its users, its operators and a log verifier would."""

    def __init__(self, stack: Stack, gateway: Gateway, pairs: list[Pair], journal: Journal, verdict: Verdict,
                 settle_timeout: float) -> None:
        self.stack, self.pairs, self.verdict, self.settle_timeout = stack, pairs, verdict, settle_timeout
        self.client = gateway.client()
        self.staff = User(gateway.client(), new_details("staff"))
        self.sent = {m.id: m for m in journal.messages}
        self.accepted = {m.id for m in journal.messages if m.outcome == "accepted"}
        self.stored: collections.Counter = collections.Counter()    # message id: times messaging lists it
        self.received: collections.Counter = collections.Counter()  # (conversation, sender): messages stored
        self.figures = Figures(sent=len(self.sent), accepted=len(self.accepted))

    def check_all(self) -> Figures:
        self.messaging()
        self.ledger()
        self.notifications()
        self.bus()
        self.outboxes()
        self.audit()
        return self.figures

    def messaging(self) -> None:
        """What messaging stored, read as a participant reads a conversation."""
        for pair in self.pairs:
            for item in pages(self.client, f"/api/messaging/conversations/{pair.conversation_id}/messages",
                              pair.a.headers):
                self.stored[uuid.UUID(item["id"])] += 1
                self.received[(pair.conversation_id, item["sender_id"])] += 1
        missing = self.accepted - set(self.stored)
        strangers = set(self.stored) - set(self.sent)
        doubled = sum(c - 1 for c in self.stored.values())
        self.figures.stored = len(self.stored)
        self.figures.lost += len(missing)
        self.figures.duplicates += doubled
        self.verdict.check("messaging stored every accepted message", not missing, f"{len(missing)} missing")
        self.verdict.check("messaging stored nothing that was not sent", not strangers, f"{len(strangers)} unknown")
        self.verdict.check("messaging stored no message twice", not doubled, f"{doubled} extra")
        unanswered = set(self.stored) - self.accepted
        if unanswered:
            say(f"{len(unanswered)} stored messages whose sender gave up before an answer said so (not a loss)")

    def ledger(self) -> None:
        """The signed log, once every stored message has had time to reach it."""
        log = LedgerLog(self.client)
        settled(lambda: set(self.stored) <= set(log.message_ids()), self.settle_timeout,
                "every stored message in the ledger")
        leaves = log.message_ids()
        unrecorded = set(self.stored) - set(leaves)
        extra = sum(c - 1 for c in leaves.values())
        unknown = set(leaves) - set(self.stored)
        self.figures.recorded = len(set(self.stored) & set(leaves))
        self.figures.lost += len(unrecorded)
        self.figures.duplicates += extra
        self.verdict.check("the ledger holds a leaf for every stored message", not unrecorded,
                           f"{len(unrecorded)} missing")
        self.verdict.check("the ledger holds no message twice", not extra, f"{extra} extra leaves")
        self.verdict.check("the ledger holds no message messaging did not store", not unknown, f"{len(unknown)}")

    def notifications(self) -> None:
        """social gathers a conversation's unread messages into one notification: each recipient has exactly one
        `message.received` for the conversation, and its count is the messages stored from the other participant."""
        def wrong() -> list[str]:
            found = []
            for pair in self.pairs:
                for user in (pair.a, pair.b):
                    expected = self.received[(pair.conversation_id, pair.peer(user).id)]
                    counts = [n["data"].get("count") for n in pages(self.client, "/api/social/notifications",
                                                                    user.headers)
                              if n["kind"] == "message.received" and n["subject_id"] == pair.conversation_id]
                    if counts != [expected]:
                        found.append(f"{user.username}: counts {counts}, expected [{expected}]")
            return found

        settled(lambda: not wrong(), self.settle_timeout, "every notification to count its messages")
        mistakes = wrong()
        self.verdict.check("every recipient has one message notification per conversation, counting each message "
                           "once", not mistakes, "; ".join(mistakes))

    def bus(self) -> None:
        """Nothing dead-lettered, nothing left in a queue (a retry queue included)."""
        settled(lambda: not any(self.stack.queues().values()), self.settle_timeout, "every queue drained")
        queues = self.stack.queues()
        dead = {name: n for name, n in queues.items() if name.endswith(".dead") and n}
        waiting = {name: n for name, n in queues.items() if not name.endswith(".dead") and n}
        self.verdict.check("no event in a dead-letter queue", not dead, ", ".join(f"{q}: {n}" for q, n in dead.items()))
        self.verdict.check("every queue drained", not waiting, ", ".join(f"{q}: {n}" for q, n in waiting.items()))

    def outboxes(self) -> None:
        """No event unsent beyond the grace, but those of types nobody consumes (the relay retries them until its
        unroutable grace, then drops them): those are listed, and must not include a message's."""
        def late() -> dict[str, int]:
            counts = {}
            for service in SERVICES:
                [[count]] = self.stack.sql(service, f"""
                    SELECT count(*) FROM outbox WHERE published_at IS NULL
                    AND created_at < now() - interval '{OUTBOX_GRACE_SECONDS} seconds'
                    AND (last_error IS NULL OR last_error NOT LIKE '{UNROUTABLE}')""")
                if int(count):
                    counts[service] = int(count)
            return counts

        settled(lambda: not late(), self.settle_timeout, "every outbox sent")
        unsent = late()
        self.verdict.check(f"no outbox holds an event unsent for over {OUTBOX_GRACE_SECONDS} s", not unsent,
                           ", ".join(f"{s}: {n}" for s, n in unsent.items()))
        unconsumed: collections.Counter = collections.Counter()
        for service in SERVICES:
            for event_type, count in self.stack.sql(service, f"""
                    SELECT event_type, count(*) FROM outbox WHERE last_error LIKE '{UNROUTABLE}' GROUP BY 1"""):
                unconsumed[event_type] += int(count)
        self.verdict.check("only events of types nobody consumes waited for a queue",
                           not {"messaging.message.created", "messaging.message.removed"} & set(unconsumed),
                           ", ".join(f"{t}: {n}" for t, n in sorted(unconsumed.items())))

    def audit(self) -> None:
        """The ledger's full audit, asked by a staff account made the operator's way."""
        self.stack.create_staff(self.staff.details)
        self.staff.sign_in()
        report = call(self.staff.client, "POST", "/api/ledger/admin/audit", expect=(200,), params={"mode": "full"},
                      headers=self.staff.headers).json()
        for _ in range(10):  # an audit stopped for time (`complete` false) is continued by an incremental one
            if report["complete"]:
                break
            report = call(self.staff.client, "POST", "/api/ledger/admin/audit", expect=(200,),
                          headers=self.staff.headers).json()
        self.verdict.check("the ledger's full audit is clean", report["status"] == "ok" and report["complete"],
                           f"{report['status']}: {report['leaves_checked']} leaves, {report['blocks_checked']} "
                           f"blocks" + (f"; {report['finding']}" if report.get("finding") else ""))


def worker_complaints(stack: Stack) -> list[str]:
    """The warnings and errors each worker logged, counted by message: how the faults looked from inside."""
    lines = []
    for service in SERVICES:
        counts: collections.Counter = collections.Counter()
        for line in stack.compose("logs", "--no-color", f"{service}-worker").splitlines():
            try:
                entry = json.loads(line.partition("| ")[2])
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
                counts[f"{entry['level'].lower()}: {entry.get('message')}"] += 1
        lines += [f"{service}-worker  {n:5} × {message}" for message, n in sorted(counts.items())]
    return lines


def print_figures(journal: Journal, faults: list[FaultRecord], figures: Figures, complaints: list[str]) -> None:
    resent = [m for m in journal.messages if m.attempts > 1]
    replays = sum(1 for m in resent if m.outcome == "accepted" and m.answers[-1] == "409")
    print(f"\nsent {figures.sent}, accepted {figures.accepted} ({len(resent)} sent more than once; {replays} of those "
          f"answered 409: stored by an attempt whose answer was lost), stored {figures.stored}, recorded "
          f"{figures.recorded}, duplicates {figures.duplicates}, lost {figures.lost}")
    print(f"\n{'fault (seconds after it)':<44} {'down':>6} {'back':>6} {'sends ok':>9} {'ledger':>7}  failed attempts")
    for fault in faults:
        def after(t: float | None) -> str:
            return f"{t - fault.injected_at:.1f}" if t is not None else "never"
        failed = ", ".join(f"{answer} ×{n}" for answer, n in fault.failed_attempts.most_common()) or "none"
        print(f"{fault.name:<44} {after(fault.down_at):>6} {after(fault.back_at):>6} {after(fault.sends_ok_at):>9} "
              f"{after(fault.ledger_at):>7}  {failed}")
        for note in fault.notes:
            print(f"{'':<46}{note}")
    print("\nwhat the workers logged above INFO:")
    print("\n".join(f"  {line}" for line in complaints) or "  nothing")


# --- the run ----------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", required=True, help="the stack's gateway, e.g. http://127.0.0.1:18081")
    parser.add_argument("--pairs", type=int, default=4, help="pairs of friends, each in a direct conversation (4)")
    parser.add_argument("--rate", type=float, default=2.0, help="messages a second per sender (2)")
    parser.add_argument("--pause", type=float, default=8.0, help="seconds of steady load around each fault (8)")
    parser.add_argument("--recovery-timeout", type=float, default=120.0, help="bound on each recovery (120 s)")
    parser.add_argument("--give-up", type=float, default=90.0, help="a sender gives a message up after (90 s)")
    parser.add_argument("--settle-timeout", type=float, default=120.0, help="bound on each settled check (120 s)")
    args = parser.parse_args(argv)

    stack, gateway, journal, verdict = Stack(), Gateway(args.gateway), Journal(), Verdict()
    say(f"registering {2 * args.pairs} users (proof of work) ...")
    with ProcessPoolExecutor(os.cpu_count()) as solvers, ThreadPoolExecutor(2 * args.pairs) as threads:
        users = list(threads.map(lambda _: register(gateway, lambda c: solvers.submit(solve, c).result()),
                                 range(2 * args.pairs)))
        pairs = [Pair(users[i], users[i + 1]) for i in range(0, len(users), 2)]
        say("befriending in pairs and opening their conversations ...")
        list(threads.map(befriend_and_converse, pairs))

    senders = [Sender(user, pair.conversation_id, journal, rate=args.rate, give_up=args.give_up)
               for pair in pairs for user in (pair.a, pair.b)]
    say(f"load: {len(senders)} senders, {args.rate:g} messages/s each")
    for sender in senders:
        sender.start()
    wait_until(lambda: all(journal.accepted_by(s.user.id) >= 3 for s in senders), timeout=60, interval=0.25,
               message="every sender to have messages accepted before the first fault")

    run = FaultRun(stack, gateway, journal, args.recovery_timeout)
    for inject in (lambda: run.restart("rabbitmq"), lambda: run.crash_worker("ledger"),
                   lambda: run.restart("postgres"), lambda: run.crash_api("messaging")):
        time.sleep(args.pause)  # steady load between one recovery and the next fault: the load itself, not a wait
        inject()
    time.sleep(args.pause)
    end = now()

    say("stopping the load; each sender finishes its current message ...")
    for sender in senders:
        sender.stop.set()
    for sender in senders:
        sender.join(timeout=args.give_up + 2 * REQUEST_TIMEOUT)
    run.close(end)
    verdict.check("every sender finished", not any(s.is_alive() for s in senders))
    outcomes = collections.Counter(m.outcome for m in journal.messages)
    refused = collections.Counter(m.answers[-1] for m in journal.messages if m.outcome == "refused")
    verdict.check("no send was refused", not refused, ", ".join(f"{a} ×{n}" for a, n in refused.items()))
    verdict.check(f"no send was given up after {args.give_up:g} s", not outcomes["abandoned"],
                  str(outcomes["abandoned"]))
    for record in run.records:
        verdict.check(f"{record.name}: recovered", record.recovered, "; ".join(record.notes))

    say("waiting for the system to settle, then checking what it holds ...")
    figures = Afterwards(stack, gateway, pairs, journal, verdict, args.settle_timeout).check_all()
    print_figures(journal, run.records, figures, worker_complaints(stack))
    verdict.check("nothing lost", figures.lost == 0, str(figures.lost))
    verdict.check("nothing doubled", figures.duplicates == 0, str(figures.duplicates))
    print(f"\nfaults: {verdict.passed} passed, {verdict.failed} failed", flush=True)
    return 1 if verdict.failed else 0


if __name__ == "__main__":
    sys.exit(main())
