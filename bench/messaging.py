"""Benchmark: messaging through the gateway — sending and reading, standard and end-to-end, the server's CPU
per message, and live delivery over thousands of open streams; next to messaging's healthz and Synapse.

Registers --users accounts through auth (the proofs of work solved on every core), waits until
messaging has heard of them (auth.user.registered crosses the bus), gives each an Ed25519 signing
key and an X25519 encryption key (proof of possession, docs/key-registration.md), pairs them in
direct conversations — every user in one standard and one e2e conversation, --users of them in all
— and writes 20 messages into each conversation the reads use. Then, through the gateway at
BEYOU_GATEWAY_URL, it measures requests/s, p50 and p99 of:

  send           POST conversations/{id}/messages, a standard message (a new one each request; the
                 texts 5 to 200 characters): encrypted at rest, a messaging.message.created event
                 and a stream notice for each participant, in the request's transaction
  send e2e       the same with an envelope (docs/e2e-envelope.md) for both participants' keys. The
                 load generator seals them AHEAD, between turns, never while a load runs: each
                 request carries a new envelope (a repeated one would be refused as a replay; if the
                 stock ever ran out, the 409s show among the errors)
  read           GET conversations/{id}/messages?limit=20 of a standard conversation (20 decrypted)
  read e2e       the same of an e2e conversation (20 envelopes)
  healthz        /api/messaging/healthz: the ceiling, servicekit's request plumbing without a token

Each connection sends as one user into a conversation of its own while there are enough. The targets
take turns in short rounds (in a rotating order), so whatever else runs on the machine weighs on each
alike; the ratio printed is the median of the rounds' ratios, with their range. Printed with them:
each target as a multiple of Matrix Synapse 1.163 with PostgreSQL measured on this machine (send 64
requests/s, p99 337 ms; read 20 messages 191 requests/s; the aim is 10x on send, 5x on read), the
service's own view (the duration_ms of each request in messaging's request log, .dev/logs/messaging.log,
found by the X-Request-ID the bench sends), and the server's CPU time per request: messaging's API
(gunicorn master and workers), its PostgreSQL backends, its worker (the outbox relay and its event
handlers), its stream process, the gateway, and downstream (the workers consuming its events — social
and the ledger — with their PostgreSQL backends, and RabbitMQ), read from /proc before and after every
turn and divided by the requests the turn sent (for a send, the messages it created); beside them the
whole machine's busy time less the load generator's own (which also counts whatever else runs here).

Then the live stream: --streams Server-Sent Events streams (GET /api/messaging/stream), spread over
the users (with fewer users than streams, a user holds several, as with several devices; every one of
them gets each of the user's notices), opened from an asyncio client, then --stream-rate standard
messages per second (25 by default: well within what sending sustains here, so the figure is
delivery's, not a queue of sends) for --seconds into the conversations of users holding streams, each
with an id the client chose. Delivery latency is the time from the send to the `message` notice with that id
arriving on a stream, for every stream of both participants (the sender's own streams get it too):
from the moment the request was written (an upper bound of commit-to-client: it includes the
request's own handling) and from the moment its 201 arrived (after the commit). The bar: 2,000 open
streams, delivery p99 < 250 ms. Also printed: the streams held open to the end, at the client and as
established connections at the stream process, and the stream process's CPU per delivery.

The gateway limits request rates per client address, so each connection sends from a loopback
address of its own (127.0.x.y) and moves to a fresh one long before the burst allowance is spent
(each stream has an address of its own): the figures measure the service, not the rate limiter. The
load generator (bench/_loadgen.py) shares this machine's cores with the gateway, the services,
PostgreSQL and RabbitMQ, equally for every target. The users and their conversations are new every
run (their names are random).

Options: --seconds S per target and load (and of the stream's sending), in --rounds R turns, each
after --warmup S; --connections N[,N...] the loads; --users U accounts (even, at least 4: U/2
standard and U/2 e2e conversations); --streams N open streams (0: no stream phase); --stream-rate M
messages/s sent while they are open.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import re
import resource
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from _loadgen import (
    EXCHANGE_TIMEOUT,
    REQUESTS_PER_ADDRESS,
    Client,
    Connection,
    Gateway,
    Result,
    access_token,
    add_round_options,
    call,
    fresh_address,
    get_request,
    measure_in_rounds,
    post_request,
    quantile,
    ratio,
    register_many,
    service_durations,
)
from beyou import envelope as e2e
from beyou import keys
from beyou.sse import Parser

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = Gateway.from_environment()
API = "/api/messaging"
MESSAGING_LOG = ROOT / ".dev/logs/messaging.log"  # its API's output: servicekit's request log, one JSON line each
PROCS = ROOT / ".dev/run/procs"                   # the native stack's pid files (deploy/dev/up.sh)

# Matrix Synapse 1.163 with PostgreSQL on this machine (issue #8), and what we aim for against it.
SYNAPSE_SEND_RATE, SYNAPSE_SEND_P99_MS, SYNAPSE_READ_RATE = 64, 337, 191
AIM_SEND, AIM_READ = 10, 5
STREAM_BAR_OPEN, STREAM_BAR_P99_MS = 2000, 250

SEEDED = 20                 # messages in each conversation before the load: a read returns a full page
READ_PATH = "/conversations/{}/messages?limit=20"
TEXTS = ("ok 👍", "On my way, see you in ten minutes.",
         "Did you see the photos from Saturday? The one by the lake came out really well, I'll send the rest tonight.",
         "Can we move tomorrow's call to 3pm? Something came up in the morning and I won't make it before lunch, "
         "sorry for the short notice! Same link as last week.")
TARGETS = ("send", "send e2e", "read", "read e2e", "healthz")
CREATES = {"send": 201, "send e2e": 201}           # the status of a success where it is not 200
SETUP_THREADS = 8
READY_TIMEOUT = 90.0        # how long messaging may take to hear of a user or a key (events over the bus)

# Sealing ahead: the first turn's stock is sized for this rate, well above any send rate here;
# later turns refill to twice the most any turn took from each sender's stock.
INITIAL_E2E_RATE = 2000

STREAM_OPENING = 100        # streams being opened at once
STREAM_SENDERS = 16         # connections the stream phase sends on
DELIVERY_GRACE = 10.0       # how long after the last send the bench waits for missing deliveries


# --- users, keys and conversations ----------------------------------------------------

@dataclass(eq=False)
class User:
    id: uuid.UUID
    credentials: dict
    token: str = ""
    signing: keys.KeyPair | None = None
    encryption: keys.KeyPair | None = None


@dataclass(eq=False)
class Conversation:
    id: str
    kind: str                                      # standard | e2e
    members: tuple[User, User]
    recipients: list = field(default_factory=list)  # e2e: (fingerprint, public key) of each member's encryption key

    @property
    def messages_path(self) -> str:
        return f"{API}/conversations/{self.id}/messages"


def in_parallel(work: Callable[[Client, object], object], items: list, threads: int = SETUP_THREADS) -> list:
    """work(client, item) for every item, on `threads` threads, each with a keep-alive Client of its own."""
    local, clients, lock = threading.local(), [], threading.Lock()

    def run(item):
        if not hasattr(local, "client"):
            local.client = Client(GATEWAY)
            with lock:
                clients.append(local.client)
        return work(local.client, item)

    try:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(run, items))
    finally:
        for client in clients:
            client.close()


def register_users(count: int) -> list[User]:
    return [User(account.id, account.credentials) for account in register_many(GATEWAY, count)]


def log_in(users: list[User]) -> None:
    """A fresh access token for every user (each phase gets its own: they live 15 minutes)."""
    tokens = in_parallel(lambda _client, user: access_token(GATEWAY, user.credentials), users, threads=4)
    for user, token in zip(users, tokens, strict=True):
        user.token = token


def call_until(client: Client, method: str, path: str, body: dict | None, token: str, done: Callable,
               what: str) -> tuple[int, object]:
    """Repeat a request until done(status, body), for at most READY_TIMEOUT: messaging hears of users and
    keys through events."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        status, answer = client.call(method, path, body, token)
        if done(status, answer):
            return status, answer
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: still {status} {answer} after {READY_TIMEOUT:.0f}s")
        time.sleep(0.2)


