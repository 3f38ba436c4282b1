"""The benchmarks' ceiling: a bare Flask hello under gunicorn with the services' settings, behind the same
gateway configuration as the services (gateway/nginx.conf rendered as deploy/dev/up.sh renders it, plus a
location for /api/hello/), in processes the bench starts and stops by their pids.

Not a benchmark itself (deploy/dev/bench.sh skips bench/ modules named "_*"); bench/whoami.py and
bench/system.py import it.
"""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from _loadgen import Gateway, call

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
                for name, upstream_port in upstreams.items())
        # gateway/nginx.conf proxies to http://<upstream>$beyou_upstream_port: the blocks above.
        + 'map $host $beyou_upstream_port { default ""; }\n')
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
