"""Benchmark: what checking an access token costs — `whoami` next to a bare Flask hello, through the gateway.

In one run, through one gateway (gateway/nginx.conf rendered the way deploy/dev/up.sh renders it,
plus a location for the hello app) and under the same load, it measures requests/s, p50 and p99 of:

  hello          a bare Flask app (bench/hello/hello.py), gunicorn with the services' settings
  auth healthz   auth's /healthz: servicekit's request plumbing without a token
  whoami auth    auth's /whoami with a valid access token
  whoami social  social's /whoami with the same token (keys from auth's JWKS)

and prints whoami/hello, the share of the ceiling an authenticated request keeps. The targets take
turns in short rounds (in a rotating order), so whatever else runs on the machine weighs on each of
them alike; the ratio printed is the median of the rounds' ratios, with their range.

The bench starts its own gunicorn (hello) and nginx on free ports and stops them (by their pids) at
the end; the services are the native stack's (`make bench` starts it when it is not running). The
gateway limits request rates per client address, so each connection sends from a loopback address
of its own (127.0.x.y) and moves to a fresh one long before the burst allowance is spent: the figures
measure the services, not the rate limiter. The load generator shares this machine's cores with the
gateway, the services and PostgreSQL, equally for every target.

Options: --seconds S per target and load, in --rounds R turns, each after --warmup S;
--connections N[,N...] the loads.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent          # gunicorn is installed beside the python running this
GUNICORN_SETTINGS = ["--workers", "2", "--timeout", "30", "--graceful-timeout", "20"]  # as deploy/dev/up.sh
REQUESTS_PER_ADDRESS = 150                 # well inside the gateway's burst of 200 per address
EXCHANGE_TIMEOUT = 30.0

_addresses = (f"127.0.{a}.{b}" for a in range(10, 250) for b in range(1, 255))


def fresh_address() -> str:
    return next(_addresses)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_ports() -> dict[str, int]:
    """The native stack's service ports, read from deploy/dev/lib.sh (their one definition)."""
    declaration = re.search(r"SERVICE_PORT=\(([^)]*)\)", (ROOT / "deploy/dev/lib.sh").read_text())
    if declaration is None:
        raise SystemExit("deploy/dev/lib.sh declares no SERVICE_PORT")
    return {name: int(port) for name, port in re.findall(r"\[(\w+)\]=(\d+)", declaration.group(1))}


# --- the processes this bench runs ---------------------------------------------------

