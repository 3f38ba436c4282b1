#!/usr/bin/env bash
# `make test-backup`: a backup restores into a fresh stack. The compose stack, built from offline
# base images, comes up; deploy/compose/backup-test.py makes data through the gateway (two users,
# a message the ledger recorded, an identity document); deploy/compose/backup.sh backs the stack
# up; the stack is removed with its volumes and a fresh one comes up; deploy/compose/restore.sh
# restores the backup into it; backup-test.py then finds the data (both users log in, the message
# is there and in the ledger, the document reads back, the ledger's full audit is clean).
# The stack and the backup are removed again, whatever happened.
#
# Its own project name, port and image tag (beyou-backup, 18094, backup), so it never touches a
# stack started with `make up`, the other tests' or the native one.
#
#   BEYOU_BACKUP_TEST_PORT  published gateway port (18094)
set -Eeuo pipefail

export OFFLINE=1
export COMPOSE_PROJECT_NAME=beyou-backup
export BEYOU_HTTP_PORT=${BEYOU_BACKUP_TEST_PORT:-18094}
export BEYOU_TAG=backup
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

work=$(mktemp -d)
export BEYOU_BACKUP_DIR=$work/backups
start=$SECONDS
teardown() {
    local status=$?
    if (( status != 0 )) && docker info >/dev/null 2>&1; then
        mkdir -p "$ROOT/.dev/logs"
        compose logs --no-color --timestamps >"$ROOT/.dev/logs/backup-compose.log" 2>&1 || true
        log "the stack's logs are in .dev/logs/backup-compose.log"
    fi
    log "removing the backup-test stack ..."
    "$ROOT/deploy/compose/down.sh" --volumes >/dev/null 2>&1 || true
    rm -rf "$work"
    (( status == 0 )) && echo "backup-test: ok" || echo "backup-test: FAIL"
    log "backup test done in $((SECONDS - start))s"
    exit "$status"
}
trap teardown EXIT

data() { "$ROOT/.venv/bin/python" "$ROOT/deploy/compose/backup-test.py" "$1" \
             --gateway "http://127.0.0.1:$BEYOU_HTTP_PORT" --state "$work/state.json"; }

# The data maker's Python (requests, servicekit's gateway client) is the project's .venv.
"$ROOT/deploy/dev/python.sh"
# Leftovers of an interrupted run would hold volumes made with other passwords.
"$ROOT/deploy/compose/down.sh" --volumes >/dev/null 2>&1 || true
"$ROOT/deploy/compose/up.sh"
data make
backup=$("$ROOT/deploy/compose/backup.sh")

log "removing the stack with its volumes, and bringing up a fresh one ..."
"$ROOT/deploy/compose/down.sh" --volumes
"$ROOT/deploy/compose/up.sh"
"$ROOT/deploy/compose/restore.sh" "$backup"
data check
