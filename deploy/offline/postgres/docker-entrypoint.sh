#!/bin/bash
# The part of the official postgres image's entrypoint that docker-compose.yml
# relies on, for the Debian-built image:
#   - runs as root only to own the data volume, then drops to the postgres user;
#   - on an empty $PGDATA: initdb with POSTGRES_USER / POSTGRES_PASSWORD (password
#     auth over TCP), creates POSTGRES_DB, runs /docker-entrypoint-initdb.d/*.sh
#     and *.sql once against a server listening on the local socket only (so
#     nobody connects to a half-initialised database), then stops it;
#   - exec postgres listening on all addresses.
set -Eeuo pipefail

if [[ ${1:-} == -* ]]; then
    set -- postgres "$@"   # `command: -c setting=value` in compose
fi
if [[ ${1:-} != postgres ]]; then
    exec "$@"          # e.g. `docker run IMAGE psql ...`
fi

if (( $(id -u) == 0 )); then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

export POSTGRES_USER=${POSTGRES_USER:-postgres}
export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}

initialise() {
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set to initialise the database}"
    echo "entrypoint: initialising $PGDATA"
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 \
        -D "$PGDATA" >/dev/null
    echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"

    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start >/dev/null
    local psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    if [[ $POSTGRES_DB != postgres ]]; then
        "${psql[@]}" --dbname postgres -v db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >/dev/null
    fi
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
            *.sh)  echo "entrypoint: running $f"
                   # shellcheck disable=SC1090  # sourcing init scripts is the contract
                   if [[ -x $f ]]; then "$f"; else . "$f"; fi ;;
            *.sql) echo "entrypoint: running $f"
                   "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
            *)     [[ -e $f ]] && echo "entrypoint: ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "entrypoint: initialisation complete"
}

[[ -s $PGDATA/PG_VERSION ]] || initialise
exec postgres -D "$PGDATA" -c listen_addresses='*' "${@:2}"
