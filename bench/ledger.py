"""Benchmark: the ledger — ingest from the broker into signed blocks, inclusion proofs and the full audit
at a million leaves, and message-to-checkpoint latency under a steady message rate.

Runs against the native stack (`make dev`; `make bench` starts it when it is not running): its ledger
worker (one process: consumer, sequencer, scheduled audit), its ledger API behind the gateway at
BEYOU_GATEWAY_URL, its ledger database and RabbitMQ (.dev/env/ledger.env). Loopback targets only.

The seed. Proofs and the audit are measured on a log of at least --seed-leaves leaves (1,000,000). The
first run makes them and later runs keep them (as bench/social.py keeps its profiles): it counts the
log's leaves and adds only what is missing. The seed's leaves are message leaves built with the
ledger's own encoder (ledger.leaves.encode_leaf: deterministic ids, 1,000 conversations, a third of
them signed), inserted straight into `pending_entries` — what the consumer would have queued for
them — and integrated by the running worker's sequencer: the leaves, tiles, blocks and signed
checkpoints are exactly what the service makes of events. (Only the consumer is skipped; its rate is
phase 1's.) The seed's own time is printed: it is the sequencer's rate on a backlog.

1. ingest      --ingest N `messaging.message.created` events (payloads valid for messaging's declared
               schema, in servicekit's Event envelope with the relay's message properties), published
               to RabbitMQ as fast as one connection can (or at --ingest-rate per second), timed from
               the first publish until `GET checkpoint` through the gateway shows a tree size covering
               all of them (then checked in the database: every one is a leaf below that size).
               They go straight to the ledger's queue (the default exchange, routed by the queue's name)
               rather than through beyou.events: social also consumes the type, and N fake messages
               would otherwise pile into social's queue and database and share the cores. The time is
               split by sampling the queue's depth (the consumer's backlog) and `pending_entries` (the
               sequencer's) every 0.2 s, and the ledger worker's CPU by thread (its threads named by
               their start order in servicekit.worker: relay, consumer, housekeeping, sequencer,
               audit), its database backends', RabbitMQ's and this process's.
2. latency     --rate messages/s for --steady-seconds, paced, into the same queue; each message's
               latency is from its publish until a checkpoint covering its leaf, seen by polling
               `GET checkpoint` through the gateway every 20 ms (so up to ~20 ms of it is the poll's),
               with the leaf indexes read from the database afterwards. Also printed: the sequencer's
               side, until the timestamp in the header of the block sealing each leaf.
3. proofs      `GET proofs/inclusion?leaf_index=` (random leaves of the whole log) and `?message_id=`
               (random seeded messages) through the gateway, next to the ledger's `healthz` (the
               ceiling), with the service's own durations from its request log (.dev/logs/ledger.log,
               by X-Request-ID). The targets take turns in short rounds (_loadgen.measure_in_rounds),
               with 2 connections (little queueing: through the gateway is close to the service's own)
               and 16 (the API's 2 sync workers queue; its throughput). A sample of proofs is verified
               first (RFC 9162 against the signed checkpoint), as a client would.
4. audit       the full audit (`POST admin/audit?mode=full`, as a staff account made the operator's
               way: `flask --app auth create-staff`); with --audit process, or if the API cannot answer
               it (a gunicorn worker has 30 s), it runs in-process (ledger.audit.audit_log on the dev
               database, with the dev signing key's verifier), and the output says which.

The gateway limits request rates per client address, so every connection sends from a loopback
address of its own and moves to a fresh one long before the burst allowance is spent (_loadgen).
Everything shares this machine's cores: the load generator, the publisher, the gateway, the services,
PostgreSQL and RabbitMQ.

Anchors (issue #9): Tessera (POSIX storage) ~2,900 entries/s on 12 cores; Trillian with MySQL ~400-500/s;
pymerkle's SQLite tree on this machine 923 appends/s and proof p99 484 µs at 100k leaves. Bars: ingest
>= 3,000 leaves/s (aim 5,000), proof p99 < 10 ms at 1M leaves (aim 5 ms), message-to-checkpoint p99 < 2 s.

Options: --phases ingest,latency,proofs,audit; --seed-leaves L (the log's size to make sure of),
--skip-seed; --ingest N, --ingest-rate R (0: as fast as possible), --extra-workers K (ledger worker processes
started beside the stack's for phase 1, and stopped after it); --rate M and --steady-seconds S
(phase 2); --seconds S per target and load in --rounds R turns after --warmup S, --connections N[,N...]
(phase 3); --audit http|process.
"""
from __future__ import annotations

import argparse
import base64
import bisect
import contextlib
import datetime as dt
import hashlib
import http.client
import io
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pika
import sqlalchemy as sa
from sqlalchemy.orm import Session
from _loadgen import (
    Client,
    Gateway,
    access_token,
    add_round_options,
    fresh_address,
    get_request,
    measure_in_rounds,
    quantile,
    ratio,
    service_durations,
)
from servicekit.events.envelope import Event
from servicekit.events.topology import Topology

