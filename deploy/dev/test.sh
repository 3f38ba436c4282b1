#!/usr/bin/env bash
# Every test in one pytest run (`make test`), against real PostgreSQL, RabbitMQ
# and Nginx: servicekit's, each service's, and the cross-service suite in tests/
# (whose conftest starts the native stack when it is not running). Extra
# arguments go to pytest, e.g. deploy/dev/test.sh -k gateway -x.
# pytest's own exit code is the result, so "no tests collected" (5) fails too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/deploy/dev/infra.sh"
"$ROOT/deploy/dev/python.sh"
# shellcheck disable=SC1091
. "$ENVDIR/test.env"

# What to collect and how (importlib mode, the test paths) is in pytest.ini.
exec "$VENV/bin/pytest" "$@"
