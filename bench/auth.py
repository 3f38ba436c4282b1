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
import os
import threading
import time

from _loadgen import Client, Gateway, call, quantile, register

GATEWAY = Gateway.from_environment()


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
    ms = [x * 1000 for x in latencies]
    print(f"{name}: {len(ms) / elapsed:,.1f} req/s over {elapsed:.1f}s ({clients} clients), "
          f"p50 {quantile(ms, 50):.1f} ms, p99 {quantile(ms, 99):.1f} ms, errors {errors[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--users", type=int, default=8)
    args = parser.parse_args()

    users = [register(GATEWAY).credentials for _ in range(args.users)]
    print(f"auth benchmark through {GATEWAY.url}: {args.users} accounts, {args.clients} clients, "
          f"{args.seconds:.0f}s per phase, on {os.cpu_count()} cores")

    def login_worker(i):
        user = users[i % len(users)]

        def login():  # a fresh address per login: the strict login zone allows 20/min per address
            status, _ = call(GATEWAY, "POST", "/api/auth/login", user)
            return status == 200
        return login
    run_phase("login (argon2id)", args.seconds, args.clients, login_worker)

    def refresh_worker(i):
        client = Client(GATEWAY)
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
        client = Client(GATEWAY)
        _, tokens = client.call("POST", "/api/auth/login", users[i % len(users)])

        def me():
            status, _ = client.call("GET", "/api/auth/me", token=tokens["access_token"])
            return status == 200
        return me
    run_phase("me", args.seconds, args.clients, me_worker)


if __name__ == "__main__":
    main()
