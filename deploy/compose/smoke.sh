#!/usr/bin/env bash
# `make test-compose`: the compose stack, built from offline base images, comes
# up and every service answers through the gateway, which serves the web client at /;
# every worker and the gateway pass their health checks; a broker restart leaves
# every API ready while each worker's check reports the outage and then recovers by itself; the smoke journey
# (deploy/compose/journey.sh) goes through the gateway; the monitoring profile's
# Prometheus scrapes every process. Then the stack is removed again, volumes
# included, whatever happened.
#
# Its own project name and port (beyou-smoke, 18080) and image tag, so it never
# touches a stack started with `make up` or the native one on 8080.
set -Eeuo pipefail

export OFFLINE=1
export COMPOSE_PROJECT_NAME=beyou-smoke
export BEYOU_HTTP_PORT=${BEYOU_SMOKE_PORT:-18080}
export BEYOU_PROMETHEUS_PORT=${BEYOU_SMOKE_PROMETHEUS_PORT:-19080}
export BEYOU_TAG=smoke
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/offline/images.sh
source "$ROOT/deploy/offline/images.sh"
# What up.sh uses too (it builds the base images first): the compose commands run here (the monitoring
# profile's Prometheus is built here) need the same base images.
use_offline_images

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

# The image's web client: index.html at / and at a client-side route, under the app's CSP, and the
# script it names served from /assets/.
serves_web_app() {
    local headers page script
    headers=$(curl -fsS --max-time 10 -D - -o /dev/null "$base/conversations/smoke") || return 1
    [[ $headers == *"Content-Type: text/html"* && $headers == *"script-src 'self';"* ]] || return 1
    page=$(curl -fsS --max-time 10 "$base/") || return 1
    script=$(grep -o 'src="/assets/[^"]*\.js"' <<<"$page" | head -n 1 | cut -d'"' -f2)
    [[ -n $script ]] && curl -fsS -o /dev/null --max-time 10 "$base$script"
}

# DESIGN.md: no service role can open another service's database.
cannot_open_other_database() {
    local out
    # shellcheck disable=SC2016  # expanded by the container's shell
    out=$(compose exec -T postgres sh -c \
        'PGPASSWORD="$AUTH_DB_PASSWORD" psql -h 127.0.0.1 -U auth -d social -c "select 1"' 2>&1) || true
    [[ $out == *"permission denied for database"* ]]
}

# --- health checks (DESIGN.md "Health") ------------------------------------------

# Repeat `command...` every 2 s until it succeeds, for at most $1 seconds.
eventually() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        (( SECONDS < deadline )) || return 1
        sleep 2
    done
}

# The monitoring profile (docker-compose.yml, deploy/monitoring): every scrape target up and the alert rules
# loaded, asked through Prometheus's API on the host's loopback (BEYOU_PROMETHEUS_PORT).
prometheus_sees_everything() {
    local targets rules api=http://127.0.0.1:$BEYOU_PROMETHEUS_PORT/api/v1
    targets=$(curl -fsS --max-time 10 "$api/targets") || return 1
    rules=$(curl -fsS --max-time 10 "$api/rules") || return 1
    python3 - "$targets" "$rules" <<'PY'
import json, sys
targets = json.loads(sys.argv[1])["data"]["activeTargets"]
rules = [rule["name"] for group in json.loads(sys.argv[2])["data"]["groups"] for rule in group["rules"]]
wanted = {f"{svc}{kind}:9100" for svc in ("auth", "social", "messaging", "ledger", "marketplace")
          for kind in ("", "-worker")} | {"messaging-stream:9100"}
up = {target["labels"]["instance"] for target in targets if target["health"] == "up"}
sys.exit(0 if wanted <= up and "LedgerIntegrityFailed" in rules else 1)
PY
}

declare -A check_line   # the last line of each worker's --check, shown in the results
# What compose's healthcheck runs (`python -m <svc>.worker --check` says the same).
worker_check() {
    local line status=0
    line=$(compose exec -T "$1-worker" python -m servicekit.heartbeat "$1" 2>/dev/null) || status=$?
    check_line[$1]=${line:-"(no answer, exit $status)"}
    return "$status"
}

# Docker's view of the compose healthcheck of service $1.
docker_reports_healthy() {
    local id
    id=$(compose ps -q "$1") && [[ -n $id ]] || return 1
    [[ $(docker inspect --format '{{.State.Health.Status}}' "$id") == healthy ]]
}

all_healthy_to_docker() {
    local svc
    for svc in "${SERVICES[@]/%/-worker}" gateway; do
        docker_reports_healthy "$svc" || { log "$svc is not (yet) healthy to docker"; return 1; }
    done
}