# This script is bench/ledger.py and its folder comes first on sys.path (that is how it finds _loadgen): there,
# `import ledger` would import the script again instead of the ledger service's package. So the folder goes
# off the path once _loadgen is imported.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
from ledger import audit, leaves, merkle, notes  # noqa: E402  (after the path is set)
from ledger.config import Config  # noqa: E402
from ledger.entries import message_source  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = Gateway.from_environment()
API = "/api/ledger"
LEDGER_ENV = ROOT / ".dev/env/ledger.env"   # the native stack's ledger settings (deploy/dev/infra.sh)
AUTH_ENV = ROOT / ".dev/env/auth.env"
LEDGER_LOG = ROOT / ".dev/logs/ledger.log"  # its API's output: servicekit's request log, one JSON line each
PROCS = ROOT / ".dev/run/procs"             # the native stack's pid files (deploy/dev/up.sh)
QUEUE = Topology().queue("ledger")          # beyou.ledger, the ledger worker's queue
EVENT_TYPE = "messaging.message.created"
DEFAULT_ORIGIN = Config.log_origin          # LOG_ORIGIN when the env file does not set it

# Anchors and bars (issue #9).
TESSERA_RATE, TRILLIAN_RATES, PYMERKLE_RATE, PYMERKLE_P99_MS = 2900, "400-500", 923, 0.484
INGEST_BAR, INGEST_AIM = 3000, 5000
PROOF_P99_BAR_MS, PROOF_P99_AIM_MS = 10.0, 5.0
CHECKPOINT_P99_BAR_MS = 2000.0

SAMPLE_SECONDS = 0.2          # the ingest monitor's sampling interval
CHECKPOINT_POLL_SECONDS = 0.02
KEEPING_UP_SECONDS = 2.0      # at an offered rate, a checkpoint this soon after the last publish: no backlog built
QUIET_TIMEOUT = 120.0         # how long a phase waits for the queue and pending entries left by the one before
VERIFIED_PROOFS = 50          # proofs checked against the signed checkpoint before the load

# The seed: message n (1, 2, ...) has deterministic ids, so the log's seeded part is found again.
SEED_NAMESPACE = uuid.UUID("6c1e0a52-4b7e-4d55-9d0e-2f3b1a9c7e10")
SEED_CONVERSATIONS = 1000
SEED_CHUNK = 50_000
SEED_TIMEOUT = 3600.0


# --- the stack --------------------------------------------------------------------------

def env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        raise SystemExit(f"{path.relative_to(ROOT)} is missing: start the native stack (make dev)")
    return {key: value.strip().strip("'\"") for key, _, value in
            (line.partition("=") for line in path.read_text().splitlines()
             if "=" in line and not line.lstrip().startswith("#"))}


def ledger_database(settings: dict[str, str]) -> sa.Engine:
    """The native stack's ledger database, as its API and worker connect to it."""
    return sa.create_engine(settings["DATABASE_URL"])


def signer_of(settings: dict[str, str]) -> notes.NoteSigner:
    return notes.NoteSigner.from_seed(settings.get("LOG_ORIGIN", DEFAULT_ORIGIN), settings["SIGNING_KEY"])


@dataclass(frozen=True)
class LogState:
    tree_size: int
    sealed_size: int
    height: int
    pending: int


def log_state(connection: sa.Connection) -> LogState:
    row = connection.execute(sa.text(
        "SELECT tree_size, sealed_size, height, (SELECT count(*) FROM pending_entries) FROM log_state")).one()
    connection.rollback()
    return LogState(*row)


def queue_depth(channel) -> int:
    """Messages ready in the ledger's queue (the consumer's backlog; up to its prefetch more are in hand)."""
    return channel.queue_declare(QUEUE, passive=True).method.message_count


def checkpoint_size(client: Client) -> int:
    status, body = client.call("GET", f"{API}/checkpoint")
    if status == 404:
        return 0
    assert status == 200, (status, body)
    return body["tree_size"]


def wait_until_quiet(engine: sa.Engine, channel) -> LogState:
    """Wait until no event waits in the queue and no entry for the sequencer (what an earlier phase left),
    and every leaf is sealed; the state then."""
    deadline = time.monotonic() + QUIET_TIMEOUT
    with engine.connect() as connection:
        while True:
            state = log_state(connection)
            if (queue_depth(channel) == 0 and state.pending == 0 and state.sealed_size == state.tree_size):
                return state
            if time.monotonic() > deadline:
                raise SystemExit(f"the ledger is still busy after {QUIET_TIMEOUT:.0f}s: {state}, "
                                 f"{queue_depth(channel)} events queued")
            time.sleep(0.2)


# --- CPU by role --------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# servicekit.worker.run_worker starts the relay, the consumer, then the periodic tasks (its housekeeping,
# then the ledger's: sequencer, audit); thread ids are given in that order.
WORKER_THREADS = ("worker main", "relay", "consumer", "housekeeping", "sequencer", "audit")


