#!/usr/bin/env bash
# `make deploy SERVICE=<name>`: roll out a new version of one service while the rest of
# the compose stack keeps serving, without failing requests at the gateway (measured by
# `make test-rollout`; a client keep-alive connection idle at the instant nginx reloads
# can still be reset: see README "Tests").
#
#   deploy/compose/deploy.sh <service>        (auth, social, messaging, ledger, marketplace)
#
#   OFFLINE=1              build on the offline base images (as `make up OFFLINE=1` did)
#   COMPOSE_PROJECT_NAME   the stack (beyou); BEYOU_TAG the image tag (latest)
#   BEYOU_DEPLOY_TIMEOUT   seconds a new container has to become healthy (180)
#
# In order:
#   1. build the service's image from the working tree;
#   2. run its migrations (<svc>-migrate) while the old version still serves: they must be
#      backwards compatible for one version (expand now, contract in a later release; README);
#   3. for each of its API containers (messaging: also messaging-stream): start the new one
#      beside the old (compose --scale 2 --no-recreate), wait until docker finds it healthy
#      (its /readyz), point the gateway's upstream at it and reload nginx (new nginx workers
#      send every new request to the new container; the old workers finish theirs), then stop
#      the old container: SIGTERM, gunicorn finishes its in-flight requests (graceful_timeout 20);
#   4. replace its worker (events wait in the outbox and the queue meanwhile) and wait until
#      its health check passes.
# A new container that does not become healthy is removed again and the old one keeps serving.
#
# The gateway's upstreams are rewritten inside its container (/etc/nginx/upstreams.conf, one
# line per upstream, gateway/upstreams.compose.conf): they name the new container, which
# nginx resolves at the reload. A gateway re-created later starts from the image's file,
# whose service names then resolve to the one container left.
set -Eeuo pipefail
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/offline/images.sh
source "$ROOT/deploy/offline/images.sh"

service=${1:-}
[[ " ${SERVICES[*]} " == *" $service "* ]] || { echo "usage: $0 <${SERVICES[*]// /|}>" >&2; exit 2; }
[[ ${OFFLINE:-0} == 1 ]] && use_offline_images
timeout=${BEYOU_DEPLOY_TIMEOUT:-180}
UPSTREAMS=/etc/nginx/upstreams.conf
NGINX=(nginx -p /var/lib/beyou-gateway -c /etc/nginx/nginx.conf)

# The API containers of a service; messaging's stream process is deployed with it.
apis_of() {
    if [[ $1 == messaging ]]; then echo messaging messaging-stream; else echo "$1"; fi
}

# The compose container ids of service $1, one per line.
containers_of() { compose ps -q "$1"; }

# Docker's health status of container $1 (healthy, unhealthy, starting; exited when it stopped).
health_of() {
    docker inspect --format '{{if .State.Running}}{{.State.Health.Status}}{{else}}exited{{end}}' "$1"
}

# Wait until container $1 is healthy; fail at once when it stops or turns unhealthy.
wait_healthy() {
    local container=$1 deadline=$((SECONDS + timeout)) status
    while true; do
        status=$(health_of "$container")
        case $status in
            healthy) return 0 ;;
            unhealthy|exited) log "$(container_name "$container") is $status"; return 1 ;;
        esac
        (( SECONDS < deadline )) || { log "$(container_name "$container") not healthy after ${timeout}s"; return 1; }
        sleep 1
    done
}

container_name() { docker inspect --format '{{.Name}}' "$1" | sed 's|^/||'; }

gateway_container() {
    local id
    id=$(containers_of gateway)
    [[ -n $id && $(health_of "$id") != exited ]] || die "the gateway of stack '$COMPOSE_PROJECT_NAME' is not running (make up first)"
    echo "$id"
}

# The pids of the gateway's nginx workers that accept new connections (an old worker
# renames itself "nginx: worker process is shutting down" when a reload retires it).
serving_nginx_workers() {
    # shellcheck disable=SC2016  # expanded by the container's bash
    docker exec "$1" bash -c 'for p in /proc/[0-9]*; do
        title=$(tr "\0" " " <"$p/cmdline" 2>/dev/null) || continue
        [[ $title == "nginx: worker process"* && $title != *"shutting down"* ]] && echo "${p#/proc/}"
    done; true'
}

