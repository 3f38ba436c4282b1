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

import hashlib
import ipaddress
import itertools
import json
import os
import random
import subprocess
import uuid
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


# --- accounts, made as a client and an operator would ---------------------------------------

def solve(challenge: dict) -> dict:
    """What a client does before registering: find a nonce with enough leading zero bits."""
    token, difficulty = challenge["token"], challenge["difficulty"]
    for nonce in itertools.count():
        if int.from_bytes(hashlib.sha256(f"{token}:{nonce}".encode()).digest(), "big") >> (256 - difficulty) == 0:
            return {"token": token, "nonce": str(nonce)}


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


class Account:
    """A registered account and the device (a gateway client from its own address) it uses."""

    def __init__(self, client: GatewayClient, details: dict[str, str], user_id: str) -> None:
        self.client, self.details, self.id = client, details, user_id
        self.headers: dict[str, str] = {}  # the bearer header of the latest sign_in()

    @property
    def username(self) -> str:
        return self.details["username"]

    def log_in(self) -> requests.Response:
        return self.client.post("/api/auth/login", json={"username": self.details["username"],
                                                         "password": self.details["password"]})

    def sign_in(self) -> dict[str, Any]:
        """Sign in (asserting it works): the tokens; `headers` carries the new access token."""
        response = self.log_in()
        assert response.status_code == 200, response.text
        self.headers = bearer(response.json()["access_token"])
        return response.json()


def _new_account_details() -> dict[str, str]:
    tag = uuid.uuid4()
    username = f"t{tag.hex[:12]}"
    return {"username": username, "email": f"{username}@journey.test", "phone": f"+4420{tag.int % 10**8:08d}",
            "password": f"Journey-{tag.hex[12:28]}"}


@pytest.fixture
def new_account(new_client) -> Callable[[], Account]:
    """`new_account()`: a new account registered through the gateway (proof of work solved)."""
    def make() -> Account:
        client, details = new_client(), _new_account_details()
        challenge = client.post("/api/auth/challenge")
        assert challenge.status_code == 201, challenge.text
        registered = client.post("/api/auth/register", json={**details, "challenge": solve(challenge.json())})
        assert registered.status_code == 201, registered.text
        return Account(client, details, registered.json()["id"])
    return make


@pytest.fixture
def staff(new_client) -> tuple[GatewayClient, dict[str, str]]:
    """(client, headers) of a staff account made the operator's way (`flask --app auth create-staff`), signed in."""
    details = _new_account_details()
    env = {**os.environ, **_env_file(DEV / "env" / "auth.env")}
    subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "auth", "create-staff",
                    "--username", details["username"], "--email", details["email"], "--phone", details["phone"],
                    "--password-stdin"], input=details["password"] + "\n", text=True, env=env, check=True,
                   capture_output=True)
    account = Account(new_client(), details, "")
    account.sign_in()
    return account.client, account.headers


def _env_file(path: Path) -> dict[str, str]:
    lines = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key: value for key, value in lines}