def _cpu_of(stat_path: str) -> float:
    fields = Path(stat_path).read_bytes().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _pid(name: str) -> int | None:
    try:
        return int((PROCS / f"{name}.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cpu_snapshot() -> Counter:
    """CPU seconds so far: the ledger worker's threads, the ledger API (gunicorn), the ledger database's
    backends, RabbitMQ, and this process."""
    spent: Counter = Counter()
    worker = _pid("ledger-worker")
    if worker is not None:
        try:
            tids = sorted(int(tid) for tid in os.listdir(f"/proc/{worker}/task"))
            names = WORKER_THREADS if len(tids) == len(WORKER_THREADS) else [f"worker thread {i}" for i in range(len(tids))]
            for name, tid in zip(names, tids, strict=True):
                spent[f"worker: {name}"] = _cpu_of(f"/proc/{worker}/task/{tid}/stat")
        except OSError:
            pass
    api = _pid("ledger")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry.name}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        cpu = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS
        if cmdline.startswith(b"postgres: ledger ledger "):
            spent["ledger's PostgreSQL backends"] += cpu
        elif b"\0ledger.worker" in cmdline and int(entry.name) != worker:
            spent["extra ledger worker processes"] += cpu
        elif b"beam.smp" in cmdline.split(b"\0", 1)[0]:
            spent["RabbitMQ"] += cpu
        elif api is not None and int(entry.name) != api and int(stat[1]) == api:
            spent["ledger API (gunicorn workers)"] += cpu
    spent["this bench (publisher, monitor)"] = time.process_time()
    return spent


def cpu_lines(before: Counter, after: Counter, seconds: float, per: int, what: str) -> list[str]:
    lines = []
    for role in after:
        used = after[role] - before.get(role, 0.0)  # a backend started meanwhile counts whole
        if used >= 0.05:
            lines.append(f"    {role:<34} {used:6.1f} s CPU ({used / seconds:4.0%} of a core), "
                         f"{1e6 * used / per:6.0f} µs per {what}")
    return lines


# --- message events ---------------------------------------------------------------------

@dataclass(frozen=True)
class Published:
    message_id: uuid.UUID
    body: bytes
    properties: pika.BasicProperties


def message_events(count: int, conversations: int = 200) -> list[Published]:
    """`count` messaging.message.created events, as messaging's relay publishes them: valid payloads for
    its declared schema (direct conversations of two users, standard and e2e, a third signed), each in
    servicekit's envelope with the relay's message properties. Built ahead: the publisher only sends."""
    pick = random.Random()
    pairs = [(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()) for _ in range(conversations)]
    fingerprints = [hashlib.sha256(os.urandom(32)).hexdigest() for _ in range(conversations)]
    events = []
    for n in range(count):
        c = n % conversations
        conversation_id, a, b = pairs[c]
        sender, recipient = (a, b) if pick.random() < 0.5 else (b, a)
        message_id = uuid.uuid4()
        event = Event.new(EVENT_TYPE, {
            "message_id": message_id, "conversation_id": conversation_id, "conversation_type": "direct",
            "sender_id": sender, "recipient_ids": [recipient], "kind": "e2e" if n % 2 else "standard",
            "content_sha256": hashlib.sha256(message_id.bytes).hexdigest(),
            "signature_fingerprint": fingerprints[c] if n % 3 == 0 else None,
            "created_at": dt.datetime.now(dt.UTC)})
        events.append(Published(message_id, event.to_json().encode(), pika.BasicProperties(
            content_type="application/json", delivery_mode=2, message_id=str(event.id), type=event.type,
            timestamp=int(time.time()))))
    return events


class Publisher:
    """One AMQP connection publishing persistent messages to the ledger's queue (no confirms: the phases
    check that every message became a leaf)."""

    def __init__(self, amqp_url: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self.channel = self.connection.channel()
        self.channel.queue_declare(QUEUE, passive=True)  # the worker declared it: it must be consuming

    def publish(self, event: Published) -> None:
        self.channel.basic_publish("", QUEUE, event.body, event.properties)

    def close(self) -> None:
        self.connection.close()


def paced(events: list[Published], rate: float, publisher: Publisher, sent_at: list[float] | None = None) -> float:
    """Publish `events` at `rate` per second (0: as fast as possible); the seconds it took. `sent_at` gets each
    event's time.time() at its publish."""
    started = time.monotonic()
    for n, event in enumerate(events):
        if rate:
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if sent_at is not None:
            sent_at.append(time.time())
        publisher.publish(event)
        if n % 5000 == 4999:
            publisher.connection.process_data_events(0)  # heartbeats, and anything the broker said
    return time.monotonic() - started


def logged_below(engine: sa.Engine, message_ids: list[uuid.UUID], size: int) -> dict[uuid.UUID, int]:
    """Leaf index of each of `message_ids` logged below tree size `size`."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT message_id, leaf_index FROM entries WHERE message_id = ANY(CAST(:ids AS uuid[])) "
            "AND leaf_index < :size"), {"ids": [str(m) for m in message_ids], "size": size}).all()
    return {message_id: leaf_index for message_id, leaf_index in rows}


# --- the seed ---------------------------------------------------------------------------

def seeded_ids(n: int) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """Seeded message n's id, conversation and sender."""
    c = n % SEED_CONVERSATIONS
    return (uuid.uuid5(SEED_NAMESPACE, f"message {n}"), uuid.uuid5(SEED_NAMESPACE, f"conversation {c}"),
            uuid.uuid5(SEED_NAMESPACE, f"sender {c} {n % 2}"))


def seed_conversations() -> list[str]:
    return [str(uuid.uuid5(SEED_NAMESPACE, f"conversation {c}")) for c in range(SEED_CONVERSATIONS)]


def seed(engine: sa.Engine, leaves_wanted: int) -> int:
    """Make sure the log holds `leaves_wanted` sealed leaves (adding seeded messages); how many seeded there are."""
    with engine.connect() as connection:
        state = log_state(connection)
        seeded = connection.scalar(sa.text(
            "SELECT (SELECT count(*) FROM entries WHERE conversation_id = ANY(CAST(:c AS uuid[]))) "
            "+ (SELECT count(*) FROM pending_entries WHERE conversation_id = ANY(CAST(:c AS uuid[])))"),
            {"c": seed_conversations()})
        connection.rollback()
    missing = leaves_wanted - state.tree_size - state.pending
    if missing <= 0:
        print(f"seed: the log already holds {state.tree_size:,} leaves ({seeded:,} of them seeded): kept", flush=True)
        wait_for_size(engine, leaves_wanted, "seed")
        return seeded
    print(f"seed: the log holds {state.tree_size:,} leaves; adding {missing:,} seeded messages to pending_entries "
          f"for the running worker's sequencer (the consumer's part skipped)", flush=True)
    started = time.monotonic()
    fingerprint = hashlib.sha256(b"bench ledger seed signing key").hexdigest()
    created = dt.datetime.now(dt.UTC)
    for first in range(seeded + 1, seeded + missing + 1, SEED_CHUNK):
        lines = io.StringIO()
        for n in range(first, min(first + SEED_CHUNK, seeded + missing + 1)):
            message_id, conversation_id, sender_id = seeded_ids(n)
            leaf = leaves.encode_leaf(leaves.MessageLeaf(
                message_id=message_id, conversation_id=conversation_id, sender_id=sender_id,
                content_sha256=hashlib.sha256(message_id.bytes).hexdigest(),
                signature_fingerprint=fingerprint if n % 3 == 0 else None, created_at=created))
            lines.write(f"{n}\t{message_source(message_id)}\t{leaf[0]}\t\\\\x{leaf.hex()}\t{message_id}\t"
                        f"{conversation_id}\t{sender_id}\n")
        lines.seek(0)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("CREATE TEMPORARY TABLE bench_seed (n bigint, source text, kind smallint, leaf bytea, "
                           "message_id uuid, conversation_id uuid, user_id uuid) ON COMMIT DROP")
            cursor.copy_expert("COPY bench_seed FROM STDIN", lines)
            cursor.execute("INSERT INTO pending_entries (source, kind, leaf, message_id, conversation_id, user_id) "
                           "SELECT source, kind, leaf, message_id, conversation_id, user_id FROM bench_seed "
                           "ORDER BY n ON CONFLICT (source) DO NOTHING")
            raw.commit()
        finally:
            raw.close()
    inserted = time.monotonic() - started
    print(f"seed: {missing:,} pending entries inserted in {inserted:.0f}s; waiting for the sequencer", flush=True)
    wait_for_size(engine, leaves_wanted, "seed")
    took = time.monotonic() - started
    print(f"seed: done in {took:.0f}s — the worker's sequencer integrated and sealed {missing:,} leaves at "
          f"{missing / took:,.0f} leaves/s (from a pending backlog, while they were being inserted)", flush=True)
    return seeded + missing


def wait_for_size(engine: sa.Engine, size: int, what: str) -> None:
    """Wait until blocks seal `size` leaves, printing progress every 10 s."""
    deadline, shown = time.monotonic() + SEED_TIMEOUT, time.monotonic()
    with engine.connect() as connection:
        while (state := log_state(connection)).sealed_size < size:
            if time.monotonic() > deadline:
                raise SystemExit(f"{what}: {state} after {SEED_TIMEOUT:.0f}s")
            if time.monotonic() - shown > 10:
                print(f"  {what}: {state.sealed_size:,} sealed, {state.tree_size:,} leaves, "
                      f"{state.pending:,} pending", flush=True)
                shown = time.monotonic()
            time.sleep(1)


# --- 1. ingest --------------------------------------------------------------------------

@contextlib.contextmanager
def extra_workers(count: int, settings: dict[str, str], amqp_url: str):
    """`count` more ledger worker processes beside the stack's (as more replicas would run: they share the queue,
    and the sequencer's advisory lock lets one write at a time), started for a phase and stopped after it. Each
    has a heartbeat file of its own (not the stack's worker's) and logs to .dev/logs/ledger-bench-worker-<n>.log."""
    started = []
    try:
        for n in range(count):
            env = {**os.environ, **settings,
                   "WORKER_HEARTBEAT_FILE": f"{tempfile.gettempdir()}/beyou-ledger-bench-worker-{n}.heartbeat"}
            log = (ROOT / f".dev/logs/ledger-bench-worker-{n}.log").open("ab")
            started.append(subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "ledger.worker"], env=env,
                                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
            log.close()
        if count:
            broker = pika.BlockingConnection(pika.URLParameters(amqp_url))
            try:
                deadline = time.monotonic() + 60
                while broker.channel().queue_declare(QUEUE, passive=True).method.consumer_count < 1 + count:
                    if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                        raise SystemExit("the extra ledger workers did not start consuming (logs: .dev/logs/"
                                         "ledger-bench-worker-*.log)")
                    time.sleep(0.2)
            finally:
                broker.close()
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

@dataclass
class Sample:
    t: float
    queued: int
    pending: int
    tree_size: int
    sealed_size: int


@dataclass
class Monitor:
    """Samples the queue's depth and the log's state every SAMPLE_SECONDS on connections of its own."""

    engine: sa.Engine
    amqp_url: str
    started: float
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        broker = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        channel = broker.channel()
        try:
            with self.engine.connect() as connection:
                while not self.stop.is_set():
                    queued = queue_depth(channel)
                    state = log_state(connection)
                    self.samples.append(Sample(time.monotonic() - self.started, queued, state.pending,
                                               state.tree_size, state.sealed_size))
                    self.stop.wait(SAMPLE_SECONDS)
        finally:
            broker.close()


def first_time(samples: list[Sample], test) -> float | None:
    return next((s.t for s in samples if test(s)), None)


def ingest(engine: sa.Engine, amqp_url: str, count: int, rate: float, workers: int) -> None:
    offered = f"{rate:,.0f}/s offered" if rate else "as fast as one connection publishes"
    consumers = "the stack's one ledger worker process" if workers == 1 else f"{workers} ledger worker processes"
    print(f"\n1. ingest: {count:,} {EVENT_TYPE} events into the ledger's queue ({offered}), {consumers}", flush=True)
    events = message_events(count)
    publisher = Publisher(amqp_url)
    base = wait_until_quiet(engine, publisher.channel)
    client = Client(GATEWAY)
    monitor = Monitor(engine, amqp_url, time.monotonic())
    sampler = threading.Thread(target=monitor.run, name="monitor")
    cpu_before = cpu_snapshot()
    monitor.started = time.monotonic()
    sampler.start()
    published = paced(events, rate, publisher)
    deadline = time.monotonic() + max(120.0, 3 * count / INGEST_BAR)
    while (size := checkpoint_size(client)) < base.tree_size + count:
        if time.monotonic() > deadline:
            break
        time.sleep(CHECKPOINT_POLL_SECONDS)
    covered = time.monotonic() - monitor.started
    cpu_after = cpu_snapshot()
    monitor.stop.set()
    sampler.join()
    with engine.connect() as connection:  # where the log stood when the checkpoint was seen
        state = log_state(connection)
    monitor.samples.append(Sample(covered, queue_depth(publisher.channel), state.pending, state.tree_size,
                                  state.sealed_size))
    publisher.close()
    client.close()
    logged = logged_below(engine, [e.message_id for e in events], size)
    if len(logged) < count:
        print(f"  only {len(logged):,} of {count:,} reached a checkpoint within the time allowed "
              f"(checkpoint tree size {size:,}, {size - base.tree_size:,} new)", flush=True)
        return
    samples = monitor.samples
    consumed = first_time(samples, lambda s: s.queued == 0 and s.tree_size - base.tree_size + s.pending >= count)
    integrated = first_time(samples, lambda s: s.tree_size - base.tree_size >= count)
    sealed = first_time(samples, lambda s: s.sealed_size - base.tree_size >= count)
    deepest_queue = max(samples, key=lambda s: s.queued)
    deepest_pending = max(samples, key=lambda s: s.pending)
    if rate and rate < INGEST_BAR:  # an offered rate below the bar says whether it keeps up, not the ceiling
        lag = covered - published
        verdict = (f"the offered {rate:,.0f}/s {'kept up with' if lag < KEEPING_UP_SECONDS else 'NOT kept up with'}: "
                   f"all in a checkpoint {lag:.1f} s after the last publish")
    else:
        verdict = (f"bar {INGEST_BAR:,}, aim {INGEST_AIM:,}: "
                   f"{'met' if count / covered >= INGEST_BAR else 'NOT met'}")
    print(f"  **{count / covered:,.0f} leaves/s** from the first publish to a checkpoint covering all {count:,} "
          f"({covered:.1f} s; the log from {base.tree_size:,} to {size:,} leaves) — {verdict}", flush=True)
    print(f"  anchors: Tessera (POSIX) ~{TESSERA_RATE:,}/s on 12 cores, Trillian+MySQL {TRILLIAN_RATES}/s, "
          f"pymerkle SQLite {PYMERKLE_RATE}/s here", flush=True)
    print(f"  published in {published:.1f} s ({count / published:,.0f}/s offered)", flush=True)

    def at(t: float | None) -> str:
        return "not seen" if t is None else f"{t:6.1f} s ({count / t:,.0f}/s)"

    print(f"  consumer:  all {count:,} taken off the queue into pending/the log by {at(consumed)}; "
          f"deepest queue {deepest_queue.queued:,} at {deepest_queue.t:.1f} s", flush=True)
    print(f"  sequencer: all integrated by {at(integrated)}, sealed by {at(sealed)}; deepest pending backlog "
          f"{deepest_pending.pending:,} at {deepest_pending.t:.1f} s", flush=True)
    print("  timeline (s: queued / pending / integrated / sealed):", flush=True)
    step = max(1, int(round(2.0 / SAMPLE_SECONDS)))
    for s in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        print(f"    {s.t:5.1f}: {s.queued:7,} / {s.pending:7,} / {s.tree_size - base.tree_size:7,} / "
              f"{s.sealed_size - base.tree_size:7,}", flush=True)
    print(f"  server CPU over the {covered:.1f} s:", flush=True)
    for line in cpu_lines(cpu_before, cpu_after, covered, count, "leaf"):
        print(line, flush=True)


# --- 2. message-to-checkpoint latency -------------------------------------------------------

def steady_latency(engine: sa.Engine, amqp_url: str, rate: float, seconds: float) -> None:
    count = int(rate * seconds)
    print(f"\n2. message-to-checkpoint latency: {rate:,.0f} messages/s for {seconds:g} s ({count:,} events)", flush=True)
    events = message_events(count)
    publisher = Publisher(amqp_url)
    base = wait_until_quiet(engine, publisher.channel)
    sent_at: list[float] = []
    seen: list[tuple[float, int]] = []   # (time.time(), checkpoint tree size) at each poll
    done = threading.Event()

    def poll() -> None:
        client = Client(GATEWAY)
        try:
            while not done.is_set():
                seen.append((time.time(), checkpoint_size(client)))
                time.sleep(CHECKPOINT_POLL_SECONDS)
        finally:
            client.close()

    poller = threading.Thread(target=poll, name="checkpoint poller")
    poller.start()
    cpu_before = cpu_snapshot()
    started = time.monotonic()
    took = paced(events, rate, publisher, sent_at)
    deadline = time.monotonic() + 60
    while (not seen or seen[-1][1] < base.tree_size + count) and time.monotonic() < deadline:
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    cpu_after = cpu_snapshot()
    done.set()
    poller.join()
    publisher.close()
    logged = logged_below(engine, [e.message_id for e in events], seen[-1][1])
    print(f"  published {count:,} in {took:.1f} s ({count / took:,.0f}/s); {len(logged):,} reached a checkpoint "
          f"(polled {len(seen):,} times)", flush=True)
    latencies, sealed_latencies = [], []
    with engine.connect() as connection:
        block_rows = connection.execute(sa.text(
            "SELECT first_leaf_index, tree_size, timestamp FROM blocks WHERE tree_size > :base ORDER BY height"),
            {"base": base.tree_size}).all()
    seen_sizes = [size for _t, size in seen]            # both grow: the first poll, block, covering a leaf is
    block_sizes = [block.tree_size for block in block_rows]  # the first whose size exceeds its index
    for event, at in zip(events, sent_at, strict=True):
        index = logged.get(event.message_id)
        if index is None:
            continue
        poll = bisect.bisect_right(seen_sizes, index)
        if poll < len(seen):
            latencies.append(1000 * (seen[poll][0] - at))
        block = bisect.bisect_right(block_sizes, index)
        if block < len(block_rows):
            sealed_latencies.append(1000 * (block_rows[block].timestamp.timestamp() - at))
    if not latencies:
        print("  no message reached a checkpoint", flush=True)
        return
    p99 = quantile(latencies, 99)
    print(f"  publish → a checkpoint covering it (GET checkpoint through the gateway, polled every "
          f"{1000 * CHECKPOINT_POLL_SECONDS:.0f} ms): p50 {quantile(latencies, 50):,.0f} ms, **p99 {p99:,.0f} ms**, "
          f"max {max(latencies):,.0f} ms — bar p99 < {CHECKPOINT_P99_BAR_MS:,.0f} ms: "
          f"{'met' if p99 < CHECKPOINT_P99_BAR_MS else 'NOT met'}", flush=True)
    if sealed_latencies:
        print(f"  publish → the sealing block's header timestamp (the sequencer's side, before its commit): "
              f"p50 {quantile(sealed_latencies, 50):,.0f} ms, p99 {quantile(sealed_latencies, 99):,.0f} ms; "
              f"{len(block_rows):,} blocks, {statistics.mean(b.tree_size - b.first_leaf_index for b in block_rows):,.0f} "
              f"leaves each on average", flush=True)
    print(f"  server CPU over the {elapsed:.1f} s:", flush=True)
    for line in cpu_lines(cpu_before, cpu_after, elapsed, count, "message"):
        print(line, flush=True)


# --- 3. inclusion proofs ------------------------------------------------------------------

def verify_sample(client: Client, vkey: str, paths: list[str]) -> int:
    """Check proofs as a client would: the audit path against the root of the signed checkpoint it names."""
    verifier = notes.NoteVerifier.from_vkey(vkey)
    for path in paths:
        status, body = client.call("GET", path)
        assert status == 200, (path, status, body)
        checkpoint = notes.parse_checkpoint(verifier.open(body["checkpoint"]["note"]))
        assert checkpoint.size == body["tree_size"], (path, body["tree_size"], checkpoint.size)
        merkle.verify_inclusion(body["leaf_index"], body["tree_size"], base64.b64decode(body["leaf_hash"]),
                                [base64.b64decode(h) for h in body["audit_path"]], checkpoint.root)
    return len(paths)


def proofs(args: argparse.Namespace, seeded: int) -> None:
    client = Client(GATEWAY)
    size = checkpoint_size(client)
    status, body = client.call("GET", f"{API}/verifier-key")
    assert status == 200, (status, body)
    pick = random.Random(9162)
    by_leaf = [f"{API}/proofs/inclusion?leaf_index={pick.randrange(size)}" for _ in range(20_000)]
    by_message = [f"{API}/proofs/inclusion?message_id={seeded_ids(pick.randint(1, seeded))[0]}"
                  for _ in range(20_000)] if seeded else []
    verified = verify_sample(client, body["vkey"], by_leaf[-VERIFIED_PROOFS:] + by_message[-VERIFIED_PROOFS:])
    client.close()
    print(f"\n3. inclusion proofs through {GATEWAY.url} at tree size {size:,}: random leaves of the whole log "
          f"(20,000 random paths per target); {verified} proofs verified against the signed checkpoint first; "
          f"{args.seconds:g} s per target and load in {args.rounds} rounds", flush=True)
    run = uuid.uuid4().hex[:8]
    targets = {"proof leaf": by_leaf, "proof message": by_message, "healthz": [f"{API}/healthz"]}
    targets = {name: paths for name, paths in targets.items() if paths}
    request_ids = {name: f"bench-ledger-{run}-{name.replace(' ', '-')}" for name in targets}
    for connections in args.connections:
        requests = {name: [itertools.islice(itertools.cycle([get_request(GATEWAY, p, None, request_ids[name])
                                                             for p in paths]), i * len(paths) // connections, None)
                           for i in range(connections)]
                    for name, paths in targets.items()}
        log_offset = LEDGER_LOG.stat().st_size if LEDGER_LOG.exists() else None
        results = measure_in_rounds(GATEWAY, requests, args.seconds, args.rounds, args.warmup)
        print(f"  {connections} connections:", flush=True)
        for result in results.values():
            print("  " + result.line(), flush=True)
        print("    " + ", ".join(f"{name}/healthz {ratio(results[name], results['healthz'])}"
                                 for name in targets if name != "healthz"), flush=True)
        if log_offset is None:
            print(f"    at the service: {LEDGER_LOG.relative_to(ROOT)} not found", flush=True)
            continue
        durations = service_durations(LEDGER_LOG, log_offset, request_ids)
        for name, values in durations.items():
            p99 = quantile(values, 99)
            verdict = ("" if name == "healthz" else
                       f" — bar p99 < {PROOF_P99_BAR_MS:g} ms: {'met' if p99 < PROOF_P99_BAR_MS else 'NOT met'}, "
                       f"aim < {PROOF_P99_AIM_MS:g} ms: {'met' if p99 < PROOF_P99_AIM_MS else 'not met'} "
                       f"(at the service); through the gateway p99 {quantile(results[name].latencies_ms, 99):.1f} ms")
            print(f"    at the service (its request log) {name}: p50 {quantile(values, 50):.2f} ms, "
                  f"p99 {p99:.2f} ms ({len(values):,} requests){verdict}", flush=True)
    print(f"  anchor: pymerkle's SQLite tree, proof p99 {1000 * PYMERKLE_P99_MS:.0f} µs at 100k leaves", flush=True)


# --- 4. the full audit --------------------------------------------------------------------

def staff_token() -> str:
    """A staff account made the operator's way (`flask --app auth create-staff`), signed in through the gateway."""
    tag = uuid.uuid4()
    details = {"username": f"benchstaff{tag.hex[:8]}", "email": f"staff{tag.hex[:8]}@bench.test",
               "phone": f"+1555{tag.int % 10**7:07d}", "password": f"Bench-{tag.hex[8:28]}"}
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "auth", "create-staff", "--username", details["username"],
                    "--email", details["email"], "--phone", details["phone"], "--password-stdin"],
                   input=details["password"] + "\n", text=True, env={**os.environ, **env_file(AUTH_ENV)},
                   check=True, capture_output=True)
    return access_token(GATEWAY, {"username": details["username"], "password": details["password"]})


def full_audit(settings: dict[str, str], engine: sa.Engine, how: str) -> None:
    with engine.connect() as connection:
        state = log_state(connection)
    print(f"\n4. full audit of {state.sealed_size:,} sealed leaves in {state.height:,} blocks", flush=True)
    if how == "http":
        token = staff_token()
        leaves = blocks = seconds = took = 0.0
        mode, requests_made = "full", 0
        while True:   # a request audits for at most AUDIT_REQUEST_SECONDS; ask again until it is complete
            connection = http.client.HTTPConnection(GATEWAY.host, GATEWAY.port, timeout=600,
                                                    source_address=(fresh_address(), 0))
            started = time.monotonic()
            connection.request("POST", f"{API}/admin/audit?mode={mode}",
                               headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            data = response.read()
            took += time.monotonic() - started
            connection.close()
            if response.status != 200:
                break
            report = json.loads(data)
            leaves, blocks, seconds = (leaves + report["leaves_checked"], blocks + report["blocks_checked"],
                                       seconds + report["seconds"])
            mode, requests_made = "incremental", requests_made + 1
            if report["complete"]:
                print(f"  through the API (POST admin/audit?mode=full, {requests_made} request(s)): "
                      f"{report['status']}, {leaves:,.0f} leaves and {blocks:,.0f} blocks in **{seconds:.1f} s** at "
                      f"the service ({leaves / seconds:,.0f} leaves/s; {took:.1f} s for the requests)", flush=True)
                return
        print(f"  through the API: {response.status} after {took:.1f} s (a gunicorn worker has 30 s: --timeout 30); "
              f"running it in-process instead", flush=True)
    verifier = signer_of(settings).verifier()
    with Session(engine) as session:
        report = audit.audit_log(session, verifier, settings.get("LOG_ORIGIN", DEFAULT_ORIGIN), full=True)
    print(f"  in-process (ledger.audit.audit_log on the dev database, the dev key's verifier): {report.status}, "
          f"{report.leaves_checked:,} leaves and {report.blocks_checked:,} blocks in **{report.seconds:.1f} s** "
          f"({report.leaves_checked / report.seconds:,.0f} leaves/s)", flush=True)


# --- main -----------------------------------------------------------------------------------

PHASES = ("ingest", "latency", "proofs", "audit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_round_options(parser)
    parser.set_defaults(connections=[2, 16])
    parser.add_argument("--phases", default=",".join(PHASES),
                        type=lambda text: [p.strip() for p in text.split(",") if p.strip()])
    parser.add_argument("--seed-leaves", type=int, default=1_000_000)
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--ingest", type=int, default=60_000, help="events published in phase 1")
    parser.add_argument("--ingest-rate", type=float, default=0, help="phase 1's offered rate (0: as fast as possible)")
    parser.add_argument("--extra-workers", type=int, default=0,
                        help="ledger worker processes started beside the stack's for phase 1")
    parser.add_argument("--rate", type=float, default=500, help="phase 2's steady message rate")
    parser.add_argument("--steady-seconds", type=float, default=20)
    parser.add_argument("--audit", choices=("http", "process"), default="http")
    args = parser.parse_args()
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))} (choose from {', '.join(PHASES)})")

    settings = env_file(LEDGER_ENV)
    engine = ledger_database(settings)
    status, body = Client(GATEWAY).call("GET", f"{API}/readyz")
    if status != 200:
        raise SystemExit(f"the ledger is not ready through {GATEWAY.url} ({status} {body}): start the stack (make dev)")
    print(f"ledger benchmark through {GATEWAY.url} (native stack: 2 gunicorn workers for the API, one ledger worker "
          f"process), on {os.cpu_count()} cores", flush=True)
    timings = {}
    started = time.monotonic()
    if args.skip_seed:
        with engine.connect() as connection:
            seeded = connection.scalar(sa.text("SELECT count(*) FROM entries WHERE conversation_id = "
                                               "ANY(CAST(:c AS uuid[]))"), {"c": seed_conversations()})
        print(f"seed: skipped ({seeded:,} seeded leaves in the log)", flush=True)
    else:
        seeded = seed(engine, args.seed_leaves)
    timings["seed"] = time.monotonic() - started
    amqp_url = settings["AMQP_URL"]
    for phase in args.phases:
        started = time.monotonic()
        if phase == "ingest":
            with extra_workers(args.extra_workers, settings, amqp_url):
                ingest(engine, amqp_url, args.ingest, args.ingest_rate, 1 + args.extra_workers)
        elif phase == "latency":
            steady_latency(engine, amqp_url, args.rate, args.steady_seconds)
        elif phase == "proofs":
            proofs(args, seeded)
        elif phase == "audit":
            full_audit(settings, engine, args.audit)
        timings[phase] = time.monotonic() - started
    print("\nphases took: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items()), flush=True)


if __name__ == "__main__":
    main()