# Point upstream $2 of gateway container $1 at container $3 and reload nginx; return once
# every nginx worker that accepts connections has the new configuration.
shift_gateway() {
    local gateway=$1 upstream=$2 target=$3 current updated before pid
    current=$(docker exec "$gateway" cat "$UPSTREAMS")
    updated=$(sed -E "s/^(upstream[[:space:]]+${upstream}[[:space:]]+\{[[:space:]]*server[[:space:]]+)[^;[:space:]]+/\1$target:8000/" <<<"$current")
    [[ $updated != "$current" ]] || grep -Eq "^upstream[[:space:]]+${upstream}[[:space:]]+\{[[:space:]]*server[[:space:]]+$target:8000[;[:space:]]" <<<"$current" \
        || die "no line 'upstream $upstream { server ...; }' in the gateway's $UPSTREAMS"
    docker exec -i -u 0 "$gateway" sh -c "cp $UPSTREAMS $UPSTREAMS.previous && cat >$UPSTREAMS" <<<"$updated"
    if ! docker exec "$gateway" "${NGINX[@]}" -t -q; then
        docker exec -u 0 "$gateway" cp "$UPSTREAMS.previous" "$UPSTREAMS"
        die "the gateway refused the new upstream $upstream -> $target:8000 (configuration restored)"
    fi
    before=$(serving_nginx_workers "$gateway")
    docker kill -s HUP "$gateway" >/dev/null
    local deadline=$((SECONDS + 30))
    while true; do
        local retired=1 serving
        serving=$(serving_nginx_workers "$gateway")
        for pid in $before; do
            grep -qx "$pid" <<<"$serving" && retired=0
        done
        (( retired && $(wc -w <<<"$serving") > 0 )) && return 0
        (( SECONDS < deadline )) || die "the gateway did not reload within 30s"
        sleep 0.2
    done
}

roll_api() {
    local api=$1 upstream=${1//-/_} gateway=$2 old new count
    mapfile -t old < <(containers_of "$api")
    count=${#old[@]}
    (( count > 0 )) || die "$api has no container in stack '$COMPOSE_PROJECT_NAME' (make up first)"
    log "$api: starting the new version beside $count running ..."
    compose up -d --no-deps --no-recreate --scale "$api=$((count + 1))" "$api"
    new=$(containers_of "$api" | grep -vxF -f <(printf '%s\n' "${old[@]}") | head -n1) || true
    [[ -n $new ]] || die "$api: compose started no new container"
    local name
    name=$(container_name "$new")
    if ! wait_healthy "$new"; then
        docker logs --tail 30 "$new" >&2 || true
        docker rm -f "$new" >/dev/null
        die "$api: the new version did not become healthy; removed it, the old one keeps serving"
    fi
    log "$api: $name is ready; shifting the gateway to it ..."
    shift_gateway "$gateway" "$upstream" "$name"
    log "$api: retiring the old version (SIGTERM: in-flight requests finish) ..."
    # stop_grace_period of the APIs (docker-compose.yml) is the drain bound.
    docker stop --time "$(stop_grace_of "$api")" "${old[@]}" >/dev/null
    docker rm "${old[@]}" >/dev/null
}

# The stop grace period compose gives service $1, in seconds.
stop_grace_of() {
    local id
    id=$(containers_of "$1" | head -n1)
    # compose writes it as the container's StopTimeout.
    docker inspect --format '{{or .Config.StopTimeout 10}}' "$id"
}

start=$SECONDS
gateway=$(gateway_container)

log "$service: building the image ..."
compose build "$service-migrate"
log "$service: migrating (the running version must work with the new schema) ..."
compose run --rm --no-deps "$service-migrate"

for api in $(apis_of "$service"); do
    roll_api "$api" "$gateway"
done

log "$service-worker: replacing it (events wait in the outbox and the queue meanwhile) ..."
compose up -d --no-deps --force-recreate "$service-worker"
wait_healthy "$(containers_of "$service-worker")" || die "$service-worker did not become healthy"
log "$service deployed in $((SECONDS - start))s"