def start_conversations(users: list[User]) -> tuple[list[Conversation], list[Conversation]]:
    """Every user in one standard and one e2e direct conversation: (u0,u1), (u2,u3)... and (u1,u2), (u3,u4)...;
    each started once messaging has heard of both users (it answers 404 for a user it does not know)."""
    pairs = [("standard", users[i], users[i + 1]) for i in range(0, len(users), 2)]
    pairs += [("e2e", users[i], users[(i + 1) % len(users)]) for i in range(1, len(users), 2)]

    def start(client: Client, pair) -> Conversation:
        kind, me, other = pair
        _status, body = call_until(client, "POST", f"{API}/conversations", {"type": "direct", "user_id": str(other.id)},
                                   me.token, lambda status, _body: status in (200, 201),
                                   f"starting a conversation with {other.id}")
        return Conversation(body["id"], kind, (me, other))

    conversations = in_parallel(start, pairs)
    return ([c for c in conversations if c.kind == "standard"], [c for c in conversations if c.kind == "e2e"])


def register_keys(users: list[User]) -> None:
    """An Ed25519 signing key and an X25519 encryption key for every user, registered with proof of
    possession (docs/key-registration.md): the signing key signs its own statement, then vouches for
    the encryption key."""
    def register_pair(client: Client, user: User) -> None:
        user.signing, user.encryption = keys.generate("signing"), keys.generate("encryption")
        for key in (user.signing, user.encryption):
            status, body = client.call("POST", "/api/auth/keys/challenge", token=user.token)
            assert status == 201, (status, body)
            proof = keys.registration(key, body["challenge"], user.signing)
            status, body = client.call("POST", "/api/auth/keys", proof, token=user.token)
            assert status == 201, (status, body)

    in_parallel(register_pair, users)


