#!/usr/bin/env bash
# `make backup`: a backup of the running compose stack into a new timestamped folder,
#   $BEYOU_BACKUP_DIR/<project>-<UTC time>/   (BEYOU_BACKUP_DIR: backups/ in the repository,
#                                              which keeps itself out of git)
# holding
#   <service>.dump    each service's database, pg_dump's custom format (pg_restore reads it), taken
#                     by the PostgreSQL superuser inside the postgres container; one consistent
#                     snapshot per database, taken while the stack serves
#   auth-data.tar     the auth-data volume (/var/lib/beyou/auth: the identity documents, encrypted)
#   env               a copy of .env: the documents, messaging's stored data and the ledger's
#                     signatures need its keys, so a backup without it cannot be used. Mode 600;
#                     keep the backup as secret as .env itself
#   SHA256SUMS        checked by restore.sh
# Not backed up: RabbitMQ (events already relayed and not yet consumed; what is unsent waits in
# each database's outbox and is in the dumps). Restore with deploy/compose/restore.sh <folder>.
#
#   deploy/compose/backup.sh [folder]    folder instead of the timestamped one
#   COMPOSE_PROJECT_NAME                 the stack (beyou); OFFLINE=1 and BEYOU_TAG as for `make up`
set -Eeuo pipefail
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/offline/images.sh
source "$ROOT/deploy/offline/images.sh"
[[ ${OFFLINE:-0} == 1 ]] && use_offline_images

backups=${BEYOU_BACKUP_DIR:-$ROOT/backups}
target=${1:-$backups/$COMPOSE_PROJECT_NAME-$(date -u +%Y%m%dT%H%M%SZ)}
[[ ! -e $target ]] || die "$target exists already"
[[ -f $ROOT/.env ]] || die "no .env: is stack '$COMPOSE_PROJECT_NAME' set up (make up)?"
[[ -n $(compose ps -q postgres) ]] || die "stack '$COMPOSE_PROJECT_NAME' has no postgres running (make up first)"

# Backups hold every secret of the stack: never in git, readable by their owner only.
mkdir -p "$backups"
[[ -f $backups/.gitignore ]] || echo '*' >"$backups/.gitignore"
umask 077
partial=$target.partial
rm -rf "$partial"
mkdir -p "$partial"
trap 'rm -rf "$partial"' EXIT

start=$SECONDS
for svc in "${SERVICES[@]}"; do
    log "database $svc ..."
    # shellcheck disable=SC2016  # expanded by the container's shell
    compose exec -T postgres sh -c \
        'PGPASSWORD="$POSTGRES_PASSWORD" pg_dump -h 127.0.0.1 -U postgres --format=custom "$1"' sh "$svc" \
        >"$partial/$svc.dump"
done
log "volume auth-data (identity documents) ..."
# A one-off container of auth's image with its volume: works whether or not auth is running.
compose run --rm --no-deps -T auth-migrate tar -C /var/lib/beyou/auth -cf - . >"$partial/auth-data.tar"
cp "$ROOT/.env" "$partial/env"
(cd "$partial" && sha256sum -- *.dump auth-data.tar env >SHA256SUMS)
mv "$partial" "$target"
trap - EXIT
log "backup of $COMPOSE_PROJECT_NAME in ${target#"$ROOT"/} ($(du -sh "$target" | cut -f1), $((SECONDS - start))s)"
echo "$target"
