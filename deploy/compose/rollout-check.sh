#!/usr/bin/env bash
# `make test-rollout`: what a rollout costs under load. The compose stack, built from offline
# base images, comes up; deploy/compose/rollout-check.py drives steady reads and writes of auth
# through the gateway while, first, `compose restart auth` runs (the baseline), then
# `deploy/compose/deploy.sh auth` (make deploy SERVICE=auth); it prints the failed requests of
# both and fails when the rollout failed any. Then the stack is removed again, volumes included,
# whatever happened.
#
# Its own project name, port and image tag (beyou-rollout, 18093, rollout), so it never
# touches a stack started with `make up`, the other tests' or the native one.
#
#   BEYOU_ROLLOUT_PORT  published gateway port (18093)
#   arguments           passed to rollout-check.py (e.g. --rate 50, --skip-baseline; see --help)
set -Eeuo pipefail

export OFFLINE=1
export COMPOSE_PROJECT_NAME=beyou-rollout
export BEYOU_HTTP_PORT=${BEYOU_ROLLOUT_PORT:-18093}
export BEYOU_TAG=rollout
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start=$SECONDS
teardown() {
    local status=$?
    if (( status != 0 )) && docker info >/dev/null 2>&1; then
        mkdir -p "$ROOT/.dev/logs"
        compose logs --no-color --timestamps >"$ROOT/.dev/logs/rollout-compose.log" 2>&1 || true
        log "the stack's logs are in .dev/logs/rollout-compose.log"
    fi
    log "removing the rollout stack ..."
    "$ROOT/deploy/compose/down.sh" --volumes >/dev/null 2>&1 || true
    log "rollout check done in $((SECONDS - start))s"
    exit "$status"
}
trap teardown EXIT

# The load generator's Python (requests, servicekit's gateway client) is the project's .venv.
"$ROOT/deploy/dev/python.sh"
# Leftovers of an interrupted run would hold volumes made with other passwords.
"$ROOT/deploy/compose/down.sh" --volumes >/dev/null 2>&1 || true
"$ROOT/deploy/compose/up.sh"
"$ROOT/.venv/bin/python" "$ROOT/deploy/compose/rollout-check.py" --gateway "http://127.0.0.1:$BEYOU_HTTP_PORT" "$@"
