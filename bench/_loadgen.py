"""The benchmarks' shared load generator: requests through the gateway, signed-in users, figures.

Not a benchmark itself: deploy/dev/bench.sh (`make bench`) skips bench/ modules whose name starts
with "_". The benchmarks import it as `_loadgen` (their own folder is first on sys.path).

The gateway limits request rates per client address, so every connection made here sends from a
loopback address of its own (127.0.x.y, see fresh_address) and a load connection moves to a fresh
one long before the burst allowance is spent: the figures measure the services, not the rate
limiter.

- Gateway: where the requests go (BEYOU_GATEWAY_URL, or a bench's own nginx).
- Client / call: plain HTTP/1.1 requests with JSON bodies, for setting up (and for auth's phases).
- register / access_token: an account made through auth, proof of work included, and its token.
- Connection / load: the async load itself, keep-alive connections sending raw requests back to
  back; get_request and post_request build them.
- Result, measure_in_rounds (with add_round_options), ratio, quantile: requests/s, p50, p99,
  targets measured in turns.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import http.client
import itertools
import json
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

REQUESTS_PER_ADDRESS = 150                 # well inside the gateway's burst of 200 per address
EXCHANGE_TIMEOUT = 30.0

# 60,960 addresses: far more than a run uses (one per setup request, one per 150 under load).
_addresses = (f"127.0.{a}.{b}" for a in range(10, 250) for b in range(1, 255))
_address_lock = threading.Lock()            # bench/auth.py's clients are threads


def fresh_address() -> str:
    """A loopback address no connection of this process has sent from yet."""
    with _address_lock:
        return next(_addresses)


@dataclass(frozen=True)
class Gateway:
    """The gateway the requests go to, by its URL (printed in a bench's heading as it is given)."""

    url: str

    @classmethod
    def from_environment(cls) -> Gateway:
        """The native stack's gateway: BEYOU_GATEWAY_URL, as `make bench` provides it."""
        return cls(os.environ.get("BEYOU_GATEWAY_URL", "http://127.0.0.1:8080"))

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc


# --- plain requests: setting up, and auth's phases --------------------------------------------

class Client:
    """A keep-alive HTTP connection to the gateway from a loopback address of its own, moving to a fresh
    address (a new connection) every REQUESTS_PER_ADDRESS requests, long before the gateway's per-address
    burst allowance is spent: the figures measure the service, not the rate limiter."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.conn = self._connect()
        self.sent = 0

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.gateway.host, self.gateway.port, timeout=30,
                                          source_address=(fresh_address(), 0))

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        """The answer's status and JSON body (None when there is none, or for a 5xx: the gateway's
        own error pages are HTML)."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.sent == REQUESTS_PER_ADDRESS:
            self.conn.close()
            self.conn, self.sent = self._connect(), 0
        self.sent += 1
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data and response.status < 500 else None)

    def close(self) -> None:
        self.conn.close()


def call(gateway: Gateway, method: str, path: str, body: dict | None = None, token: str | None = None):
    """One request from a fresh address (the strict auth zone allows 20/min per address)."""
    client = Client(gateway)
    try:
        return client.call(method, path, body, token)
    finally:
        client.close()


# --- signed-in users --------------------------------------------------------------------------

class Account(NamedTuple):
    id: uuid.UUID
    credentials: dict   # username and password: the body of a login


def solve(challenge: dict) -> dict:
    """The proof of work registration asks for: a nonce whose hash with the token starts with
    `difficulty` zero bits."""
    token, difficulty = challenge["token"], challenge["difficulty"]
    for nonce in itertools.count():
        if int.from_bytes(hashlib.sha256(f"{token}:{nonce}".encode()).digest(), "big") >> (256 - difficulty) == 0:
            return {"token": token, "nonce": str(nonce)}


