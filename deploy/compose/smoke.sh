#!/usr/bin/env bash
# `make test-compose`: the compose stack, built from offline base images, comes
# up and every service answers through the gateway; then it is removed again,
# volumes included, whatever happened.
#
# Its own project name and port (beyou-smoke, 18080) and image tag, so it never
# touches a stack started with `make up` or the native one on 8080.
set -Eeuo pipefail

export OFFLINE=1
export COMPOSE_PROJECT_NAME=beyou-smoke
export BEYOU_HTTP_PORT=${BEYOU_SMOKE_PORT:-18080}
export BEYOU_TAG=smoke
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/offline/images.sh
source "$ROOT/deploy/offline/images.sh"

passed=0
failed=0
check() {   # check "what" command...
    local what=$1; shift
    if "$@"; then
        passed=$((passed + 1)); printf 'ok    %s\n' "$what"
    else
        failed=$((failed + 1)); printf 'FAIL  %s\n' "$what"
    fi
}

teardown() {
    local status=$?
    (( status == 0 || failed > 0 )) || failed=1   # aborted outside a check
    log "removing the smoke stack ..."
    "$ROOT/deploy/compose/down.sh" --volumes >/dev/null 2>&1 || true
    echo "compose-smoke: $passed passed, $failed failed"
    (( failed == 0 )) || exit 1
}
trap teardown EXIT

base=http://127.0.0.1:$BEYOU_HTTP_PORT
start=$SECONDS

stack_up() {
    # Leftovers of an interrupted run would hold volumes made with other passwords.
    "$ROOT/deploy/compose/down.sh" --volumes >/dev/null 2>&1 || true
    "$ROOT/deploy/compose/up.sh"
}

# The OpenAPI document is JSON with an `openapi` version.
serves_openapi() {
    curl -fsS --max-time 10 "$base/api/$1/openapi.json" |
        python3 -c 'import json, sys; sys.exit(0 if "openapi" in json.load(sys.stdin) else 1)'
}

is_ready() { curl -fsS -o /dev/null --max-time 10 "$base/api/$1/readyz"; }

# DESIGN.md: no service role can open another service's database.
cannot_open_other_database() {
    local out
    # shellcheck disable=SC2016  # expanded by the container's shell
    out=$(compose exec -T postgres sh -c \
        'PGPASSWORD="$AUTH_DB_PASSWORD" psql -h 127.0.0.1 -U auth -d social -c "select 1"' 2>&1) || true
    [[ $out == *"permission denied for database"* ]]
}

check "stack up (OFFLINE=1, port $BEYOU_HTTP_PORT)" stack_up
if (( failed == 0 )); then
    for svc in "${SERVICES[@]}"; do
        check "$svc readyz through the gateway" is_ready "$svc"
        check "$svc openapi.json through the gateway" serves_openapi "$svc"
    done
    check "role auth cannot connect to database social" cannot_open_other_database
fi
log "smoke checks done in $((SECONDS - start))s"