def learn_keys(conversations: list[Conversation]) -> None:
    """What each e2e conversation is sealed for, as a client learns it (GET .../keys), once messaging knows
    both members' new keys (auth.key.registered crosses the bus)."""
    def learn(client: Client, conversation: Conversation) -> None:
        ours = {str(member.id): (member.signing.fingerprint, member.encryption.fingerprint)
                for member in conversation.members}

        def current(status, body) -> bool:
            return status == 200 and all(
                (p["signing_key"] or {}).get("fingerprint") == ours[p["user_id"]][0]
                and (p["encryption_key"] or {}).get("fingerprint") == ours[p["user_id"]][1]
                for p in body["participants"])

        _status, body = call_until(client, "GET", f"{API}/conversations/{conversation.id}/keys", None,
                                   conversation.members[0].token, current, f"the keys of {conversation.id}")
        conversation.recipients = [(p["encryption_key"]["fingerprint"],
                                    keys.load_public_pem(p["encryption_key"]["pem"])) for p in body["participants"]]

    in_parallel(learn, conversations)


def seal(conversation: Conversation, sender: User, text: str) -> dict:
    return {"kind": "e2e", "envelope": e2e.seal(text, conversation_id=conversation.id,
                                               sender_signing_key=sender.signing.private_key,
                                               recipients=conversation.recipients)}


def seed(conversations: list[Conversation]) -> None:
    """SEEDED messages in each conversation, the members taking turns: a read returns a full page."""
    def write(client: Client, conversation: Conversation) -> None:
        for n in range(SEEDED):
            sender, text = conversation.members[n % 2], TEXTS[n % len(TEXTS)]
            body = (seal(conversation, sender, text) if conversation.kind == "e2e"
                    else {"kind": "standard", "body": text})
            status, answer = client.call("POST", conversation.messages_path, body, sender.token)
            assert status == 201, (status, answer)

    in_parallel(write, conversations)


# --- what the load sends ----------------------------------------------------------------