def register(gateway: Gateway, solver: Callable[[dict], dict] = solve) -> Account:
    """A new account through auth, under a random name (so runs never collide). `solver` finds the proof
    of work (e.g. in a process pool, to register many accounts on every core)."""
    tag = uuid.uuid4()
    user = {"username": f"bench{tag.hex[:10]}", "password": f"Bench-{tag.hex[10:30]}"}
    status, challenge = call(gateway, "POST", "/api/auth/challenge")
    assert status == 201, (status, challenge)
    status, body = call(gateway, "POST", "/api/auth/register", {
        **user, "email": f"{user['username']}@bench.test", "phone": f"+1555{tag.int % 10**7:07d}",
        "challenge": solver(challenge)})
    assert status == 201, (status, body)
    return Account(uuid.UUID(body["id"]), user)


def register_many(gateway: Gateway, count: int) -> list[Account]:
    """`count` accounts through auth; the proofs of work (most of a registration's time) on every core."""
    with ProcessPoolExecutor(os.cpu_count()) as solvers:
        solvers.submit(int).result()  # its processes fork now, before the threads below exist

        def solver(challenge: dict) -> dict:
            return solvers.submit(solve, challenge).result()

        with ThreadPoolExecutor(2 * (os.cpu_count() or 1)) as senders:
            return list(senders.map(lambda _: register(gateway, solver), range(count)))


def access_token(gateway: Gateway, credentials: dict) -> str:
    status, body = call(gateway, "POST", "/api/auth/login", credentials)
    assert status == 200 and "access_token" in body, (status, body)
    return body["access_token"]


# --- the load ---------------------------------------------------------------------------------

def quantile(values: list[float], q: int) -> float:
    """The q-th percentile (NaN for fewer than two values, where there is none to speak of)."""
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else float("nan")


@dataclass
class Result:
    target: str
    connections: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    round_rates: list[float] = field(default_factory=list)
    ok_status: int = 200    # the status of an answer that counts (201 for a request that creates)

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def add(self, other: Result) -> None:
        """Count another round of the same target and load."""
        self.seconds += other.seconds
        self.latencies_ms += other.latencies_ms
        self.errors += other.errors
        self.round_rates.append(other.rate)

    def line(self) -> str:
        errors = ", ".join(f"{k}: {n}" for k, n in sorted(self.errors.items(), key=str)) or "0"
        return (f"  {self.target:<14} {self.rate:>9,.0f} req/s   p50 {quantile(self.latencies_ms, 50):6.1f} ms   "
                f"p99 {quantile(self.latencies_ms, 99):6.1f} ms   errors {errors}")


def ratio(result: Result, baseline: Result) -> str:
    """The median of the rounds' ratios, and their range."""
    ratios = sorted(a / b for a, b in zip(result.round_rates, baseline.round_rates, strict=True) if b)
    return f"{statistics.median(ratios):.0%} ({ratios[0]:.0%}–{ratios[-1]:.0%})"


def get_request(gateway: Gateway, path: str, token: str | None = None, request_id: str | None = None) -> bytes:
    """A GET as the load sends it, built once: the load measures the server, not request building."""
    authorization = f"Authorization: Bearer {token}\r\n" if token else ""
    request_id_header = f"X-Request-ID: {request_id}\r\n" if request_id else ""
    return f"GET {path} HTTP/1.1\r\nHost: {gateway.netloc}\r\n{authorization}{request_id_header}\r\n".encode()


def post_request(gateway: Gateway, path: str, body: dict | bytes, token: str | None = None,
                 request_id: str | None = None) -> bytes:
    """A POST of a JSON body as the load sends it, built once (as get_request)."""
    content = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    authorization = f"Authorization: Bearer {token}\r\n" if token else ""
    request_id_header = f"X-Request-ID: {request_id}\r\n" if request_id else ""
    return (f"POST {path} HTTP/1.1\r\nHost: {gateway.netloc}\r\n{authorization}{request_id_header}"
            f"Content-Type: application/json\r\nContent-Length: {len(content)}\r\n\r\n").encode() + content


class Connection:
    """A keep-alive HTTP/1.1 connection from one loopback address; reads just enough of each answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.sent = reader, writer, 0

    @classmethod
    async def open(cls, gateway: Gateway) -> Connection:
        reader, writer = await asyncio.open_connection(gateway.host, gateway.port, local_addr=(fresh_address(), 0))
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        """Send one request; the answer's status and whether the connection stays open."""
        self.writer.write(request)
        self.sent += 1
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {name.strip().lower(): value.strip()
                   for name, _, value in (line.partition(":") for line in head[1:] if line)}
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        return status, headers.get("connection", "").lower() != "close"

    def close(self) -> None:
        self.writer.close()


