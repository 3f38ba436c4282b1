"""Fixtures of the cross-service suite: everything goes through the gateway.

The suite runs against this checkout's native stack (`make dev`). If it is not
running, the `gateway_url` fixture starts it with deploy/dev/up.sh and stops the
services, workers and gateway again at the end of the session; a stack that was
already running is left as it was. PostgreSQL and RabbitMQ stay up either way
(`make dev-stop` stops them).

Per-address rate limits apply at the gateway, so a test that acts as several
users, or sends many auth requests, takes a client per user from `new_client`:
each has its own loopback source address, as separate devices would.
"""
from __future__ import annotations

import ipaddress
import itertools
import json
import os
import random
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from servicekit.testing import wait_until

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / ".dev"


def _configured_gateway_url() -> str:
    port = os.environ.get("BEYOU_HTTP_PORT", "8080")
    return os.environ.get("BEYOU_GATEWAY_URL", f"http://127.0.0.1:{port}").rstrip("/")


def _native_stack_running() -> bool:
    """True if this checkout's honcho is alive (pid file as deploy/dev/lib.sh writes it)."""
    try:
        pid, start_time = (DEV / "run" / "honcho.pid").read_text().split()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return False
    # After the command name: the state (Z = exited, unreaped), and as field 22
    # of the whole line the start time, which tells a recycled pid apart.
    fields = stat.rsplit(") ", 1)[1].split()
    return fields[0] != "Z" and fields[19] == start_time


@pytest.fixture(scope="session")
def gateway_url() -> Iterator[str]:
    """The gateway's base URL, with the native stack up and every service ready."""
    started_here = not _native_stack_running()
    # up.sh starts the stack, or only waits until a running one is ready.
    subprocess.run([str(ROOT / "deploy" / "dev" / "up.sh")], check=True)
    yield _configured_gateway_url()
    if started_here:
        subprocess.run([str(ROOT / "deploy" / "dev" / "down.sh"), "--apps-only"], check=True)


class _FromSourceAddress(HTTPAdapter):
    """Connects from a given local address (one of the many loopback addresses)."""

    def __init__(self, address: str) -> None:
        self._address = address  # read by init_poolmanager, which __init__ calls
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


class GatewayClient(requests.Session):
    """A requests session for the gateway: paths relative to it, a default timeout."""

    def __init__(self, base_url: str, source_address: str | None = None) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") + "/"
        self.source_address = source_address or "127.0.0.1"
        if source_address:
            self.mount("http://", _FromSourceAddress(source_address))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return super().request(method, urljoin(self.base_url, url.lstrip("/")), *args, **kwargs)


@pytest.fixture
def gateway(gateway_url: str) -> Iterator[GatewayClient]:
    """A client of the gateway connecting from 127.0.0.1."""
    with GatewayClient(gateway_url) as client:
        yield client


# A fresh /16 inside 127/8 per session, so reruns do not inherit rate-limit state.
_loopback_addresses = (
    str(ipaddress.ip_address("127.0.0.0") + (random.randrange(16, 250) << 16) + n)
    for n in itertools.count(2)
)


def _is_ipv4_loopback(host: str) -> bool:
    """Only then can a 127.x.y.z source address reach the gateway."""
    try:
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def new_client(gateway_url: str) -> Iterator[Callable[[], GatewayClient]]:
    """Factory of gateway clients, each from its own loopback address (another device)."""
    loopback = _is_ipv4_loopback(urlsplit(gateway_url).hostname or "")
    clients: list[GatewayClient] = []

    def make() -> GatewayClient:
        client = GatewayClient(gateway_url, next(_loopback_addresses) if loopback else None)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _request_log_lines(service: str) -> Iterator[dict[str, Any]]:
    try:
        text = (DEV / "logs" / f"{service}.log").read_text(errors="replace")
    except FileNotFoundError:
        return
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


@pytest.fixture
def request_log() -> Callable[..., dict[str, Any]]:
    """`request_log(service, request_id)`: the line a service logged for that request.

    Waits (bounded) for it to appear in .dev/logs/<service>.log.
    """
    def find(service: str, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
        def logged() -> dict[str, Any] | None:
            return next((line for line in _request_log_lines(service)
                         if line.get("message") == "request" and line.get("request_id") == request_id), None)
        return wait_until(logged, timeout=timeout, interval=0.05,
                          message=f"{service} to log request {request_id}")

    return find