class Children:
    """The processes this bench started; each is stopped by its own pid on exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], *, stdout=None) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(args, stdout=stdout if stdout is not None else log, stderr=log,
                                   stdin=subprocess.DEVNULL, cwd=ROOT)
        self.started.append((name, process))
        return process

    def check_alive(self) -> None:
        for name, process in self.started:
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"{name} exited with {process.returncode}:\n{tail}")

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *_exc) -> None:
        for _name, process in reversed(self.started):
            if process.poll() is None:
                process.terminate()
        for _name, process in reversed(self.started):
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_hello(children: Children, port: int) -> None:
    children.start("hello", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN_SETTINGS,
                             "--chdir", str(ROOT / "bench/hello"), "hello:app"])


def start_gateway(children: Children, prefix: Path, port: int, hello_port: int) -> None:
    """nginx with gateway/nginx.conf on `port`: the native services' upstreams plus /api/hello/."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    config = (ROOT / "gateway/nginx.conf").read_text()
    listen = re.compile(r"^([ \t]*)listen 8080 default_server;.*$", re.M)
    if not listen.search(config):
        raise SystemExit("gateway/nginx.conf has no 'listen 8080 default_server;' line to rewrite")
    config = listen.sub(lambda m: f"{m[1]}listen 127.0.0.1:{port} default_server;\n"
                                  f"{m[1]}location /api/hello/ {{ proxy_pass http://hello; }}", config, count=1)
    (prefix / "nginx.conf").write_text(config)
    upstreams = {**service_ports(), "hello": hello_port}
    (prefix / "upstreams.conf").write_text(
        "".join(f"upstream {name} {{ server 127.0.0.1:{upstream_port}; }}\n"
                for name, upstream_port in upstreams.items()))
    base = [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"]
    subprocess.run([*base, "-t", "-q"], check=True)
    # Its access log goes to stdout: discarded, as the figures are the point.
    children.start("gateway", [*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL)


def wait_for(children: Children, port: int, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        children.check_alive()
        try:
            status, _ = call(port, "GET", path)
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} did not answer 200 through the bench's gateway within {timeout:.0f}s")
        time.sleep(0.2)


# --- a signed-in user ----------------------------------------------------------------

def call(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    """One request from a fresh address (the strict auth zone allows 20/min per address)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(fresh_address(), 0))
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data and response.status < 500 else None)
    finally:
        conn.close()


def solve(challenge: dict) -> dict:
    token, difficulty = challenge["token"], challenge["difficulty"]
    for nonce in itertools.count():
        if int.from_bytes(hashlib.sha256(f"{token}:{nonce}".encode()).digest(), "big") >> (256 - difficulty) == 0:
            return {"token": token, "nonce": str(nonce)}


def register(port: int) -> dict:
    tag = uuid.uuid4()
    user = {"username": f"bench{tag.hex[:10]}", "password": f"Bench-{tag.hex[10:30]}"}
    status, challenge = call(port, "POST", "/api/auth/challenge")
    assert status == 201, (status, challenge)
    status, body = call(port, "POST", "/api/auth/register", {
        **user, "email": f"{user['username']}@bench.test", "phone": f"+1555{tag.int % 10**7:07d}",
        "challenge": solve(challenge)})
    assert status == 201, (status, body)
    return user


def access_token(port: int, user: dict) -> str:
    status, body = call(port, "POST", "/api/auth/login", user)
    assert status == 200 and "access_token" in body, (status, body)
    return body["access_token"]


# --- the load --------------------------------------------------------------------------

@dataclass
class Result:
    target: str
    connections: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    round_rates: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def add(self, other: Result) -> None:
        """Count another round of the same target and load."""
        self.seconds += other.seconds
        self.latencies_ms += other.latencies_ms
        self.errors += other.errors
        self.round_rates.append(other.rate)

    def quantile(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies_ms, n=100)[q - 1]

    def line(self) -> str:
        errors = ", ".join(f"{k}: {n}" for k, n in sorted(self.errors.items(), key=str)) or "0"
        return (f"  {self.target:<14} {self.rate:>9,.0f} req/s   p50 {self.quantile(50):6.1f} ms   "
                f"p99 {self.quantile(99):6.1f} ms   errors {errors}")


class Connection:
    """A keep-alive HTTP/1.1 connection from one loopback address; reads just enough of each answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.sent = reader, writer, 0

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(fresh_address(), 0))
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


async def load(port: int, request: bytes, result: Result, warmup: float) -> None:
    """`result.connections` connections sending `request` back to back; answers completing in the
    measured window (after the warm-up) are counted."""
    start = time.monotonic() + warmup
    stop = start + result.seconds

    async def one_connection() -> None:
        connection = None
        while time.monotonic() < stop:
            try:
                if connection is None:
                    connection = await Connection.open(port)
                began = time.perf_counter()
                async with asyncio.timeout(EXCHANGE_TIMEOUT):
                    status, keep_alive = await connection.exchange(request)
                elapsed_ms = (time.perf_counter() - began) * 1000
            except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
                if start <= time.monotonic() < stop:
                    result.errors[type(exc).__name__] += 1
                if connection is not None:
                    connection.close()
                connection = None
                continue
            if start <= time.monotonic() < stop:
                if status == 200:
                    result.latencies_ms.append(elapsed_ms)
                else:
                    result.errors[status] += 1
            if not keep_alive or connection.sent >= REQUESTS_PER_ADDRESS:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    await asyncio.gather(*(one_connection() for _ in range(result.connections)))


def measure(port: int, target: str, path: str, token: str | None, connections: int, seconds: float,
            warmup: float) -> Result:
    authorization = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{authorization}\r\n".encode()
    result = Result(target, connections, seconds)
    asyncio.run(load(port, request, result, warmup))
    return result


TARGETS = [  # (name, path, needs a token)
    ("hello", "/api/hello/", False),
    ("auth healthz", "/api/auth/healthz", False),
    ("whoami auth", "/api/auth/whoami", True),
    ("whoami social", "/api/social/whoami", True),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=float, default=0.3)
    parser.add_argument("--connections", default="16,64",
                        type=lambda text: [int(n) for n in text.split(",") if n.strip()])
    args = parser.parse_args()
    # Stopped with SIGTERM, still stop what was started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="beyou-bench-whoami-") as tmp, Children(Path(tmp)) as children:
        prefix = Path(tmp)
        prefix.chmod(0o755)  # nginx's unprivileged workers use its temp directories
        hello_port, gateway_port = free_port(), free_port()
        start_hello(children, hello_port)
        start_gateway(children, prefix, gateway_port, hello_port)
        for path in ("/api/hello/", "/api/auth/readyz", "/api/social/readyz"):
            wait_for(children, gateway_port, path)
        user = register(gateway_port)
        print(f"whoami benchmark through gateway/nginx.conf on 127.0.0.1:{gateway_port} (native services, "
              f"2 gunicorn workers per app), {args.seconds:g}s per target and load in {args.rounds} rounds, "
              f"on {os.cpu_count()} cores", flush=True)
        for connections in args.connections:
            token = access_token(gateway_port, user)
            for _name, path, needs_token in TARGETS:
                status, body = call(gateway_port, "GET", path, token=token if needs_token else None)
                assert status == 200, (path, status, body)
            results = {name: Result(name, connections, 0.0) for name, _path, _token in TARGETS}
            for turn in range(args.rounds):
                for name, path, needs_token in TARGETS[turn % len(TARGETS):] + TARGETS[:turn % len(TARGETS)]:
                    results[name].add(measure(gateway_port, name, path, token if needs_token else None,
                                              connections, args.seconds / args.rounds, args.warmup))
                    children.check_alive()
            print(f"{connections} connections:", flush=True)
            for result in results.values():
                print(result.line(), flush=True)
            print("  " + ", ".join(f"{name}/hello {ratio(results[name], results['hello'])}"
                                   for name in ("whoami auth", "whoami social", "auth healthz")), flush=True)


def ratio(result: Result, baseline: Result) -> str:
    """The median of the rounds' ratios, and their range."""
    ratios = sorted(a / b for a, b in zip(result.round_rates, baseline.round_rates, strict=True) if b)
    return f"{statistics.median(ratios):.0%} ({ratios[0]:.0%}–{ratios[-1]:.0%})"


if __name__ == "__main__":
    main()
