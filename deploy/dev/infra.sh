#!/usr/bin/env bash
# Infrastructure for the native stack, idempotent (`make infra`):
#   - installs PostgreSQL, RabbitMQ, Nginx and curl with apt-get when missing;
#   - a project-local PostgreSQL cluster in .dev/pgdata on 127.0.0.1:55432, with an
#     admin role for tests and one role + one database per service (a service role
#     can connect only to its own database);
#   - RabbitMQ running, with the vhost `beyou` and the user `beyou`;
#   - generated passwords in .dev/secrets.env (created once, reused afterwards);
#   - env files for every process in .dev/env/ (common, one per service, test).
# Whatever this script starts is recorded in .dev/run/*.started, so that
# deploy/dev/down.sh stops only that.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PGDATA="$DEV/pgdata"

# --- packages -----------------------------------------------------------------

# Directory holding initdb/pg_ctl/postgres/psql: PATH first (may be symlinks into
# /usr/lib/postgresql/N/bin), then the newest Debian versioned directory.
pg_bindir() {
    local p d
    if p="$(command -v initdb)"; then
        d="$(dirname "$(readlink -f "$p")")"
        [[ -x $d/pg_ctl && -x $d/postgres && -x $d/psql ]] && { echo "$d"; return; }
    fi
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres && -x $d/psql ]] && { echo "$d"; return; }
    done
    return 1
}

install_missing_packages() {
    local need=()
    pg_bindir >/dev/null || need+=(postgresql)
    command -v rabbitmq-server >/dev/null || need+=(rabbitmq-server)
    command -v nginx >/dev/null || need+=(nginx)
    command -v curl >/dev/null || need+=(curl ca-certificates)
    [[ ${#need[@]} -eq 0 ]] && return
    # Debian starts daemons from their postinst. Without systemd that would leave
    # a system PostgreSQL/RabbitMQ running that nobody stops; this project starts
    # what it needs itself, so forbid that for the duration of the install
    # (policy-rc.d is Debian's mechanism for exactly this).
    local policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
        trap 'rm -f '"$policy" EXIT
    fi
    apt_install "${need[@]}"
    if [[ -n $(trap -p EXIT) ]]; then rm -f "$policy"; trap - EXIT; fi
}

# --- directories and secrets ---------------------------------------------------

prepare_dirs() {
    mkdir -p "$DEV" "$RUN" "$LOGS" "$ENVDIR"
    chmod 755 "$DEV"          # the postgres user must traverse it to reach pgdata
    chmod 700 "$ENVDIR"       # env files hold passwords
}

# Append NAME=<random> to .dev/secrets.env unless it is already there; a second
# argument "fernet" makes it a Fernet key (32 random bytes, urlsafe base64).
ensure_secret() {
    local name=$1 kind=${2:-hex} value
    touch "$SECRETS" && chmod 600 "$SECRETS"
    grep -q "^$name=" "$SECRETS" && return 0
    if [[ $kind == fernet ]]; then
        value="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')"
    elif [[ $kind == seed ]]; then  # an Ed25519 private key's 32-byte seed, base64
        value="$(head -c 32 /dev/urandom | base64)"
    else
        value="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
    fi
    printf '%s=%s\n' "$name" "$value" >>"$SECRETS"
}

# Value of a secret; upper-cased service names are used in the variable names.
secret() { grep "^$1=" "$SECRETS" | head -n1 | cut -d= -f2-; }
db_password_var() { echo "BEYOU_DB_PASSWORD_${1^^}"; }

ensure_secrets() {
    ensure_secret BEYOU_PG_ADMIN_PASSWORD
    ensure_secret BEYOU_AMQP_PASSWORD
    local svc
    for svc in "${SERVICES[@]}"; do ensure_secret "$(db_password_var "$svc")"; done
    ensure_secret BEYOU_AUTH_SECRET_KEY
    ensure_secret BEYOU_AUTH_DATA_KEY fernet
    ensure_secret BEYOU_MESSAGING_DATA_KEY fernet
    ensure_secret BEYOU_LEDGER_SIGNING_KEY seed
}

# Settings only one service has (its secrets, its storage), appended to its env file.
service_extra_env() {
    case $1 in
        auth)
            mkdir -p "$DEV/data/auth/documents" && chmod 700 "$DEV/data/auth/documents"
            printf 'SECRET_KEY=%s\nDATA_KEYS=%s\nDOCUMENTS_DIR=%s\n' "$(secret BEYOU_AUTH_SECRET_KEY)" \
                "$(secret BEYOU_AUTH_DATA_KEY)" "$DEV/data/auth/documents" ;;
        messaging)
            printf 'DATA_KEYS=%s\n' "$(secret BEYOU_MESSAGING_DATA_KEY)" ;;
        ledger)
            printf 'SIGNING_KEY=%s\n' "$(secret BEYOU_LEDGER_SIGNING_KEY)" ;;
    esac
}

