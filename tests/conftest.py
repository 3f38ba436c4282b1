"""Fixtures of the cross-service suite: everything goes through the gateway.

The suite runs against this checkout's native stack (`make dev`), started by the
`gateway_url` fixture when it is not running. A test that acts as several users,
or sends many auth requests, takes a client per user from `new_client`, each from
its own loopback source address (servicekit.testing.gateway says why).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from servicekit.testing import wait_until
from servicekit.testing.gateway import GatewayClient, create_staff
# Fixtures: imported here, they are this suite's (and not every service suite's, as the plugin's are).
from servicekit.testing.gateway import gateway_url, module_client, new_client, staff_command  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / ".dev"


@pytest.fixture
def gateway(gateway_url: str) -> Iterator[GatewayClient]:
    """A client of the gateway connecting from 127.0.0.1."""
    with GatewayClient(gateway_url) as client:
        yield client


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
def staff(new_client, staff_command) -> tuple[GatewayClient, dict[str, str]]:
    """(client, headers) of a staff account made the operator's way (`flask --app auth create-staff`), signed in."""
    details = _new_account_details()
    create_staff(ROOT, details, staff_command)
    account = Account(new_client(), details, "")
    account.sign_in()
    return account.client, account.headers
