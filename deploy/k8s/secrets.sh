#!/usr/bin/env bash
# Writes the Secrets' contents an overlay's secretGenerator reads: one env file per service,
#   deploy/k8s/overlays/<overlay>/secrets/<service>.env    (git ignores them: deploy/k8s/.gitignore)
# with DATABASE_URL, AMQP_URL and the service's own keys, and database-roles.sql beside them, for
# the PostgreSQL superuser to create each service's role and database with those passwords.
#
#   POSTGRES_HOST=pg.internal RABBITMQ_HOST=mq.internal deploy/k8s/secrets.sh overlays/dev
#
# Every value is random unless the environment gives it: AUTH_DB_PASSWORD ... MARKETPLACE_DB_PASSWORD,
# RABBITMQ_PASSWORD, AUTH_SECRET_KEY, AUTH_DATA_KEYS, MESSAGING_DATA_KEYS, LEDGER_SIGNING_KEY
# (the names of the compose stack's .env, whose values can be carried over). Also read:
# POSTGRES_PORT (5432), RABBITMQ_PORT (5672), RABBITMQ_USER (beyou), RABBITMQ_VHOST (beyou).
# A file that exists is left as it is: its keys encrypt data and sign the ledger already.
set -euo pipefail

SERVICES=(auth social messaging ledger marketplace)

die() { echo "secrets.sh: $*" >&2; exit 1; }

(( $# == 1 )) || die "usage: [POSTGRES_HOST=... RABBITMQ_HOST=...] $0 <overlay directory>"
overlay=$1
[[ -f $overlay/kustomization.yaml ]] || die "$overlay is not an overlay (no kustomization.yaml)"
: "${POSTGRES_HOST:?POSTGRES_HOST is not set: the PostgreSQL server the services use}"
: "${RABBITMQ_HOST:?RABBITMQ_HOST is not set: the RabbitMQ broker the services use}"
POSTGRES_PORT=${POSTGRES_PORT:-5432}
RABBITMQ_PORT=${RABBITMQ_PORT:-5672}
RABBITMQ_USER=${RABBITMQ_USER:-beyou}
RABBITMQ_VHOST=${RABBITMQ_VHOST:-beyou}

# As deploy/compose/lib.sh makes them: *_DATA_KEYS a Fernet key (url-safe base64 of 32 random
# bytes), *_SIGNING_KEY an Ed25519 seed (base64 of 32 random bytes), anything else 48 hex
# digits (safe in URLs).
new_secret() {
    case $1 in
        *_DATA_KEYS) head -c 32 /dev/urandom | base64 | tr '+/' '-_' ;;
        *_SIGNING_KEY) head -c 32 /dev/urandom | base64 ;;
        *) od -An -N24 -tx1 /dev/urandom | tr -d ' \n' ;;
    esac
}

# $1's value from the environment, else a new one.
value() { [[ -n ${!1:-} ]] && printf '%s' "${!1}" || new_secret "$1"; }

dir=$overlay/secrets
umask 077
mkdir -p "$dir"
# One broker user for every service: the URL of a file written before, else a new one.
amqp_url=$(grep -hm1 '^AMQP_URL=' "$dir"/*.env 2>/dev/null | head -n1 | cut -d= -f2- || true)
if [[ -z $amqp_url ]]; then
    amqp_url="amqp://$RABBITMQ_USER:$(value RABBITMQ_PASSWORD)@$RABBITMQ_HOST:$RABBITMQ_PORT/$RABBITMQ_VHOST"
fi
roles_sql=""
for service in "${SERVICES[@]}"; do
    file=$dir/$service.env
    if [[ -f $file ]]; then
        echo "secrets.sh: $file exists, kept"
        continue
    fi
    password=$(value "${service^^}_DB_PASSWORD")
    {
        echo "DATABASE_URL=postgresql+psycopg2://$service:$password@$POSTGRES_HOST:$POSTGRES_PORT/$service"
        echo "AMQP_URL=$amqp_url"
        case $service in
            auth) echo "SECRET_KEY=$(value AUTH_SECRET_KEY)"
                  echo "DATA_KEYS=$(value AUTH_DATA_KEYS)" ;;
            messaging) echo "DATA_KEYS=$(value MESSAGING_DATA_KEYS)" ;;
            ledger) echo "SIGNING_KEY=$(value LEDGER_SIGNING_KEY)" ;;
        esac
    } >"$file"
    # As deploy/compose/postgres-init: one login role and one database per service, which no
    # other role may connect to.
    roles_sql+="CREATE ROLE $service LOGIN PASSWORD '$password';
CREATE DATABASE $service OWNER $service;
REVOKE ALL ON DATABASE $service FROM PUBLIC;
"
    echo "secrets.sh: wrote $file"
done

if [[ -n $roles_sql ]]; then
    printf '%s' "$roles_sql" >"$dir/database-roles.sql"
    echo "secrets.sh: wrote $dir/database-roles.sql (run it once as the PostgreSQL superuser)"
    echo "secrets.sh: the broker needs user $RABBITMQ_USER with the password in AMQP_URL, on vhost $RABBITMQ_VHOST"
fi