# --- PostgreSQL ------------------------------------------------------------------

# The cluster runs as `postgres` when we are root (initdb refuses root), else as us.
if is_root; then PG_OS_USER=postgres; else PG_OS_USER="$(id -un)"; fi
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

# A unix socket path is limited to ~107 bytes; fall back to /tmp for deep checkouts.
pg_socket_dir() {
    local dir="$RUN/pgsocket"
    if (( ${#dir} + 20 > 100 )); then
        dir="/tmp/beyou-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
    fi
    echo "$dir"
}

# The postgres user needs search (x) permission on every directory above pgdata.
ensure_reachable_by_postgres() {
    is_root || return 0
    local dir="$DEV"
    while [[ $dir != / ]]; do
        if ! runuser -u postgres -- test -x "$dir"; then
            warn "giving others search permission on $dir so the postgres user can reach $PGDATA"
            chmod o+x "$dir"
        fi
        dir="$(dirname "$dir")"
    done
}

pg_ctl_() { as_pg "$PGBIN/pg_ctl" -D "$PGDATA" "$@"; }
pg_running() { pg_ctl_ status >/dev/null 2>&1; }

init_cluster() {
    install -d -o "$PG_OS_USER" -m 700 "$PGDATA"
    [[ -f $PGDATA/PG_VERSION ]] && return
    say "initdb $PGDATA"
    # peer auth on the unix socket (for this script), SCRAM passwords over TCP.
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U "$PG_OS_USER" -E UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >>"$LOGS/postgres-initdb.log"
}

# Our settings live in beyou.conf (rewritten every run, so a moved checkout gets
# a new socket path), included from postgresql.conf. Returns 0 when it changed.
configure_cluster() {
    local conf="$PGDATA/beyou.conf" new
    new="$(cat <<EOF
# Written by deploy/dev/infra.sh on every run; edit that script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
password_encryption = 'scram-sha-256'
# 5 services x (2 API workers + 1 worker) x a pool each, plus the tests.
max_connections = 300
log_line_prefix = '%m [%p] %q%u@%d '
EOF
)"
    grep -q "^include_if_exists = 'beyou.conf'" "$PGDATA/postgresql.conf" \
        || echo "include_if_exists = 'beyou.conf'" | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
    if [[ -f $conf && "$(cat "$conf")" == "$new" ]]; then return 1; fi
    printf '%s\n' "$new" | as_pg tee "$conf" >/dev/null
}

start_postgres() {
    local version
    version="$(cat "$PGDATA/PG_VERSION")"
    [[ $("$PGBIN/postgres" --version) =~ \ $version(\.|$) ]] || die \
        "$PGDATA was created by PostgreSQL $version but $PGBIN is $("$PGBIN/postgres" --version); remove .dev/pgdata to start afresh"
    install -d -o "$PG_OS_USER" -m 700 "$PG_SOCKET_DIR"
    touch "$LOGS/postgres.log" && chown "$PG_OS_USER" "$LOGS/postgres.log"
    if pg_running; then
        if [[ $CONF_CHANGED -eq 1 ]]; then
            say "restarting PostgreSQL (configuration changed)"
            pg_ctl_ -l "$LOGS/postgres.log" -w -t 60 restart >/dev/null
        fi
        return
    fi
    port_in_use "$PG_PORT" && die "port $PG_PORT is taken by another process (is another checkout's stack running?)"
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    pg_ctl_ -l "$LOGS/postgres.log" -w -t 60 start >/dev/null \
        || { tail -n 30 "$LOGS/postgres.log" >&2; die "PostgreSQL did not start (log: $LOGS/postgres.log)"; }
    touch "$RUN/postgres.started"
}

psql_super() {
    as_pg "$PGBIN/psql" -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_OS_USER" -d postgres \
        -X -q -v ON_ERROR_STOP=1
}

# Roles and databases. Passwords travel on stdin, never on a command line.
ensure_roles_and_databases() {
    local svc sql
    sql="$(cat <<EOF
\\set pw '$(secret BEYOU_PG_ADMIN_PASSWORD)'
SELECT 'CREATE ROLE beyou_admin' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'beyou_admin') \\gexec
ALTER ROLE beyou_admin LOGIN CREATEDB CREATEROLE PASSWORD :'pw';
EOF
)"
    for svc in "${SERVICES[@]}"; do
        sql+=$'\n'"$(cat <<EOF
\\set role '$svc'
\\set pw '$(secret "$(db_password_var "$svc")")'
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec
ALTER ROLE :"role" LOGIN NOCREATEDB NOCREATEROLE PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'role') \\gexec
ALTER DATABASE :"role" OWNER TO :"role";
-- Only the owning role may connect: no service reads another's database.
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
EOF
)"
    done
    psql_super <<<"$sql"
}

