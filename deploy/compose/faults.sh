#!/usr/bin/env bash
# `make test-faults`: nothing lost, nothing doubled. The compose stack, built from
# offline base images, comes up; deploy/compose/faults.py drives a steady message
# load through the gateway and meanwhile restarts RabbitMQ, kills the ledger
# worker with SIGKILL, restarts PostgreSQL and kills messaging's API with SIGKILL
# (compose's restart policy brings a killed process back, as in production). Once
# the system has settled, every accepted message must be in the ledger exactly
# once, every recipient's notification must count it once, no event may sit in a
# dead-letter queue or unsent in an outbox, and the ledger audit must be clean.
# Then the stack is removed again, volumes included, whatever happened.
#
# Its own project name, port and image tag (beyou-faults, 18081, faults), so it
# never touches a stack started with `make up`, the smoke test's or the native one.
#
#   BEYOU_FAULTS_PORT   published gateway port (18081)
#   arguments           passed to faults.py (e.g. --pairs 4 --rate 2; see --help)
set -Eeuo pipefail

export OFFLINE=1
export COMPOSE_PROJECT_NAME=beyou-faults
export BEYOU_HTTP_PORT=${BEYOU_FAULTS_PORT:-18081}
export BEYOU_TAG=faults
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/offline/images.sh
source "$ROOT/deploy/offline/images.sh"
# faults.py runs compose commands of its own (through lib.sh's `compose`): the same images.
use_offline_images

start=$SECONDS
teardown() {
    local status=$?
    if (( status != 0 )) && docker info >/dev/null 2>&1; then
        mkdir -p "$ROOT/.dev/logs"
        compose logs --no-color --timestamps >"$ROOT/.dev/logs/faults-compose.log" 2>&1 || true
        log "the stack's logs are in .dev/logs/faults-compose.log"
    fi
    log "removing the fault-test stack ..."
    "$ROOT/deploy/compose/down.sh" --volumes >/dev/null 2>&1 || true
    log "fault test done in $((SECONDS - start))s"
    exit "$status"
}
trap teardown EXIT

# The load generator's Python (requests, servicekit's gateway client) is the project's .venv.
"$ROOT/deploy/dev/python.sh"
# Leftovers of an interrupted run would hold volumes made with other passwords.
"$ROOT/deploy/compose/down.sh" --volumes >/dev/null 2>&1 || true
"$ROOT/deploy/compose/up.sh"
"$ROOT/.venv/bin/python" "$ROOT/deploy/compose/faults.py" --gateway "http://127.0.0.1:$BEYOU_HTTP_PORT" "$@"
