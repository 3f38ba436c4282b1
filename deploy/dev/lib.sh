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

# --- the gateway (deploy/dev/up.sh, deploy/dev/gateway-reload.sh) --------------------------

NGINX_DIR="$DEV/nginx"     # the native gateway's rendered configuration and nginx prefix
WEB_DIST="$ROOT/web/dist"  # the web client's build (deploy/dev/web.sh), served at /

# Node.js for the web client: Vite 8 needs ^20.19 or >= 22.12 (web/package.json's engines).
# The machine's own node when it is recent enough (this project's machines have NodeSource's
# 20.x); else the official build of WEB_NODE_VERSION as the npm registry publishes it (package
# node-linux-<arch>: the node binary only, no install script), fetched with Debian's npm
# (whose nodejs 18 is too old to build, not to download) into .dev/node and put first on PATH.
WEB_NODE_VERSION=20.20.2
NODE_HOME="$DEV/node"

node_arch() {
    case $(uname -m) in
        x86_64) echo x64 ;;
        aarch64) echo arm64 ;;
        *) return 1 ;;
    esac
}

# True when node and npm on PATH can build the web client.
node_recent_enough() {
    command -v node >/dev/null && command -v npm >/dev/null && node -e '
        const [major, minor] = process.versions.node.split(".").map(Number);
        process.exit((major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23 ? 0 : 1);'
}

# Fetch node-linux-<arch>@WEB_NODE_VERSION from the npm registry into $1 (OFFLINE=1: npm's cache only).
install_registry_node() {
    local prefix=$1 arch offline=()
    arch=$(node_arch) || die "no Node.js build on the npm registry for $(uname -m): install Node.js ^20.19 yourself"
    command -v npm >/dev/null || apt_install npm
    [[ ${OFFLINE:-0} == 1 ]] && offline=(--offline)
    say "installing Node.js $WEB_NODE_VERSION (node-linux-$arch from the npm registry) into ${prefix#"$ROOT"/}"
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock "${offline[@]}" \
        "node-linux-$arch@$WEB_NODE_VERSION" >&2 || die "could not fetch node-linux-$arch@$WEB_NODE_VERSION"
}

# Make `node`/`npm`/`npx` on PATH able to build and test the web client (exported for children).
ensure_node() {
    local arch bin
    arch=$(node_arch) || arch=none
    bin="$NODE_HOME/node_modules/node-linux-$arch/bin"
    [[ -x $bin/node ]] && export PATH="$bin:$PATH"
    node_recent_enough && return 0
    install_registry_node "$NODE_HOME"
    export PATH="$bin:$PATH"
    node_recent_enough || die "node $(node -v 2>/dev/null) from $(command -v node) cannot build the web client (Vite 8 needs ^20.19 or >= 22.12)"
}

# Render the native gateway's configuration into directory $1 (nginx.conf, upstreams.conf):
# gateway/nginx.conf listening on loopback only and serving the web app from this checkout's
# web/dist, and upstreams for the native ports (the stream process's with idle connections
# kept for reuse). Checked with nginx -t (the prefix, for pid and temp files, is $NGINX_DIR).
render_gateway() {
    local dir=$1
    # nginx takes the path in double quotes; sed's replacement must not hold its own specials.
    [[ $WEB_DIST != *[\"\\\|\&]* ]] || die "the checkout's path ($ROOT) holds a character the gateway config cannot take (\" \\ | &)"
    mkdir -p "$dir"
    sed -E -e "s|^([[:space:]]*)listen 8080 default_server;.*|\1listen 127.0.0.1:$HTTP_PORT default_server;|" \
        -e "s|^([[:space:]]*)root /usr/share/beyou/web;.*|\1root \"$WEB_DIST\";|" \
        "$ROOT/gateway/nginx.conf" >"$dir/nginx.conf"
    grep -q "listen 127.0.0.1:$HTTP_PORT default_server;" "$dir/nginx.conf" \
        || die "gateway/nginx.conf has no 'listen 8080 default_server;' line to point at 127.0.0.1:$HTTP_PORT"
    grep -qF "root \"$WEB_DIST\";" "$dir/nginx.conf" \
        || die "gateway/nginx.conf has no 'root /usr/share/beyou/web;' line to point at web/dist"
    {
        echo "# Generated by deploy/dev/lib.sh (render_gateway): the native services' ports."
        for svc in "${SERVICES[@]}"; do
            printf 'upstream %-11s { server 127.0.0.1:%s; }\n' "$svc" "${SERVICE_PORT[$svc]}"
        done
        printf 'upstream messaging_stream { server 127.0.0.1:%s; keepalive 32; }\n' "$STREAM_PORT"
        # shellcheck disable=SC2016  # nginx's variables, written as they are
        echo '# proxy_pass http://<upstream>$beyou_upstream_port: the blocks above (gateway/nginx.conf).'
        # shellcheck disable=SC2016
        echo 'map $host $beyou_upstream_port { default ""; }'
    } >"$dir/upstreams.conf"
    mkdir -p "$NGINX_DIR"
    nginx -t -q -p "$NGINX_DIR" -c "$dir/nginx.conf" -e stderr \
        || die "the gateway configuration does not pass nginx -t"
    warn_unless_workers_can_read "$WEB_DIST"
}

# nginx started as root runs its workers as its default user (nobody): a checkout under a
# directory only root may enter (/root) would leave the app unreadable, a 403 for every page.
warn_unless_workers_can_read() {
    local path=$1
    is_root || return 0   # otherwise the workers are this user, who can read the checkout
    while [[ $path != / ]]; do
        path=$(dirname "$path")
        if [[ -d $path && $(stat -c %A "$path") != d????????[xt] ]]; then
            warn "$path is not searchable by other users: nginx's workers cannot read web/dist (move the checkout, or chmod o+x $path)"
            return 0
        fi
    done
}