# --- RabbitMQ --------------------------------------------------------------------

rabbit_running() { rabbitmqctl -q status >/dev/null 2>&1; }

start_rabbitmq() {
    if rabbit_running; then return; fi
    port_in_use "$AMQP_PORT" && die "port $AMQP_PORT is taken but rabbitmqctl cannot reach a RabbitMQ node"
    is_root || die "RabbitMQ is not running; start it (or run this script as root)"
    say "starting RabbitMQ"
    # Loopback only (AMQP, Erlang distribution, epmd): nobody else needs the dev broker.
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
        rabbitmq-server -detached >/dev/null 2>&1
    touch "$RUN/rabbitmq.started"
    # await_startup fails while the node is not yet reachable, so retry until a deadline.
    local deadline=$((SECONDS + 120))
    until rabbitmqctl -q await_startup --timeout 10 >/dev/null 2>&1; do
        if (( SECONDS > deadline )); then
            tail -n 30 /var/log/rabbitmq/*.log >&2 || true
            die "RabbitMQ did not start within 120 s (logs: /var/log/rabbitmq/)"
        fi
        sleep 1
    done
}

ensure_vhost_and_user() {
    local pw
    pw="$(secret BEYOU_AMQP_PASSWORD)"
    rabbitmqctl -q list_vhosts | grep -qx beyou || rabbitmqctl -q add_vhost beyou >/dev/null
    # Both commands read the password from stdin when it is not an argument.
    if rabbitmqctl -q list_users | awk '{print $1}' | grep -qx beyou; then
        rabbitmqctl -q change_password beyou <<<"$pw" >/dev/null
    else
        rabbitmqctl -q add_user beyou <<<"$pw" >/dev/null
    fi
    rabbitmqctl -q set_permissions -p beyou beyou '.*' '.*' '.*' >/dev/null
}

# --- env files -------------------------------------------------------------------

# Write a file atomically with owner-only permissions.
write_private() {
    local path=$1 tmp
    tmp="$(mktemp "$path.XXXXXX")"
    cat >"$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$path"
}

write_env_files() {
    local amqp_url db_url svc
    amqp_url="amqp://beyou:$(secret BEYOU_AMQP_PASSWORD)@127.0.0.1:$AMQP_PORT/beyou"
    local header="# Generated by deploy/dev/infra.sh on every run; passwords come from .dev/secrets.env."
    local common
    common="$(cat <<EOF
AMQP_URL=$amqp_url
JWKS_URL=http://127.0.0.1:${SERVICE_PORT[auth]}/api/auth/.well-known/jwks.json
TRUSTED_PROXY_HOPS=1
LOG_LEVEL=INFO
EOF
)"
    printf '%s\n%s\n' "$header" "$common" | write_private "$ENVDIR/common.env"
    for svc in "${SERVICES[@]}"; do
        db_url="postgresql+psycopg2://$svc:$(secret "$(db_password_var "$svc")")@127.0.0.1:$PG_PORT/$svc"
        { printf '%s\n%s\nDATABASE_URL=%s\n' "$header" "$common" "$db_url"; service_extra_env "$svc"; } \
            | write_private "$ENVDIR/$svc.env"
    done
    cat <<EOF | write_private "$ENVDIR/test.env"
$header
export BEYOU_TEST_PG_ADMIN_URL=postgresql://beyou_admin:$(secret BEYOU_PG_ADMIN_PASSWORD)@127.0.0.1:$PG_PORT/postgres
export BEYOU_TEST_AMQP_URL=$amqp_url
export BEYOU_GATEWAY_URL=$GATEWAY_URL
EOF
}

# --- main ------------------------------------------------------------------------

install_missing_packages
PGBIN="$(pg_bindir)" || die "PostgreSQL server binaries not found after install"
PG_SOCKET_DIR="$(pg_socket_dir)"
prepare_dirs
ensure_secrets
ensure_reachable_by_postgres
init_cluster
CONF_CHANGED=0
if configure_cluster; then CONF_CHANGED=1; fi
start_postgres
ensure_roles_and_databases
start_rabbitmq
ensure_vhost_and_user
write_env_files
say "infrastructure ready: PostgreSQL 127.0.0.1:$PG_PORT, RabbitMQ 127.0.0.1:$AMQP_PORT (vhost beyou), env files in ${ENVDIR#"$ROOT"/}"
