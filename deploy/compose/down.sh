#!/usr/bin/env bash
# `make down`: stop and remove the stack's containers and network. The data
# volumes stay unless --volumes is given. The docker engine keeps running
# (other stacks may use it).
#
#   deploy/compose/down.sh [--volumes]
set -Eeuo pipefail
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

args=(--remove-orphans)
case "${1:-}" in
    --volumes|-v) args+=(--volumes) ;;
    "") ;;
    *) echo "usage: $0 [--volumes]" >&2; exit 2 ;;
esac

if ! docker info >/dev/null 2>&1; then
    log "docker engine not running: nothing to stop"
    exit 0
fi
# .env may be missing (fresh checkout); compose still needs the variables to parse the file.
[[ -f $ROOT/.env ]] || for var in "${ENV_SECRETS[@]}"; do export "$var=unused"; done
# With the monitoring profile named, its Prometheus (if it was started) goes too.
compose --profile monitoring down "${args[@]}"
