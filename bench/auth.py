"""Benchmark: auth through the gateway — logins/s, token refreshes/s and `me` requests/s with p50/p99.

Runs against the native stack (`make bench` starts it when it is not running) at
BEYOU_GATEWAY_URL. The gateway limits request rates per client address, so each
simulated client sends from its own loopback address (127.0.x.y): the figures
measure the service behind the gateway, not the rate limiter. Login throughput is
bounded by argon2id by design. Client, gateway, services and databases share
this machine's cores.

Options: --seconds S per phase, --clients N concurrent clients, --users U accounts.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import itertools
import json
import os
import statistics
import threading
import time
import uuid
from urllib.parse import urlsplit

GATEWAY = urlsplit(os.environ.get("BEYOU_GATEWAY_URL", "http://127.0.0.1:8080"))
_addresses = (f"127.0.{a}.{b}" for a in range(10, 250) for b in range(1, 255))
_address_lock = threading.Lock()


def fresh_address() -> str:
    with _address_lock:
        return next(_addresses)


class Client:
    """A keep-alive HTTP connection to the gateway from one source address."""

    def __init__(self, address: str | None = None) -> None:
        self.conn = http.client.HTTPConnection(GATEWAY.hostname, GATEWAY.port or 80, timeout=30,
                                               source_address=(address or fresh_address(), 0))

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else None)


def solve(challenge: dict) -> dict:
    token, difficulty = challenge["token"], challenge["difficulty"]
    for nonce in itertools.count():
        if int.from_bytes(hashlib.sha256(f"{token}:{nonce}".encode()).digest(), "big") >> (256 - difficulty) == 0:
            return {"token": token, "nonce": str(nonce)}


def register(client: Client) -> dict:
    tag = uuid.uuid4()
    user = {"username": f"bench{tag.hex[:10]}", "password": f"Bench-{tag.hex[10:30]}"}
    status, challenge = client.call("POST", "/api/auth/challenge")
    assert status == 201, (status, challenge)
    status, body = client.call("POST", "/api/auth/register", {
        **user, "email": f"{user['username']}@bench.test", "phone": f"+1555{tag.int % 10**7:07d}",
        "challenge": solve(challenge)})
    assert status == 201, (status, body)
    return user


def run_phase(name: str, seconds: float, clients: int, make_worker) -> None:
    """Run `clients` workers for `seconds`; each returns per-request latencies (s) and error count."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(worker):
        mine, failed = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            ok = worker()
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=loop, args=(make_worker(i),)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100) if len(ms) >= 2 else [float("nan")] * 99
    print(f"{name}: {len(ms) / elapsed:,.1f} req/s over {elapsed:.1f}s ({clients} clients), "
          f"p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, errors {errors[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--users", type=int, default=8)
    args = parser.parse_args()

    users = [register(Client()) for _ in range(args.users)]
    print(f"auth benchmark through {GATEWAY.geturl()}: {args.users} accounts, {args.clients} clients, "
          f"{args.seconds:.0f}s per phase, on {os.cpu_count()} cores")

    def login_worker(i):
        user = users[i % len(users)]

        def login():  # a fresh address per login: the strict login zone allows 20/min per address
            status, _ = Client().call("POST", "/api/auth/login", user)
            return status == 200
        return login
    run_phase("login (argon2id)", args.seconds, args.clients, login_worker)

    def refresh_worker(i):
        client = Client()
        _, tokens = client.call("POST", "/api/auth/login", users[i % len(users)])
        state = {"refresh": tokens["refresh_token"]}

        def refresh():
            status, body = client.call("POST", "/api/auth/token/refresh", {"refresh_token": state["refresh"]})
            if status == 200:
                state["refresh"] = body["refresh_token"]
            return status == 200
        return refresh
    run_phase("token refresh", args.seconds, args.clients, refresh_worker)

    def me_worker(i):
        client = Client()
        _, tokens = client.call("POST", "/api/auth/login", users[i % len(users)])

        def me():
            status, _ = client.call("GET", "/api/auth/me", token=tokens["access_token"])
            return status == 200
        return me
    run_phase("me", args.seconds, args.clients, me_worker)


if __name__ == "__main__":
    main()
