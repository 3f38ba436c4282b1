#!/usr/bin/env bash
# Benchmarks (`make bench`): every bench/*.py script, run with the project's
# python and the test environment (.dev/env/test.env: database admin URL, broker
# URL, gateway URL), except modules whose name starts with "_" (bench/_loadgen.py):
# those are code the scripts share, not benchmarks. Each script prints its own
# figures. Fails if a script fails or if there is none. Scripts that go through the
# gateway need the native stack: it is started if it is not running, and then
# stopped again (apps only).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/deploy/dev/infra.sh"
"$ROOT/deploy/dev/python.sh"
# shellcheck disable=SC1091
. "$ENVDIR/test.env"

shopt -s nullglob
scripts=(bench/[!_]*.py)
[[ ${#scripts[@]} -gt 0 ]] || die "no benchmark scripts in bench/"

started_stack=0
if ! live_pid "$RUN/honcho.pid" >/dev/null; then
    "$ROOT/deploy/dev/up.sh"
    started_stack=1
fi
stop_stack() { [[ $started_stack -eq 0 ]] || "$ROOT/deploy/dev/down.sh" --apps-only; }
trap stop_stack EXIT

failed=()
for script in "${scripts[@]}"; do
    say "bench: $script"
    "$VENV/bin/python" "$script" || failed+=("$script")
done
[[ ${#failed[@]} -eq 0 ]] || die "failed: ${failed[*]}"