# --- a broker restart --------------------------------------------------------------
# DESIGN.md: the broker is not a readiness condition for an API (events wait in
# the outbox), it is one for a worker. The broker is stopped and started again;
# meanwhile every API's /readyz is polled through the gateway and must stay 200,
# reporting the broker unreachable, and every worker's check must fail, then pass
# again once the broker is back, with nothing restarted but the broker.

declare -A worker_failed worker_recovered readyz_saw_outage
readyz_not_200=()
BROKER_UNREACHABLE='"broker": ?"unreachable"'

poll_readyz() {
    local out
    out=$(curl -sS --max-time 5 -w ' HTTP %{http_code}' "$base/api/$1/readyz" 2>&1) || true
    [[ $out == *' HTTP 200' ]] || readyz_not_200+=("$1: ${out:0:200}")
    if [[ $out =~ $BROKER_UNREACHABLE ]]; then readyz_saw_outage[$1]=1; fi
}

# While the broker is down: poll until every worker's check failed and every API
# reported the broker unreachable (with 200), for at most $1 seconds.
watch_outage() {
    local deadline=$((SECONDS + $1)) svc
    while (( SECONDS < deadline )); do
        for svc in "${SERVICES[@]}"; do
            poll_readyz "$svc"
            [[ -n ${worker_failed[$svc]:-} ]] || worker_check "$svc" || worker_failed[$svc]=${check_line[$svc]}
        done
        (( ${#worker_failed[@]} == ${#SERVICES[@]} && ${#readyz_saw_outage[@]} == ${#SERVICES[@]} )) && return 0
    done
    return 1
}

# Once the broker is started again: poll until every worker's check passes, for
# at most $1 seconds, the APIs' readiness still polled on every round.
watch_recovery() {
    local deadline=$((SECONDS + $1)) svc pending
    while (( SECONDS < deadline )); do
        pending=0
        for svc in "${SERVICES[@]}"; do
            poll_readyz "$svc"
            [[ -n ${worker_recovered[$svc]:-} ]] && continue
            if worker_check "$svc"; then worker_recovered[$svc]=1; else pending=1; fi
        done
        (( pending == 0 )) && return 0
        sleep 1
    done
    return 1
}

readyz_stayed_200() {
    (( ${#readyz_not_200[@]} == 0 )) && return 0
    printf '      not 200: %s\n' "${readyz_not_200[@]}"
    return 1
}

check "stack up (OFFLINE=1, port $BEYOU_HTTP_PORT)" stack_up
if (( failed == 0 )); then
    for svc in "${SERVICES[@]}"; do
        check "$svc readyz through the gateway" is_ready "$svc"
        check "$svc openapi.json through the gateway" serves_openapi "$svc"
    done
    check "the web client at / and its assets through the gateway" serves_web_app
    check "role auth cannot connect to database social" cannot_open_other_database

    for svc in "${SERVICES[@]}"; do
        eventually 60 worker_check "$svc" || true   # a worker may still be connecting
        check "$svc-worker --check passes (${check_line[$svc]})" worker_check "$svc"
    done
    check "docker reports every worker and the gateway healthy" eventually 60 all_healthy_to_docker

    log "broker restart: stopping rabbitmq ..."
    check "rabbitmq stopped" compose stop rabbitmq
    watch_outage 120 || true
    for svc in "${SERVICES[@]}"; do
        check "$svc-worker --check fails while the broker is down (${worker_failed[$svc]:-it kept passing})" \
            test -n "${worker_failed[$svc]:-}"
        check "$svc readyz through the gateway is 200 and reports the broker unreachable" \
            test -n "${readyz_saw_outage[$svc]:-}"
    done
    log "broker restart: starting rabbitmq ..."
    check "rabbitmq started again" compose start rabbitmq
    watch_recovery 180 || true
    for svc in "${SERVICES[@]}"; do
        check "$svc-worker --check passes again by itself (${check_line[$svc]})" test -n "${worker_recovered[$svc]:-}"
    done
    check "every API's readyz stayed 200 throughout the broker restart" readyz_stayed_200
    check "docker reports every worker healthy again" eventually 60 all_healthy_to_docker
    check "the smoke journey through the gateway (deploy/compose/journey.sh)" "$ROOT/deploy/compose/journey.sh" -q
    log "monitoring profile: starting prometheus ..."
    check "the monitoring profile's prometheus starts (built from Debian's package)" \
        compose --profile monitoring up -d --build prometheus
    check "prometheus scrapes every API, the stream and every worker, and loaded the alert rules" \
        eventually 120 prometheus_sees_everything
fi
log "smoke checks done in $((SECONDS - start))s"
