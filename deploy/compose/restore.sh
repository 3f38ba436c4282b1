#!/usr/bin/env bash
# `make restore BACKUP=<folder>`: put a backup made by deploy/compose/backup.sh back into a
# compose stack, meant for a fresh one (empty volumes, e.g. on a new machine):
#
#   cp <folder>/env .env          # the keys the data was made with (a fresh stack only)
#   make up                       # the fresh stack, migrated, empty
#   make restore BACKUP=<folder>
#
# Stops every API, worker and the gateway (postgres and rabbitmq keep running; the stack does
# not serve meanwhile), restores each service's database over what is there (pg_restore
# --clean, in one transaction per database) and the auth-data volume (emptied first), then
# starts everything again through the migrations (a backup of an older version is migrated
# forward) and waits until every service is ready through the gateway.
# Refuses when .env's data keys differ from the backup's: the restored data would not decrypt.
#
#   COMPOSE_PROJECT_NAME, BEYOU_HTTP_PORT, OFFLINE=1 and BEYOU_TAG as for `make up`
set -Eeuo pipefail
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/offline/images.sh
source "$ROOT/deploy/offline/images.sh"
[[ ${OFFLINE:-0} == 1 ]] && use_offline_images

backup=${1:-}
[[ -n $backup ]] || { echo "usage: $0 <backup folder> (made by deploy/compose/backup.sh)" >&2; exit 2; }
backup=$(cd "$backup" && pwd) || die "no backup folder $1"
(cd "$backup" && sha256sum --quiet --check SHA256SUMS) || die "$backup is incomplete or damaged (SHA256SUMS)"
[[ -n $(compose ps -q postgres) ]] || die "stack '$COMPOSE_PROJECT_NAME' is not running: make up first"

# What the restored data needs from .env: the data keys, the token secret and the ledger's key.
# The database and broker passwords belong to the volumes of this stack and may differ.
DATA_SECRETS=(AUTH_SECRET_KEY AUTH_DATA_KEYS MESSAGING_DATA_KEYS LEDGER_SIGNING_KEY)
secret_in() { grep -m1 "^$2=" "$1" || true; }
for var in "${DATA_SECRETS[@]}"; do
    [[ $(secret_in "$ROOT/.env" "$var") == "$(secret_in "$backup/env" "$var")" ]] ||
        die "$var in .env differs from the backup's: its data would not decrypt or verify.
  For a fresh stack: deploy/compose/down.sh --volumes; cp '$backup/env' .env; make up; then restore."
done

start=$SECONDS
mapfile -t apps < <(compose config --services | grep -vxE 'postgres|rabbitmq')
log "stopping the APIs, workers and the gateway ..."
compose stop "${apps[@]}"

for svc in "${SERVICES[@]}"; do
    log "database $svc ..."
    # Owners and grants as dumped: the service's role owns its tables again.
    # shellcheck disable=SC2016  # expanded by the container's shell
    compose exec -T postgres sh -c 'PGPASSWORD="$POSTGRES_PASSWORD" pg_restore -h 127.0.0.1 -U postgres \
        --dbname="$1" --clean --if-exists --single-transaction --exit-on-error' sh "$svc" <"$backup/$svc.dump"
done
log "volume auth-data (identity documents) ..."
compose run --rm --no-deps -T auth-migrate sh -c \
    'find /var/lib/beyou/auth -mindepth 1 -delete && tar -C /var/lib/beyou/auth -xf -' <"$backup/auth-data.tar"

log "starting the stack again (migrations first) ..."
compose up -d --no-build
# The containers started again may have other addresses: the gateway looks them up again by itself.
wait_until_ready "${BEYOU_READY_TIMEOUT:-240}" || die "the stack did not become ready after the restore"
log "restored ${backup#"$ROOT"/} into $COMPOSE_PROJECT_NAME in $((SECONDS - start))s"
