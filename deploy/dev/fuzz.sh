#!/usr/bin/env bash
# API fuzzing (`make test-api`): schemathesis against every service's OpenAPI document through the gateway
# of the native stack, once anonymous and once signed in, checking every answer: no 5xx, a status the
# operation documents itself, the documented content type, body and headers.
#
#   deploy/dev/fuzz.sh [SERVICE...]          the bounded run (CI): the documents' examples, the coverage
#                                            phase (boundary and invalid values of every parameter) and
#                                            12 fuzzed cases per operation, the same cases every run
#                                            (deterministic); about 5 minutes for all five services
#   deploy/dev/fuzz.sh --long [SERVICE...]   each run fuzzes, stateful sequences included, for
#                                            FUZZ_LONG_SECONDS (default 120, at most 780), with a new seed
#                                            (in the log, for `st run --seed`)
#
# Signed in means a user (registered through the gateway with the proof of work solved, then verified by
# staff) on every operation that takes a token, and a staff member (`flask --app auth create-staff`) on the
# staff operations (`/admin/`): tests/fuzz/tokens.py makes them and refreshes their tokens before each run
# (access tokens live 15 minutes, hence the limit on FUZZ_LONG_SECONDS). Operations that end the caller's
# session are tried anonymous only (SESSION_ENDING below).
#
# The gateway limits requests per client address: each run leaves from its own loopback address, paced
# under the general limit; the sign-in, registration and password-reset paths (20 a minute per address)
# get a fresh address per request so that auth, not the gateway's 429, answers (tests/fuzz/hooks.py).
# schemathesis runs in its own venv (.dev/fuzz-venv, Python 3.12 from pyenv, or FUZZ_PYTHON; pinned by
# constraints-fuzz.txt), made here when missing. Settings: tests/fuzz/schemathesis.toml. The native stack is
# started if it is not running, and then stopped again (apps only).
#
# Output: a summary line per run; each run's log and JSON report in .dev/fuzz/ (<service>-<identity>.log,
# .json); failing cases are kept in .dev/fuzz/cache, replayed first by the next run, and reproducible with
# the curl command in the log. Exits non-zero if any run fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

FUZZ_VENV="$DEV/fuzz-venv"
OUT="$DEV/fuzz"
# Operations that end the caller's session when given its own ids (schemathesis reuses ids it saw in answers,
# such as the session's own from GET /sessions): tried anonymous only.
SESSION_ENDING=("POST /api/auth/logout" "DELETE /api/auth/sessions/{session_id}")
LONG_SECONDS="${FUZZ_LONG_SECONDS:-120}"

long=0
services=()
for arg in "$@"; do
    case "$arg" in
        --long) long=1 ;;
        auth | social | messaging | ledger | marketplace) services+=("$arg") ;;
        *) die "usage: $0 [--long] [${SERVICES[*]}]..." ;;
    esac
