# shellcheck shell=bash disable=SC2034
# Shared by the deploy/dev scripts (sourced, never run). Paths, the service
# list, messages and the few system helpers every script needs.

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEV="$ROOT/.dev"           # everything generated for the native stack (gitignored)
RUN="$DEV/run"             # pid files and "started by this project" markers
LOGS="$DEV/logs"
ENVDIR="$DEV/env"
SECRETS="$DEV/secrets.env"
VENV="$ROOT/.venv"

SERVICES=(auth social messaging ledger marketplace)
# The gateway's upstreams: each service's API, and messaging's stream process (GET
# /api/messaging/stream under gunicorn's gevent worker; gateway/nginx.conf's messaging_stream).
declare -A SERVICE_PORT=([auth]=8101 [social]=8102 [messaging]=8103 [ledger]=8104 [marketplace]=8105
                         [messaging_stream]=8113)
STREAM_PORT=${SERVICE_PORT[messaging_stream]}
PG_PORT=55432
AMQP_PORT=5672
HTTP_PORT="${BEYOU_HTTP_PORT:-8080}"
GATEWAY_URL="http://127.0.0.1:$HTTP_PORT"

say() { if [[ -t 2 ]]; then printf '\033[1m==> %s\033[0m\n' "$*" >&2; else printf '==> %s\n' "$*" >&2; fi; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [[ $EUID -eq 0 ]]; }

# apt-get install the given packages. Waits for a dpkg lock held by another
# apt run instead of failing, and refreshes the package lists once per script.
APT_UPDATED=0
apt_install() {
    is_root || die "need root to apt-get install: $*"
    export DEBIAN_FRONTEND=noninteractive
    if [[ $APT_UPDATED -eq 0 ]]; then
        say "apt-get update"
        apt-get -o DPkg::Lock::Timeout=900 update -qq
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "$@"
}

# True when something accepts TCP connections on 127.0.0.1:$1 (no ss/netstat needed).
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Load KEY=value lines (our generated env files) into the environment.
load_env() { set -a; # shellcheck disable=SC1090
    . "$1"; set +a; }

# Pid files hold "<pid> <start time>" so that a recycled pid is never mistaken
# for the process we started (the start time survives exec, not pid reuse).
proc_start_time() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

record_pid() { echo "$1 $(proc_start_time "$1")" >"$2"; }

# True while process $1 runs (a zombie has exited, it only awaits its parent).
running() {
    local state
    state="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
    [[ -n $state && $state != Z ]]
}

# Prints the pid recorded in $1 if that very process is still running.
live_pid() {
    local pid start
    [[ -s $1 ]] || return 1
    read -r pid start <"$1"
    [[ -n $pid && -n $start && "$(proc_start_time "$pid")" == "$start" ]] && running "$pid" || return 1
    echo "$pid"
}

# Wait up to $2 seconds for process $1 to exit; true if it did.
wait_exit() {
    local pid=$1 deadline=$((SECONDS + $2))
    while running "$pid"; do
        (( SECONDS >= deadline )) && return 1
        sleep 0.2
    done
}
