#!/usr/bin/env bash
# Every test in one pytest run (`make test`), against real PostgreSQL, RabbitMQ
# and Nginx: servicekit's, each service's, and the cross-service suite in tests/
# (whose conftest starts the native stack when it is not running), which also
# runs the web client's unit tests and browser tests (tests/test_web.py: headless
# Chromium from Debian, installed here when missing). Extra arguments go to
# pytest, e.g. deploy/dev/test.sh -k gateway -x.
# pytest's own exit code is the result, so "no tests collected" (5) fails too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

# The browser tests' Chromium: Debian's (Playwright never downloads one), with fonts for legible
# screenshots. BEYOU_CHROMIUM names another binary.
ensure_chromium() {
    [[ -x ${BEYOU_CHROMIUM:-/usr/bin/chromium} ]] && return 0
    if is_root; then
        apt_install chromium fonts-liberation fonts-dejavu-core
    else
        warn "no Chromium at ${BEYOU_CHROMIUM:-/usr/bin/chromium} and not root to apt-get install chromium: the browser tests will fail"
    fi
}

"$ROOT/deploy/dev/infra.sh"
"$ROOT/deploy/dev/python.sh"
ensure_chromium
ensure_node  # tests/test_web.py runs npx (Vitest, Playwright) with this PATH
# shellcheck disable=SC1091
. "$ENVDIR/test.env"

# What to collect and how (importlib mode, the test paths) is in pytest.ini.
exec "$VENV/bin/pytest" "$@"
