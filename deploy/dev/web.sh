#!/usr/bin/env bash
# The web client (`make web`): web/'s npm dependencies as pinned by package-lock.json,
# then the production build (`npm run build`: type check + Vite) into web/dist, which
# the gateway serves at / (natively straight from web/dist; gateway/Dockerfile copies
# it into the image, see deploy/compose/up.sh).
#
#   OFFLINE=1      npm ci --offline: only npm's cache (~/.npm), no registry
#   --if-stale     build only when web/dist is missing or older than its sources
#                  (what `make dev` and `make test` use)
#
# npm ci runs only when package-lock.json changed since the last install (a hash
# stamp inside node_modules). The build goes to a scratch directory first and
# replaces web/dist only when it succeeded, so a running gateway never serves a
# half-written app. One build at a time per checkout (a lock).
# Node: Vite 8 needs ^20.19 or >= 22.12 (package.json's engines): the machine's own when it
# is recent enough, else a pinned official build from the npm registry (lib.sh ensure_node).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT/web"

STAMP=node_modules/.beyou-lock.sha256
SCRATCH="$DEV/web-build"
LOCK="$RUN/web.lock"

if_stale=0
for arg in "$@"; do
    case $arg in
        --if-stale) if_stale=1 ;;
        *) die "usage: deploy/dev/web.sh [--if-stale]" ;;
    esac
done

lock_hash() { sha256sum package-lock.json | cut -d' ' -f1; }

install_dependencies() {
    if [[ -f $STAMP && "$(cat "$STAMP")" == "$(lock_hash)" ]]; then
        return 0
    fi
    local mode=(--prefer-offline)
    [[ ${OFFLINE:-0} == 1 ]] && mode=(--offline)
    say "npm ci ${mode[*]} (web/package-lock.json changed since the last install)"
    npm ci "${mode[@]}" --no-audit --no-fund \
        || die "npm ci failed$([[ ${OFFLINE:-0} == 1 ]] && echo ": with OFFLINE=1 every package must be in npm's cache ($(npm config get cache)); run once online")"
    lock_hash >"$STAMP"
}

# True when web/dist is missing or some input of the build is newer than it.
stale() {
    [[ -f dist/index.html ]] || return 0
    [[ -n $(find src public index.html package-lock.json vite.config.ts tsconfig.json \
                 -newer dist/index.html -print -quit 2>/dev/null) ]]
}

build() {
    say "building the web client into web/dist"
    rm -rf "$SCRATCH"
    # Vite's outDir outside web/ must be emptied explicitly; it is a fresh directory anyway.
    npm run build -- --outDir "$SCRATCH" --emptyOutDir || die "the web client's build failed (output above)"
    [[ -f $SCRATCH/index.html ]] || die "the build wrote no index.html into $SCRATCH"
    # Two renames, back to back: the gateway serves the old app or the new one, never a
    # half-written one (between the renames, for an instant, none: a 404).
    rm -rf dist.old
    if [[ -d dist ]]; then mv dist dist.old; fi
    mv "$SCRATCH" dist
    rm -rf dist.old
    say "web client built: web/dist ($(du -sh dist | cut -f1))"
}

mkdir -p "$RUN" "$DEV"
exec 9>"$LOCK"
flock 9
ensure_node
# A changed package-lock.json is newer than web/dist: stale, so installed and rebuilt.
if (( if_stale )) && ! stale; then
    exit 0
fi
install_dependencies
build
