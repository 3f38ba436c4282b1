#!/usr/bin/env bash
# `make up`: the whole system in containers, gateway on http://localhost:$BEYOU_HTTP_PORT.
#
#   OFFLINE=1            build the base images from Debian packages first and use
#                        them (no container registry needed)
#   BEYOU_HTTP_PORT      published gateway port (8080)
#   BEYOU_READY_TIMEOUT  seconds to wait for every service to be ready (240)
#   COMPOSE_PROJECT_NAME stack name (beyou)
#
# Installs docker and compose if missing, starts the engine if it is not running,
# creates .env with random passwords on first run, builds the web client on the
# host when web/dist is missing or stale (deploy/dev/web.sh: Node.js 20.19+; with
# OFFLINE=1 npm installs from its cache), builds the images (the gateway's carries
# web/dist), starts, and returns once every /api/<service>/readyz answers 200
# through the gateway.
set -Eeuo pipefail
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/offline/images.sh
source "$ROOT/deploy/offline/images.sh"

start=$SECONDS
ensure_docker_installed
ensure_docker_running
ensure_env_file

if [[ ${OFFLINE:-0} == 1 ]]; then
    "$ROOT/deploy/offline/build-base-images.sh"
    use_offline_images
fi

# The gateway image copies web/dist (gateway/Dockerfile): build the app here, where Node is.
log "building the web client (web/dist) if it is stale ..."
"$ROOT/deploy/dev/web.sh" --if-stale || die "the web client did not build (output above); the gateway image needs web/dist"

log "building and starting $COMPOSE_PROJECT_NAME ..."
if ! compose up -d --build --remove-orphans; then
    show_diagnostics
    if [[ $(compose logs --no-color 2>/dev/null) == *"password authentication failed"* ]]; then
        log "hint: the database volume was initialised with passwords other than this .env's
  (another checkout's .env?); see deploy/compose/down.sh --volumes or COMPOSE_PROJECT_NAME"
    fi
    [[ ${OFFLINE:-0} == 1 ]] || log "hint: no registry reachable? \`make up OFFLINE=1\` builds the base images locally"
    die "compose up failed (state and recent logs above)"
fi

# An API container re-created by this run may have a new address: the gateway looks the
# services' names up again each second (gateway/upstreams.compose.conf), no reload needed.
log "waiting for every service to be ready through the gateway ..."
wait_until_ready "${BEYOU_READY_TIMEOUT:-240}" || die "the stack did not become ready"
log "up in $((SECONDS - start))s: http://127.0.0.1:$BEYOU_HTTP_PORT (make down to stop)"
