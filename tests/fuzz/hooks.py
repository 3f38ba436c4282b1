"""schemathesis hooks of deploy/dev/fuzz.sh (tests/fuzz/schemathesis.toml loads them, in the fuzz venv).

- `status_documented_by_the_operation`: the status must be one the operation documents itself, not
  only through flask-smorest's catch-all `default` error (the same rule as servicekit's ServiceContract,
  servicekit/servicekit/testing/openapi_conformance.py, whose module cannot be imported here: it needs
  Flask, which the fuzz venv does not have).
- Signed in (FUZZ_USER_TOKEN and FUZZ_STAFF_TOKEN set): every operation that takes a bearer token gets
  the user's, and staff operations (`/admin/`) the staff member's, which a plain user only sees refused.
- Source addresses: the gateway limits rates per client address, so each run leaves from its own
  loopback address (FUZZ_SOURCE_ADDRESS), as a device of its own, and does not share the budget of
  whatever else talks to the gateway from 127.0.0.1. The auth paths the gateway holds to 20 requests a
  minute (gateway/nginx.conf, `auth_strict`) would answer nothing but 429 after the first twenty: each
  request there leaves from the next address of FUZZ_THROTTLED_NETWORK, so that auth itself reads what
  the fuzzer sends. The throttle is the gateway's to prove (tests/), the input handling is the fuzzer's.
"""
from __future__ import annotations

import ipaddress
import os
import re
import threading
from urllib.parse import urlsplit

import schemathesis
from requests.adapters import HTTPAdapter

# --- the check ------------------------------------------------------------------------------------------


@schemathesis.check
def status_documented_by_the_operation(ctx, response, case) -> None:
    """The status is one the operation documents itself, not only through the `default` error."""
    if case.method.upper() != case.operation.method.upper():
        # The coverage phase also sends methods the path has no operation for (TRACE, PUT, ...): their
        # 405 answers for the path, not for this operation, and falls under `default`.
        return
    documented = set(case.operation.definition.raw.get("responses", {})) - {"default"}
    status = response.status_code
    if str(status) not in documented and f"{status // 100}XX" not in documented:
        raise AssertionError(f"Undocumented status {status}: the operation documents "
                             f"{', '.join(sorted(documented))}")


# --- signed in ------------------------------------------------------------------------------------------

USER_TOKEN = os.environ.get("FUZZ_USER_TOKEN")
STAFF_TOKEN = os.environ.get("FUZZ_STAFF_TOKEN")

if USER_TOKEN and STAFF_TOKEN:
    # retry_on=[]: a 401 is an answer under test here, never a cue to fetch new tokens and resend.
    @schemathesis.auth(refresh_interval=None, retry_on=[])
    class SignedIn:
        """The user's bearer token on every operation that takes one; the staff member's under /admin/."""

        def get(self, case, ctx):
            # Fetched by tests/fuzz/tokens.py before the run (schemathesis' `set` needs something here).
            return {"user": USER_TOKEN, "staff": STAFF_TOKEN}

        def set(self, case, data, ctx):
            if not case.operation.definition.raw.get("security"):
                return
            token = data["staff"] if "/admin/" in case.operation.path else data["user"]
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


# --- source addresses -----------------------------------------------------------------------------------

# The paths of gateway/nginx.conf's `auth_strict` location.
THROTTLED_PATH = re.compile(r"^/api/auth/(login|login/2fa|register|challenge|password-reset)(/|$)")
SOURCE_ADDRESS = os.environ.get("FUZZ_SOURCE_ADDRESS")
_throttled_addresses = (
    (str(address) for address in ipaddress.IPv4Network(os.environ["FUZZ_THROTTLED_NETWORK"]).hosts())
    if os.environ.get("FUZZ_THROTTLED_NETWORK") else None)
_throttled_lock = threading.Lock()  # schemathesis' workers are threads


def source_address(url: str) -> str | None:
    """Where a request to `url` leaves from: a fresh address for a throttled auth path, else the run's."""
    if _throttled_addresses is not None and THROTTLED_PATH.match(urlsplit(url).path):
        with _throttled_lock:
            return next(_throttled_addresses, SOURCE_ADDRESS)
    return SOURCE_ADDRESS


_pool_key_attributes = HTTPAdapter.build_connection_pool_key_attributes


def _from_source_address(self, request, verify, cert=None):
    # requests' documented extension point for per-request pool settings; urllib3 keeps a pool per
    # source address. Patched on the class because schemathesis builds its sessions itself.
    host_params, pool_kwargs = _pool_key_attributes(self, request, verify, cert)
    address = source_address(request.url)
    if address:
        pool_kwargs["source_address"] = (address, 0)
    return host_params, pool_kwargs


if SOURCE_ADDRESS:
    HTTPAdapter.build_connection_pool_key_attributes = _from_source_address
