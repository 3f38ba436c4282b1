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
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _loadgen import Gateway, access_token, add_round_options, call, get_request, measure_in_rounds, ratio, register

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent          # gunicorn is installed beside the python running this
GUNICORN_SETTINGS = ["-c", "python:servicekit.gunicorn_conf"]  # the services' (deploy/dev/up.sh)


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


def wait_for(children: Children, gateway: Gateway, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        children.check_alive()
        try:
            status, _ = call(gateway, "GET", path)
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} did not answer 200 through the bench's gateway within {timeout:.0f}s")
        time.sleep(0.2)


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
