"""The web client's own checks, run by `make test`: its build (type check and Vite, into web/dist,
when stale), its unit tests (Vitest: the client-side crypto and API layer), and its browser tests
(Playwright in Debian's headless Chromium, web/e2e/*.spec.ts) against the stack under test, which
serves web/dist at / (the native stack, started by the `gateway_url` fixture when it is not running).
Screenshots of the main screens land in web/screenshots/.

Each step runs as a subprocess with a bound on its time; a failure shows the tool's own report.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
BUILD_TIMEOUT_S = 600
UNIT_TIMEOUT_S = 600
# Every spec, each registering people (proof of work) and waiting on events: bounded, generously.
BROWSER_TIMEOUT_S = int(os.environ.get("BEYOU_E2E_TIMEOUT", "2400"))
REPORT_LINES = 120


def run(argv: list[str], *, timeout: int, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run in web/ with stdout and stderr together; a timeout fails the test with what was printed so far."""
    try:
        return subprocess.run(argv, cwd=WEB, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout if isinstance(expired.stdout, str) else (expired.stdout or b"").decode(errors="replace")
        pytest.fail(f"{shlex.join(argv)} did not finish within {timeout} s; its output so far:\n{tail(output)}")


def tail(output: str, lines: int = REPORT_LINES) -> str:
    kept = output.splitlines()[-lines:]
    return "\n".join(kept)


@pytest.fixture(scope="module")
def web_build() -> Path:
    """web/dist, built now if missing or older than the sources (deploy/dev/web.sh --if-stale)."""
    if not shutil.which("node") or not shutil.which("npx"):
        pytest.fail("Node.js is not installed: the web client cannot be built or tested (see deploy/dev/web.sh)")
    built = run([str(ROOT / "deploy" / "dev" / "web.sh"), "--if-stale"], timeout=BUILD_TIMEOUT_S)
    if built.returncode != 0:
        pytest.fail(f"the web client's build failed (deploy/dev/web.sh):\n{tail(built.stdout)}")
    return WEB / "dist"


def test_the_web_clients_unit_tests_pass(web_build):
    result = run(["npx", "vitest", "run", "--reporter=default"], timeout=UNIT_TIMEOUT_S,
                 env={**os.environ, "CI": "1", "NO_COLOR": "1"})

    assert result.returncode == 0, f"Vitest failed:\n{tail(result.stdout)}"


def browser_test_env(gateway_url: str, staff_command: list[str] | None) -> dict[str, str]:
    """What the Playwright fixtures need (web/e2e/support/README.md)."""
    env = {**os.environ, "BEYOU_WEB_URL": gateway_url, "CI": "1", "NO_COLOR": "1"}
    if staff_command:  # another stack (--gateway-url): its operator's create-staff
        env["BEYOU_STAFF_COMMAND"] = shlex.join(staff_command)
    return env


def test_the_browser_tests_pass_in_headless_chromium(web_build, gateway_url, staff_command):
    chromium = os.environ.get("BEYOU_CHROMIUM", "/usr/bin/chromium")
    assert os.access(chromium, os.X_OK), (
        f"no Chromium at {chromium}: `apt-get install chromium` (deploy/dev/test.sh does it as root)")

    # BEYOU_E2E_ARGS narrows the run (e.g. "e2e/smoke.spec.ts" or "-g session"); by default every spec.
    extra = shlex.split(os.environ.get("BEYOU_E2E_ARGS", ""))
    result = run(["npx", "playwright", "test", *extra], timeout=BROWSER_TIMEOUT_S,
                 env=browser_test_env(gateway_url, staff_command))

    assert result.returncode == 0, (
        f"browser tests failed (traces in web/test-results/, `npx playwright show-report`):\n{tail(result.stdout)}")
