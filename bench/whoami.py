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
measure the services, not the rate limiter. The load generator (bench/_loadgen.py) shares this machine's cores with the
gateway, the services and PostgreSQL, equally for every target.

Options: --seconds S per target and load, in --rounds R turns, each after --warmup S;
--connections N[,N...] the loads.
"""
from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
import tempfile
from pathlib import Path

from _ceiling import Children, free_port, start_gateway, start_hello, wait_for
from _loadgen import Gateway, access_token, add_round_options, call, get_request, measure_in_rounds, ratio, register

TARGETS = [  # (name, path, needs a token)
    ("hello", "/api/hello/", False),
    ("auth healthz", "/api/auth/healthz", False),
    ("whoami auth", "/api/auth/whoami", True),
    ("whoami social", "/api/social/whoami", True),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_round_options(parser)
    args = parser.parse_args()
    # Stopped with SIGTERM, still stop what was started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="beyou-bench-whoami-") as tmp, Children(Path(tmp)) as children:
        prefix = Path(tmp)
        prefix.chmod(0o755)  # nginx's unprivileged workers use its temp directories
        hello_port, gateway_port = free_port(), free_port()
        start_hello(children, hello_port)
        start_gateway(children, prefix, gateway_port, hello_port)
        gateway = Gateway(f"http://127.0.0.1:{gateway_port}")
        for path in ("/api/hello/", "/api/auth/readyz", "/api/social/readyz"):
            wait_for(children, gateway, path)
        user = register(gateway).credentials
        print(f"whoami benchmark through gateway/nginx.conf on 127.0.0.1:{gateway_port} (native services, "
              f"2 gunicorn workers per app), {args.seconds:g}s per target and load in {args.rounds} rounds, "
              f"on {os.cpu_count()} cores", flush=True)
        for connections in args.connections:
            token = access_token(gateway, user)
            for _name, path, needs_token in TARGETS:
                status, body = call(gateway, "GET", path, token=token if needs_token else None)
                assert status == 200, (path, status, body)
            # Every connection sends the same request, over and over.
            requests = {name: [itertools.repeat(get_request(gateway, path, token if needs_token else None))
                               for _ in range(connections)]
                        for name, path, needs_token in TARGETS}
            results = measure_in_rounds(gateway, requests, args.seconds, args.rounds, args.warmup,
                                        after_each=children.check_alive)
            print(f"{connections} connections:", flush=True)
            for result in results.values():
                print(result.line(), flush=True)
            print("  " + ", ".join(f"{name}/hello {ratio(results[name], results['hello'])}"
                                   for name in ("whoami auth", "whoami social", "auth healthz")), flush=True)


if __name__ == "__main__":
    main()
