#!/usr/bin/env bash
# `make deploy SERVICE=<name>`: roll out a new version of one service while the rest of
# the compose stack keeps serving, without failing requests at the gateway (measured by
# `make test-rollout`).
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
#      beside the old (compose --scale 2 --no-recreate) and wait until docker finds it healthy
#      (its /readyz). The gateway finds it by itself: it resolves the service's name through
#      docker's DNS, which now answers both containers, at most a second old
#      (gateway/upstreams.compose.conf), so nginx is never reloaded. Then the old container
#      refuses new connections (nginx passes those requests to the new one) and is stopped:
#      SIGTERM, gunicorn finishes its in-flight requests (graceful_timeout 20);
#   4. replace its worker (events wait in the outbox and the queue meanwhile) and wait until
#      its health check passes.
# A new container that does not become healthy is removed again and the old one keeps serving.
# Needs root on the docker host (nsenter, iptables: the fence of step 3).
set -Eeuo pipefail
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/offline/images.sh
source "$ROOT/deploy/offline/images.sh"

service=${1:-}
[[ " ${SERVICES[*]} " == *" $service "* ]] || { echo "usage: $0 <${SERVICES[*]// /|}>" >&2; exit 2; }
[[ ${OFFLINE:-0} == 1 ]] && use_offline_images
timeout=${BEYOU_DEPLOY_TIMEOUT:-180}

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

# The addresses gateway container $1 resolves compose service $2 to, one per line (docker's DNS,
# as nginx's resolver asks it).
resolved_by_gateway() {
    docker exec "$1" getent ahostsv4 "$2" | awk '{print $1}' | sort -u
}

# Container $1's address on the stack's network.
address_of() {
    docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{print $1}'
}

# Wait until gateway container $1 resolves service $2 to container $3's address too, then for
# nginx's cached answer to expire (resolver valid=1s, gateway/upstreams.compose.conf).
wait_resolved() {
    local gateway=$1 name=$2 address deadline=$((SECONDS + 30))
    address=$(address_of "$3")
    until resolved_by_gateway "$gateway" "$name" | grep -qxF "$address"; do
        (( SECONDS < deadline )) || die "the gateway does not resolve $name to the new container ($address) after 30s"
        sleep 0.2
    done
    sleep 2
}

# Refuse new connections to container $1's port 8000 (a TCP reset at once, in its own network
# namespace; established connections untouched). nginx then passes each request it was about to
# send there on to the next address (proxy_next_upstream error: it was never sent, so also a
# POST), while the container finishes what it has. Without this, connections made in the moment
# between gunicorn closing its listener and its last worker exiting wait in the kernel's accept
# queue and are reset with the request already sent: failed requests.
fence() {
    local pid
    pid=$(docker inspect --format '{{.State.Pid}}' "$1")
    nsenter -t "$pid" -n iptables -w -I INPUT -p tcp --dport 8000 --syn -j REJECT --reject-with tcp-reset
}

roll_api() {
    local api=$1 gateway=$2 old new count
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
    log "$api: $name is ready; waiting until the gateway sends it requests ..."
    wait_resolved "$gateway" "$api" "$new"
    log "$api: retiring the old version (new connections refused, in-flight requests finish) ..."
    local container
    for container in "${old[@]}"; do fence "$container"; done
    # SIGTERM: gunicorn finishes its in-flight requests; stop_grace_period (docker-compose.yml) bounds it.
    # Docker's DNS forgets a container once it has stopped.
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
