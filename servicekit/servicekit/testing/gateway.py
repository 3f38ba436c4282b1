"""Fixtures of the suites that go through the gateway of this checkout's native stack (`make dev`): the
cross-service journeys (tests/) and the client library's gateway tests (client/tests/).

They are not part of the plugin, which every service's suite loads: a conftest.py that wants them imports
them (`from servicekit.testing.gateway import gateway_url, new_client`), and only its directory has them.

If the stack is not running, `gateway_url` starts it with deploy/dev/up.sh and stops the services, workers
and gateway again at the end of the session; a stack that was already running is left as it was.
PostgreSQL and RabbitMQ stay up either way (`make dev-stop` stops them).

Per-address rate limits apply at the gateway, so a test that acts as several users, or sends many auth
requests, takes a client per user from `new_client`: each has its own loopback source address, as separate
devices would.

Another stack that is already up (the compose one, deploy/compose/journey.sh) is targeted with options this
module adds when it is loaded as a plugin, `pytest -p servicekit.testing.gateway --gateway-url URL
--staff-command CMD`: the native stack is then neither started nor stopped, and staff are made with CMD, that
stack operator's `flask --app auth create-staff` (the `staff_command` fixture). (Options, not environment
variables: servicekit reads the environment in its config modules only, and these are the test run's choice.)
"""
from __future__ import annotations

import ipaddress
import itertools
import random
import shlex
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from servicekit.testing.config import gateway_url as configured_gateway_url
from servicekit.testing.config import stack_env
from servicekit.testing.waiting import wait_until

SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")
EXTERNAL_READY_SECONDS = 60


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("beyou-gateway", "the stack under test (servicekit.testing.gateway)")
    group.addoption("--gateway-url", metavar="URL",
                    help="the gateway of a stack that is already up (e.g. compose): used as it is, the native "
                         "stack neither started nor stopped")
    group.addoption("--staff-command", metavar="CMD",
                    help="how that stack's operator runs `flask --app auth create-staff`, shell-quoted (e.g. "
                         "'docker-compose exec -T auth flask --app auth create-staff'); the account's options are "
                         "appended and the password given on stdin")


def _native_stack_running(checkout: Path) -> bool:
    """True if this checkout's honcho is alive (pid file as deploy/dev/lib.sh writes it)."""
    try:
        pid, start_time = (checkout / ".dev" / "run" / "honcho.pid").read_text().split()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return False
    # After the command name: the state (Z = exited, unreaped), and as field 22
    # of the whole line the start time, which tells a recycled pid apart.
    fields = stat.rsplit(") ", 1)[1].split()
    return fields[0] != "Z" and fields[19] == start_time


@pytest.fixture(scope="session")
def gateway_url(pytestconfig: pytest.Config) -> Iterator[str]:
    """The gateway's base URL, with the native stack (or the one --gateway-url names) up and every service ready."""
    # getoption's default: the option exists only where this module was loaded as a plugin.
    external = pytestconfig.getoption("gateway_url", None)
    if external:
        yield _ready(external.rstrip("/"))
        return
    checkout = pytestconfig.rootpath  # where pytest.ini is: the checkout whose stack this is
    started_here = not _native_stack_running(checkout)
    # up.sh starts the stack, or only waits until a running one is ready.
    subprocess.run([str(checkout / "deploy" / "dev" / "up.sh")], check=True)
    yield configured_gateway_url()
    if started_here:
        subprocess.run([str(checkout / "deploy" / "dev" / "down.sh"), "--apps-only"], check=True)


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


def _client_factory(gateway_url: str) -> Iterator[Callable[[], GatewayClient]]:
    loopback = _is_ipv4_loopback(urlsplit(gateway_url).hostname or "")
    clients: list[GatewayClient] = []

    def make() -> GatewayClient:
        client = GatewayClient(gateway_url, next(_loopback_addresses) if loopback else None)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def new_client(gateway_url: str) -> Iterator[Callable[[], GatewayClient]]:
    """Factory of gateway clients, each from its own loopback address (another device)."""
    yield from _client_factory(gateway_url)


@pytest.fixture(scope="module")
def module_client(gateway_url: str) -> Iterator[Callable[[], GatewayClient]]:
    """`new_client` for a module's fixtures: clients that live as long as the module (its people, made once)."""
    yield from _client_factory(gateway_url)


def _ready(base_url: str) -> str:
    """`base_url` once every service answers its readyz through it (a stack started by someone else)."""
    def ready(service: str) -> bool:
        try:
            return requests.get(f"{base_url}/api/{service}/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False
    for service in SERVICES:
        wait_until(lambda: ready(service), timeout=EXTERNAL_READY_SECONDS, interval=0.5,
                   message=f"{service} to be ready at {base_url}")
    return base_url


@pytest.fixture(scope="session")
def staff_command(pytestconfig: pytest.Config) -> list[str] | None:
    """How the stack under test makes staff, for `create_staff`: None on the native stack; --staff-command with
    --gateway-url."""
    if not pytestconfig.getoption("gateway_url", None):
        return None
    command = shlex.split(pytestconfig.getoption("staff_command", None) or "")
    if not command:
        raise pytest.UsageError("--gateway-url names another stack: give --staff-command, how its operator runs "
                                "`flask --app auth create-staff`")
    return command


def create_staff(checkout: Path, details: dict[str, str], command: Sequence[str] | None = None) -> None:
    """A staff account (`details`: username, email, phone, password) made the operator's way: `command`
    (the `staff_command` fixture), else `flask --app auth create-staff` on the native stack's auth database."""
    options = ["--username", details["username"], "--email", details["email"], "--phone", details["phone"],
               "--password-stdin"]
    if command:
        argv, env = [*command, *options], None
    else:
        argv = [str(checkout / ".venv" / "bin" / "flask"), "--app", "auth", "create-staff", *options]
        env = stack_env(checkout, "auth")
    made = subprocess.run(argv, input=details["password"] + "\n", text=True, env=env, capture_output=True)
    if made.returncode != 0:
        raise AssertionError(f"making staff failed (exit {made.returncode}: {shlex.join(argv)}): "
                             f"{made.stderr or made.stdout}")


__all__ = ["GatewayClient", "create_staff", "gateway_url", "module_client", "new_client", "stack_env",
           "staff_command"]