def slots(conversations: list[Conversation], connections: int) -> list[tuple[Conversation, User]]:
    """Who sends (or reads) where, per connection: a conversation of its own while there are enough, then the
    other member of each in turn."""
    n = len(conversations)
    return [(conversations[i % n], conversations[i % n].members[(i // n) % 2]) for i in range(connections)]


def counted(requests: Iterator[bytes], taken: Counter, name: str) -> Iterator[bytes]:
    """The requests, counting how many were sent (warm-up and the end of each turn included)."""
    for request in requests:
        taken[name] += 1
        yield request


def standard_sends(conversations: list[Conversation], connections: int, request_id: str) -> list[Iterator[bytes]]:
    """Each connection cycles through the texts (from its own place): every request a new message."""
    requests = []
    for i, (conversation, sender) in enumerate(slots(conversations, connections)):
        built = [post_request(GATEWAY, conversation.messages_path, {"kind": "standard", "body": text}, sender.token,
                              request_id) for text in TEXTS]
        requests.append(itertools.islice(itertools.cycle(built), i, None))
    return requests


def reads(conversations: list[Conversation], connections: int, request_id: str) -> list[Iterator[bytes]]:
    """Each connection reads the newest page of its conversation, as one of its members, over and over."""
    requests = []
    for conversation, reader in slots(conversations, connections):
        request = get_request(GATEWAY, API + READ_PATH.format(conversation.id), reader.token, request_id)
        requests.append(itertools.repeat(request))
    return requests


class SealedAhead:
    """Envelopes sealed before they are sent, per (conversation, sender): every e2e request carries a new
    one. `top_up` seals between turns (after_each), so sealing never competes with a load; it refills
    each stock to twice the most a turn has taken from it."""

    def __init__(self, conversations: list[Conversation], connections: int, turn_seconds: float,
                 request_id: str) -> None:
        self.request_id = request_id
        self.placed = slots(conversations, connections)
        self.stock: dict[tuple[str, uuid.UUID], deque[bytes]] = {}
        self.senders: dict[tuple[str, uuid.UUID], tuple[Conversation, User]] = {}
        self.sharing: Counter = Counter()
        for conversation, sender in self.placed:
            key = (conversation.id, sender.id)
            self.stock.setdefault(key, deque())
            self.senders[key] = (conversation, sender)
            self.sharing[key] += 1
        self.wanted = {key: math.ceil(INITIAL_E2E_RATE * turn_seconds * sharing / connections)
                       for key, sharing in self.sharing.items()}
        self.most_taken: Counter = Counter()
        self.level: dict = {}
        self.last_sent: dict[tuple[str, uuid.UUID], bytes] = {}
        self.replayed = 0
        self.sealed = 0
        self.sealing_seconds = 0.0
        self.top_up()

    def requests(self) -> list[Iterator[bytes]]:
        return [self._take((conversation.id, sender.id)) for conversation, sender in self.placed]

    def _take(self, key) -> Iterator[bytes]:
        stock = self.stock[key]
        while True:
            if stock:
                self.last_sent[key] = stock.popleft()
            else:  # never expected: the repeat is refused (409) and shows among the errors
                self.replayed += 1
            yield self.last_sent[key]

    def top_up(self) -> None:
        began = time.perf_counter()
        for key, stock in self.stock.items():
            taken = self.level.get(key, 0) - len(stock)
            self.most_taken[key] = max(self.most_taken[key], taken)
            wanted = max(self.wanted[key], 2 * self.most_taken[key] + 8)
            conversation, sender = self.senders[key]
            while len(stock) < wanted:
                text = TEXTS[self.sealed % len(TEXTS)]
                stock.append(post_request(GATEWAY, conversation.messages_path, seal(conversation, sender, text),
                                          sender.token, self.request_id))
                self.sealed += 1
            self.level[key] = len(stock)
        self.sealing_seconds += time.perf_counter() - began


# --- the server's CPU time ----------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ROLES = ("api", "postgres", "worker", "stream", "gateway", "downstream")
ROLE_PIDFILES = {"messaging": "api", "messaging-worker": "worker", "messaging-stream": "stream", "gateway": "gateway",
                 "social-worker": "downstream", "ledger-worker": "downstream"}   # pid file -> role
# PostgreSQL backends by their title, "postgres: <user> <database> ...": messaging's own, and those of the
# services consuming its events.
BACKENDS = {b"postgres: messaging messaging ": "postgres", b"postgres: social social ": "downstream",
            b"postgres: ledger ledger ": "downstream"}
BROKER = b"beam.smp"        # RabbitMQ, carrying the events to the consumers
MACHINE = "machine less load generator"


def processes() -> dict[int, tuple[int, float, bytes]]:
    """Every process: pid -> (parent pid, CPU seconds so far, command line)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_bytes().rsplit(b")", 1)[1].split()
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:  # it ended meanwhile
            continue
        found[int(entry.name)] = (int(stat[1]), (int(stat[11]) + int(stat[12])) / CLOCK_TICKS, cmdline)
    return found


def role_of_each(found: dict[int, tuple[int, float, bytes]]) -> dict[int, str]:
    """The processes a message costs, by role: messaging's (each pid file's process and its descendants,
    the PostgreSQL backends of its database), the gateway, and downstream: the workers consuming its
    events, their databases' backends and RabbitMQ."""
    roles = {}
    for name, role in ROLE_PIDFILES.items():
        try:
            roles[int((PROCS / f"{name}.pid").read_text().split()[0])] = role
        except (OSError, ValueError, IndexError):
            continue
    for _ in range(4):  # gunicorn master -> workers; run-process.sh execs, so four levels are plenty
        for pid, (parent, _cpu, _cmdline) in found.items():
            if parent in roles and pid not in roles:
                roles[pid] = roles[parent]
    for pid, (_parent, _cpu, cmdline) in found.items():
        role = next((role for title, role in BACKENDS.items() if cmdline.startswith(title)), None)
        if role is None and BROKER in cmdline.split(b"\0", 1)[0]:
            role = "downstream"
        if role is not None:
            roles[pid] = role
    return roles


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (not idle, not waiting for I/O), all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLOCK_TICKS


@dataclass
class CpuSnapshot:
    by_pid: dict[int, tuple[str, float]]
    machine: float
    own: float

    @classmethod
    def take(cls) -> CpuSnapshot:
        found = processes()
        roles = role_of_each(found)
        return cls({pid: (role, found[pid][1]) for pid, role in roles.items() if pid in found},
                   machine_busy_seconds(), time.process_time())

    def spent_since(self, before: CpuSnapshot) -> Counter:
        """CPU seconds by role since `before` (a process started since counts whole)."""
        spent: Counter = Counter()
        for pid, (role, cpu) in self.by_pid.items():
            earlier = before.by_pid.get(pid)
            spent[role] += cpu - (earlier[1] if earlier and earlier[0] == role else 0.0)
        spent[MACHINE] = (self.machine - before.machine) - (self.own - before.own)
        return spent


class CpuMeter:
    """The server's CPU time spent during each target's turns (measure_in_rounds' around_each)."""

    def __init__(self) -> None:
        self.spent: dict[str, Counter] = {}

    @contextlib.contextmanager
    def around(self, name: str):
        before = CpuSnapshot.take()
        yield
        self.spent.setdefault(name, Counter()).update(CpuSnapshot.take().spent_since(before))

    def line(self, name: str, requests: int) -> str:
        spent = self.spent.get(name, Counter())
        if not requests:
            return f"{name}: no requests"
        per = {role: 1000 * spent[role] / requests for role in (*ROLES, MACHINE)}
        parts = " + ".join(f"{role} {per[role]:.2f}" for role in ROLES)
        return f"{name} {sum(per[r] for r in ROLES):.2f} ms = {parts}; {MACHINE} {per[MACHINE]:.2f} ms"


def synapse_line(results: dict[str, Result]) -> str:
    def times(name: str, synapse: float) -> str:
        return f"{name} {results[name].rate / synapse:.1f}x"

    return (f"  vs Synapse (send {SYNAPSE_SEND_RATE} req/s, p99 {SYNAPSE_SEND_P99_MS} ms; read {SYNAPSE_READ_RATE} "
            f"req/s; aim {AIM_SEND}x send, {AIM_READ}x read): "
            + ", ".join([times("send", SYNAPSE_SEND_RATE), times("send e2e", SYNAPSE_SEND_RATE),
                         times("read", SYNAPSE_READ_RATE), times("read e2e", SYNAPSE_READ_RATE)])
            + f"; send p99 {quantile(results['send'].latencies_ms, 99):.0f} ms, "
              f"send e2e p99 {quantile(results['send e2e'].latencies_ms, 99):.0f} ms")


def measure_requests(standard: list[Conversation], encrypted: list[Conversation], users: list[User],
                     args: argparse.Namespace, run: str) -> None:
    request_ids = {name: f"bench-messaging-{run}-{name.replace(' ', '-')}" for name in TARGETS}
    for connections in args.connections:
        log_in(users)
        log_offset = MESSAGING_LOG.stat().st_size if MESSAGING_LOG.exists() else None
        sealed = SealedAhead(encrypted, connections, args.seconds / args.rounds + args.warmup, request_ids["send e2e"])
        requests = {
            "send": standard_sends(standard, connections, request_ids["send"]),
            "send e2e": sealed.requests(),
            "read": reads(standard, connections, request_ids["read"]),
            "read e2e": reads(encrypted, connections, request_ids["read e2e"]),
            "healthz": [itertools.repeat(get_request(GATEWAY, f"{API}/healthz", None, request_ids["healthz"]))
                        for _ in range(connections)],
        }
        taken: Counter = Counter()
        requests = {name: [counted(mine, taken, name) for mine in requests[name]] for name in TARGETS}
        cpu = CpuMeter()
        results = measure_in_rounds(GATEWAY, requests, args.seconds, args.rounds, args.warmup,
                                    after_each=sealed.top_up, ok_status=CREATES, around_each=cpu.around)
        print(f"{connections} connections:", flush=True)
        for result in results.values():
            print(result.line(), flush=True)
        print("  " + ", ".join(f"{name}/healthz {ratio(results[name], results['healthz'])}"
                               for name in TARGETS[:-1]), flush=True)
        print(synapse_line(results), flush=True)
        print(f"  e2e: {sealed.sealed:,} envelopes sealed ahead in {sealed.sealing_seconds:.1f}s (not timed)"
              + (f", {sealed.replayed:,} REPLAYED (the stock ran out)" if sealed.replayed else ""), flush=True)
        if log_offset is not None:
            durations = service_durations(MESSAGING_LOG, log_offset, {name: request_ids[name] for name in TARGETS},
                                          ok_status=CREATES)
            print("  at the service (its request log): " + ", ".join(
                f"{name} p50 {quantile(values, 50):.1f} ms, p99 {quantile(values, 99):.1f} ms"
                for name, values in durations.items()), flush=True)
        print("  server CPU per request, ms (for a send, per message created; downstream: social's and the ledger's "
              "workers and databases, RabbitMQ):", flush=True)
        for name in TARGETS:
            print(f"    {cpu.line(name, taken[name])}", flush=True)


# --- the live stream --------------------------------------------------------------------------

def stream_port() -> int | None:
    """The stream process's port, from deploy/dev/lib.sh (its one definition)."""
    found = re.search(r"\[messaging_stream\]=(\d+)", (ROOT / "deploy/dev/lib.sh").read_text())
    return int(found.group(1)) if found else None


def established_to(port: int) -> int:
    """Established TCP connections whose local end is `port` (the server's side of each)."""
    local_end = f":{port:04X}"
    with open("/proc/net/tcp") as table:
        next(table)  # the heading
        return sum(1 for fields in map(str.split, table) if fields[1].endswith(local_end) and fields[3] == "01")


class Stream:
    """One live stream from its own address: opened, then followed, noting when each `message` notice came."""

    def __init__(self, user: User, received: dict[str, list[float]]) -> None:
        self.user = user
        self.received = received
        self.status: int | str | None = None
        self.open = False
        self.closed_by_server: str | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, opening: asyncio.Semaphore) -> None:
        async with opening:
            try:
                async with asyncio.timeout(EXCHANGE_TIMEOUT):
                    self.reader, self.writer = await asyncio.open_connection(
                        GATEWAY.host, GATEWAY.port, local_addr=(fresh_address(), 0))
                    self.writer.write(get_request(GATEWAY, f"{API}/stream", self.user.token))
                    head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError) as exc:
                self.status = type(exc).__name__
                self.close()
                return
            self.status = int(head[0].split(" ", 2)[1])
            headers = {name.strip().lower(): value.strip()
                       for name, _, value in (line.partition(":") for line in head[1:] if line)}
            self.chunked = headers.get("transfer-encoding", "").lower() == "chunked"
            if self.status != 200:
                self.close()
                return
            self.open = True

    async def follow(self) -> None:
        parser = Parser()
        try:
            while True:
                if self.chunked:
                    size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    if size == 0:
                        break
                    data = (await self.reader.readexactly(size + 2))[:-2]
                else:
                    data = await self.reader.read(65536)
                    if not data:
                        break
                arrived = time.perf_counter()
                for event in parser.feed(data):
                    if event.type == "message":
                        self.received.setdefault(json.loads(event.data)["message_id"], []).append(arrived)
                    elif event.type == "close":
                        self.closed_by_server = json.loads(event.data).get("reason", "?")
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        self.open = False

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class Sent:
    conversation: Conversation
    request: bytes
    began: float = 0.0       # when the request was written
    answered: float = 0.0    # when its 201 arrived
    status: int | str | None = None


async def send_at_rate(plan: dict[str, Sent], rate: float) -> float:
    """Send the planned messages at `rate` per second (open loop) on STREAM_SENDERS connections; the most
    any went out behind schedule (seconds)."""
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(STREAM_SENDERS):
        pool.put_nowait(None)

    async def send(sent: Sent) -> None:
        connection = await pool.get()
        try:
            if connection is None or connection.sent >= REQUESTS_PER_ADDRESS:
                if connection is not None:
                    connection.close()
                connection = await Connection.open(GATEWAY)
            sent.began = time.perf_counter()
            async with asyncio.timeout(EXCHANGE_TIMEOUT):
                sent.status, keep_alive = await connection.exchange(sent.request)
            sent.answered = time.perf_counter()
            if not keep_alive:
                connection.close()
                connection = None
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            sent.status = type(exc).__name__
            if connection is not None:
                connection.close()
            connection = None
        finally:
            pool.put_nowait(connection)

    start = time.perf_counter()
    tasks, behind = [], 0.0
    for n, sent in enumerate(plan.values()):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        behind = max(behind, time.perf_counter() - due)
        tasks.append(asyncio.create_task(send(sent)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        connection = pool.get_nowait()
        if connection is not None:
            connection.close()
    return behind


async def live_delivery(users: list[User], conversations: list[Conversation], streams: int, rate: float,
                        seconds: float, run: str) -> None:
    """Open `streams` streams spread over the users, send `rate` messages/s for `seconds` between users who
    hold streams, and print how many streams were held and how fast each notice reached each stream."""
    received: dict[str, list[float]] = {}
    opened = [Stream(users[i % len(users)], received) for i in range(streams)]
    began = time.perf_counter()
    opening = asyncio.Semaphore(STREAM_OPENING)
    await asyncio.gather(*(stream.connect(opening) for stream in opened))
    open_seconds = time.perf_counter() - began
    statuses = Counter(stream.status for stream in opened)
    held = [stream for stream in opened if stream.open]
    followers = [asyncio.create_task(stream.follow()) for stream in held]
    streams_of = Counter(stream.user.id for stream in held)
    port = stream_port()
    print(f"live stream: {streams:,} streams of {len(set(s.user.id for s in opened)):,} users "
          f"({streams / len(users):.1f} each) opened in {open_seconds:.1f}s (answers: "
          + ", ".join(f"{status} x{n:,}" for status, n in sorted(statuses.items(), key=str)) + ")", flush=True)

    # Messages into conversations whose members both hold streams, each with an id chosen here.
    live = [c for c in conversations if all(streams_of[member.id] for member in c.members)]
    if not live:
        raise SystemExit("no conversation has both members streaming: nothing to deliver")
    plan: dict[str, Sent] = {}
    for n in range(max(1, round(rate * seconds))):
        conversation = live[n % len(live)]
        sender = conversation.members[(n // len(live)) % 2]
        message_id = str(uuid.uuid4())
        plan[message_id] = Sent(conversation, post_request(
            GATEWAY, conversation.messages_path,
            {"kind": "standard", "body": TEXTS[n % len(TEXTS)], "message_id": message_id},
            sender.token, f"bench-messaging-{run}-stream-send"))
    cpu_before = CpuSnapshot.take()
    held_at_start = sum(stream.open for stream in held)
    server_at_start = established_to(port) if port else None
    behind = await send_at_rate(plan, rate)
    stored = {message_id: sent for message_id, sent in plan.items() if sent.status == 201}
    expected = sum(streams_of[m.id] for sent in stored.values() for m in sent.conversation.members)

    deadline = time.perf_counter() + DELIVERY_GRACE
    while time.perf_counter() < deadline and sum(len(received.get(m, ())) for m in stored) < expected:
        await asyncio.sleep(0.05)
    spent = CpuSnapshot.take().spent_since(cpu_before)
    held_at_end = sum(stream.open for stream in held)
    server_at_end = established_to(port) if port else None

    from_request, from_answer = [], []
    for message_id, sent in stored.items():
        for arrived in received.get(message_id, ()):
            from_request.append((arrived - sent.began) * 1000)
            from_answer.append((arrived - sent.answered) * 1000)
    delivered = len(from_request)
    send_ms = [(sent.answered - sent.began) * 1000 for sent in stored.values()]
    failures = Counter(sent.status for sent in plan.values() if sent.status != 201)
    ended = Counter(stream.closed_by_server for stream in held if stream.closed_by_server)

    def at_server(count: int | None) -> str:
        return "" if count is None else f" ({count:,} connections established at the stream process)"

    print(f"  held open: {held_at_start:,} streams at the client when sending began{at_server(server_at_start)}, "
          f"{held_at_end:,} at the end{at_server(server_at_end)}"
          + (f"; ended by the server: {dict(ended)}" if ended else ""), flush=True)
    print(f"  sent {len(stored):,} messages at {rate:g}/s over {seconds:g}s into {len(live)} conversations "
          f"(p50 {quantile(send_ms, 50):.1f} ms, p99 {quantile(send_ms, 99):.1f} ms; at most {behind * 1000:.0f} ms "
          f"behind schedule)" + (f"; failed: {dict(failures)}" if failures else ""), flush=True)
    print(f"  delivered {delivered:,} of {expected:,} notices expected (every stream of both participants)",
          flush=True)
    verdict = "met" if quantile(from_request, 99) < STREAM_BAR_P99_MS and held_at_end >= STREAM_BAR_OPEN else "NOT met"
    print(f"  delivery latency from the send's request: p50 {quantile(from_request, 50):.1f} ms, "
          f"p99 {quantile(from_request, 99):.1f} ms, max {max(from_request, default=float('nan')):.1f} ms; "
          f"from its 201: p50 {quantile(from_answer, 50):.1f} ms, p99 {quantile(from_answer, 99):.1f} ms "
          f"(bar: {STREAM_BAR_OPEN:,} open streams, p99 < {STREAM_BAR_P99_MS} ms: {verdict})", flush=True)
    if delivered:
        print(f"  server CPU while sending: stream process {1000 * spent['stream'] / delivered:.3f} ms per delivery "
              f"({1000 * spent['stream'] / len(stored):.2f} ms per message)", flush=True)

    for stream in opened:
        stream.close()
    for follower in followers:
        follower.cancel()
    await asyncio.gather(*followers, return_exceptions=True)


def allow_open_files(wanted: int) -> None:
    """Every stream is a socket: lift the soft limit of open files towards the hard one if it is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < wanted:
            print(f"open files limited to {target} (hard limit): fewer streams can open", flush=True)


# --- the run -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_round_options(parser)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--stream-rate", type=float, default=25)
    args = parser.parse_args()
    args.users = max(4, args.users + args.users % 2)

    try:
        status, _ = call(GATEWAY, "GET", f"{API}/readyz")
    except OSError as exc:
        status = exc
    if status != 200:
        raise SystemExit(f"messaging is not ready through {GATEWAY.url} ({status}): start the stack (make dev)")
    run = uuid.uuid4().hex[:8]
    print(f"messaging benchmark through {GATEWAY.url} (native stack, 2 gunicorn workers per app, the stream "
          f"process 2 gevent workers): {args.users} users in {args.users // 2} standard and {args.users // 2} e2e "
          f"direct conversations, {args.seconds:g}s per target and load in {args.rounds} rounds, on {os.cpu_count()} "
          f"cores (load average {os.getloadavg()[0]:.1f})", flush=True)

    began = time.monotonic()
    users = register_users(args.users)
    registered = time.monotonic()
    log_in(users)
    standard, encrypted = start_conversations(users)
    register_keys(users)
    learn_keys(encrypted)
    read_from = max(args.connections)  # the reads use the first conversations of each kind, one per connection
    seed(standard[:read_from] + encrypted[:read_from])
    print(f"set up: {args.users} accounts registered in {registered - began:.0f}s (proof of work on every core), "
          f"signed in, keys registered, conversations started, {SEEDED} messages in those read, in "
          f"{time.monotonic() - registered:.0f}s more", flush=True)

    measure_requests(standard, encrypted, users, args, run)

    if args.streams:
        allow_open_files(args.streams + 1024)
        log_in(users)
        asyncio.run(live_delivery(users, standard, args.streams, args.stream_rate, args.seconds, run))


if __name__ == "__main__":
    main()