async def load(gateway: Gateway, requests: list[Iterator[bytes]], result: Result, warmup: float) -> None:
    """One connection per iterator in `requests`, sending what it gives, back to back; answers
    completing in the measured window (after the warm-up) are counted."""
    start = time.monotonic() + warmup
    stop = start + result.seconds

    async def one_connection(turn: Iterator[bytes]) -> None:
        connection = None
        while time.monotonic() < stop:
            try:
                if connection is None:
                    connection = await Connection.open(gateway)
                began = time.perf_counter()
                async with asyncio.timeout(EXCHANGE_TIMEOUT):
                    status, keep_alive = await connection.exchange(next(turn))
                elapsed_ms = (time.perf_counter() - began) * 1000
            except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
                if start <= time.monotonic() < stop:
                    result.errors[type(exc).__name__] += 1
                if connection is not None:
                    connection.close()
                connection = None
                continue
            if start <= time.monotonic() < stop:
                if status == result.ok_status:
                    result.latencies_ms.append(elapsed_ms)
                else:
                    result.errors[status] += 1
            if not keep_alive or connection.sent >= REQUESTS_PER_ADDRESS:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    await asyncio.gather(*(one_connection(mine) for mine in requests))


def measure_in_rounds(gateway: Gateway, requests: dict[str, list[Iterator[bytes]]], seconds: float, rounds: int,
                      warmup: float, after_each: Callable[[], None] = lambda: None, *,
                      ok_status: dict[str, int] | None = None,
                      around_each: Callable[[str], contextlib.AbstractContextManager] | None = None,
                      ) -> dict[str, Result]:
    """Each target's figures (by name; `requests` as for load) over `seconds` in all, in `rounds` short
    turns, the targets in a rotating order: whatever else runs on the machine weighs on each alike,
    and ratio() can compare them round by round. `after_each` runs after every turn. `ok_status`: the
    status that counts, by target, where it is not 200. `around_each(name)`: a context entered around
    each turn of that target (e.g. to read the server's CPU time before and after)."""
    names = list(requests)
    connections = {name: len(mine) for name, mine in requests.items()}
    ok_status = ok_status or {}
    results = {name: Result(name, connections[name], 0.0, ok_status=ok_status.get(name, 200)) for name in names}
    for turn in range(rounds):
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            result = Result(name, connections[name], seconds / rounds, ok_status=ok_status.get(name, 200))
            with around_each(name) if around_each else contextlib.nullcontext():
                asyncio.run(load(gateway, requests[name], result, warmup))
            results[name].add(result)
            after_each()
    return results


def add_round_options(parser: argparse.ArgumentParser) -> None:
    """The options of a bench measured with measure_in_rounds: --seconds S per target and load, in
    --rounds R turns, each after --warmup S; --connections N[,N...] the loads."""
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=float, default=0.3)
    parser.add_argument("--connections", default="16,64",
                        type=lambda text: [int(n) for n in text.split(",") if n.strip()])


def service_durations(log: Path, log_offset: int, request_ids: Mapping[str, str],
                      ok_status: Mapping[str, int] | None = None) -> dict[str, list[float]]:
    """The duration_ms a service logged (servicekit's request log, one JSON line each, in `log` from
    `log_offset` on) for each target's successful requests, found by their X-Request-ID: what the
    service itself spent, without the gateway and the load generator. A target succeeds with
    `ok_status[name]`, 200 by default."""
    durations: dict[str, list[float]] = {name: [] for name in request_ids}
    names = {request_id: name for name, request_id in request_ids.items()}
    with log.open("rb") as lines:
        lines.seek(log_offset)
        for line in lines:
            if b"duration_ms" not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            name = names.get(entry.get("request_id"))
            if name is not None and entry.get("status") == (ok_status or {}).get(name, 200):
                durations[name].append(float(entry["duration_ms"]))
    return durations