done
[[ ${#services[@]} -gt 0 ]] || services=("${SERVICES[@]}")
if ! [[ $LONG_SECONDS =~ ^[0-9]+$ ]] || (( LONG_SECONDS < 1 || LONG_SECONDS > 780 )); then
    die "FUZZ_LONG_SECONDS must be 1..780 (an access token lives 900 s, and is refreshed between runs)"
fi

# Python 3.12: schemathesis 4.32's coverage phase crashed on this machine's 3.11.7 (SystemError: AST
# constructor recursion depth mismatch).
fuzz_python() {
    local candidate root
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    for candidate in "${FUZZ_PYTHON:-}" "$root"/versions/3.12*/bin/python3.12 "$(command -v python3.12 || true)"; do
        [[ -n $candidate ]] && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 12))' \
            2>/dev/null && { echo "$candidate"; return 0; }
    done
    return 1
}

ensure_fuzz_venv() {
    local stamp="$FUZZ_VENV/.beyou-deps.sha256" want python
    want="$(sha256sum constraints-fuzz.txt | cut -d' ' -f1)"
    if [[ -x $FUZZ_VENV/bin/st && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
        return
    fi
    python="$(fuzz_python)" || die "no Python 3.12 (pyenv's versions/3.12*, python3.12 on PATH, or FUZZ_PYTHON)"
    say "creating $FUZZ_VENV (schemathesis on $("$python" -V))"
    "$python" -m venv --clear "$FUZZ_VENV"
    "$FUZZ_VENV/bin/pip" install --disable-pip-version-check -qq -c constraints-fuzz.txt schemathesis
    echo "$want" >"$stamp"
}

"$ROOT/deploy/dev/infra.sh"
"$ROOT/deploy/dev/python.sh"
ensure_fuzz_venv

started_stack=0
if ! live_pid "$RUN/honcho.pid" >/dev/null; then
    "$ROOT/deploy/dev/up.sh"
    started_stack=1
fi
mkdir -p "$OUT"
STATE="$(mktemp -d "$OUT/identities.XXXXXX")"   # the identities' tokens: secrets, removed at exit
cleanup() {
    rm -rf "$STATE"
    [[ $started_stack -eq 0 ]] || "$ROOT/deploy/dev/down.sh" --apps-only
}
trap cleanup EXIT

# Loopback addresses of this run (servicekit's gateway fixtures take theirs from 127.16-249.x.x, bench/ from
# 127.0.x.x): .0.1 for the identities, .0.<10+n> for run n, and one per request to a throttled path from
# .128.0 on.
NET="127.$((250 + RANDOM % 5))"
tokens() { FUZZ_SOURCE_ADDRESS="$NET.0.1" "$VENV/bin/python" tests/fuzz/tokens.py "$@"; }

say "signing up the fuzzer's user (proof of work, verified by staff) and staff member"
tokens sign-up "$STATE/identities.json"

if [[ $long -eq 1 ]]; then
    kind="long, ${LONG_SECONDS}s a run"
    # Every phase, stateful sequences (an id an answer gave, into the next call) included.
    mode=(--max-time "$LONG_SECONDS" --max-examples 50)
    run_timeout=$((LONG_SECONDS + 300))
else
    kind=bounded
    mode=(--phases "examples,coverage,fuzzing" --generation-deterministic)
    run_timeout=480
fi

reports=()
failed=0
run=0
fuzz() {
    local service=$1 identity=$2 name="$1-$2" rc=0
    local args=(--config-file tests/fuzz/schemathesis.toml --no-color run "$GATEWAY_URL/api/$service/openapi.json"
                "${mode[@]}" --report json --report-json-path "$OUT/$name.json")
    local env=(FUZZ_SOURCE_ADDRESS="$NET.0.$((10 + run))" FUZZ_THROTTLED_NETWORK="$NET.128.0/17")
    run=$((run + 1))
    if [[ $identity == signed-in ]]; then
        local operation
        for operation in "${SESSION_ENDING[@]}"; do
            [[ $operation == *" /api/$service/"* ]] && args+=(--exclude-name "$operation")
        done
        local pair
        pair="$(tokens refresh "$STATE/identities.json")"
        mapfile -t -O "${#env[@]}" env <<<"$pair"
    fi
    say "fuzzing $service ($identity)"
    rm -f "$OUT/$name.json"
    env "${env[@]}" timeout "$run_timeout" "$FUZZ_VENV/bin/st" "${args[@]}" >"$OUT/$name.log" 2>&1 || rc=$?
    reports+=("$OUT/$name.json")
    # The identities must have lasted the run: after a call that ended their session (a 401 here), nothing
    # was tried signed in; add that operation to SESSION_ENDING. New ones for the next run; this one fails.
    local refused
    if [[ $identity == signed-in ]] && ! refused="$(tokens refresh "$STATE/identities.json" 2>&1 >/dev/null)"; then
        rc=1
        warn "$name: the identities' tokens could not be refreshed after the run: $refused"
        tokens sign-up "$STATE/identities.json"
    fi
    if [[ $rc -ne 0 ]]; then
        failed=1
        (( rc == 124 )) && warn "$name: stopped after ${run_timeout}s"
        # What failed and how to reproduce it (the log has the rest).
        sed -n '/^=* FAILURES =*$/,/^=* \(WARNINGS\|SUMMARY\) =*$/p' "$OUT/$name.log" >&2
        warn "$name failed (log: .dev/fuzz/$name.log)"
    fi
}

started=$SECONDS
for service in "${services[@]}"; do
    fuzz "$service" anonymous
    fuzz "$service" signed-in
done
say "schemathesis through $GATEWAY_URL ($kind): $((SECONDS - started))s"
"$FUZZ_VENV/bin/python" tests/fuzz/summary.py "${reports[@]}"
[[ $failed -eq 0 ]] || die "the API does not answer as documented (see above)"
