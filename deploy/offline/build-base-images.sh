#!/usr/bin/env bash
# Build every base image the compose stack needs from Debian packages, so that
# `make up OFFLINE=1` works on a host that cannot pull from any container registry.
#
#   deploy/offline/build-base-images.sh [--force]
#
# 1. debootstrap a minimal Debian bookworm (mirror taken from the host's apt
#    sources), add the host's CA bundle, `docker import` it as the Debian base;
# 2. `docker build` python, postgres, rabbitmq and nginx on top of it; apt inside
#    those builds reaches the same Debian mirror.
#
# The debootstrap base is the slow part (about two minutes), so an existing one is
# kept. The other images are always built: docker's layer cache makes that a
# no-op when nothing changed, and it picks up edits to their Dockerfiles.
# --force rebuilds everything from scratch (e.g. to pick up Debian security updates).
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/offline/images.sh
source "$here/images.sh"

SUITE=bookworm
force=0
case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

log() { printf '[offline] %s\n' "$*" >&2; }

# Run a noisy command quietly; show the end of its output only when it fails.
quietly() {
    local out
    out=$(mktemp)
    if ! "$@" >"$out" 2>&1; then
        tail -n 40 "$out" >&2
        rm -f "$out"
        log "failed: $*"
        return 1
    fi
    rm -f "$out"
}

rootfs=""
cleanup() {
    [[ -n $rootfs && -d $rootfs ]] || return 0
    # debootstrap mounts /proc and /sys inside the rootfs; never let rm cross into them.
    umount -R "$rootfs"/proc "$rootfs"/sys "$rootfs"/dev 2>/dev/null || true
    rm -rf --one-file-system "$rootfs"
}
trap cleanup EXIT

# First URI of the host's apt source for an exact suite (deb822 first, then the
# one-line format); empty when the host has none.
host_mirror() {
    local suite=$1
    if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
        awk -v suite="$suite" '
            BEGIN { RS = ""; FS = "\n" }
            {
                uri = ""; found = 0
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/)   { split($i, w, /[ \t]+/); uri = w[2] }
                    if ($i ~ /^Suites:/) { n = split($i, w, /[ \t]+/); for (j = 2; j <= n; j++) if (w[j] == suite) found = 1 }
                }
                if (found && uri != "") { print uri; exit }
            }' /etc/apt/sources.list.d/debian.sources
    fi
    if [[ -r /etc/apt/sources.list ]]; then
        sed -E 's/\[[^]]*\]//' /etc/apt/sources.list |
            awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }'
    fi
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

build_debian_base() {
    local image=$OFFLINE_DEBIAN_IMAGE
    if image_exists "$image" && (( ! force )); then
        log "$image exists (--force rebuilds it)"
        return
    fi
    (( EUID == 0 )) || { log "debootstrap needs root"; exit 1; }
    command -v debootstrap >/dev/null || quietly apt-get install -y -q debootstrap \
        || { quietly apt-get update -q && quietly apt-get install -y -q debootstrap; }

    local mirror security cache
    mirror=$(host_mirror "$SUITE" | head -n1)
    mirror=${mirror:-http://deb.debian.org/debian}
    security=$(host_mirror "$SUITE-security" | head -n1)
    security=${security:-http://deb.debian.org/debian-security}
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/beyou/debootstrap
    mkdir -p "$cache"
    rootfs=$(mktemp -d /var/tmp/beyou-rootfs.XXXXXX)

    log "debootstrap $SUITE from $mirror (minbase) ..."
    quietly debootstrap --variant=minbase --include=ca-certificates --cache-dir="$cache" \
        "$SUITE" "$rootfs" "$mirror"

    # What the official Debian images do: full apt sources (updates and security
    # included), no service starts from maintainer scripts, no recommends, no docs.
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 755 "$rootfs/usr/sbin/policy-rc.d"
    echo 'APT::Install-Recommends "false"; APT::Install-Suggests "false";' \
        >"$rootfs/etc/apt/apt.conf.d/90beyou-no-recommends"
    cat >"$rootfs/etc/apt/apt.conf.d/90beyou-docker-clean" <<'APT'
// Downloaded .debs and apt's caches would only bloat every image layer.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90beyou-no-docs" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
EOF

    # Trust what the build host trusts: behind a TLS-inspecting proxy pip inside
    # the containers needs the proxy's CA. Placed where update-ca-certificates
    # keeps it when a later package install regenerates the bundle.
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/ca-certificates/beyou-build-host.crt"

    cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    log "apt-get upgrade inside the rootfs (security updates) ..."
    quietly chroot "$rootfs" /bin/sh -ec '
        update-ca-certificates
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get -y -q upgrade
        apt-get clean
        rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/*.log
    '
    : >"$rootfs/etc/resolv.conf"   # docker provides its own

    log "docker import $image"
    tar --numeric-owner -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        --message "debootstrap --variant=minbase $SUITE $mirror" \
        - "$image" >/dev/null
}

# The host's pip index, when it uses a network one (file:// indexes exist only on the host).
host_pip_index() {
    local url=${PIP_INDEX_URL:-}
    [[ -n $url ]] || url=$(pip3 config get global.index-url 2>/dev/null || true)
    if [[ $url == http://* || $url == https://* ]]; then echo "$url"; fi
}

build_from_base() {
    local image=$1 dir=$2; shift 2
    local opts=()
    (( force )) && opts+=(--no-cache)
    log "docker build $image"
    quietly docker build "${opts[@]}" --build-arg BASE_IMAGE="$OFFLINE_DEBIAN_IMAGE" "$@" \
        -t "$image" "$here/$dir"
}

if ! docker info >/dev/null 2>&1; then
    echo "build-base-images: the docker engine is not running (make up starts it)" >&2
    exit 1
fi

start=$SECONDS
build_debian_base
build_from_base "$OFFLINE_PYTHON_IMAGE" python --build-arg PIP_INDEX_URL="$(host_pip_index)"
build_from_base "$OFFLINE_POSTGRES_IMAGE" postgres
build_from_base "$OFFLINE_RABBITMQ_IMAGE" rabbitmq
build_from_base "$OFFLINE_NGINX_IMAGE" nginx
log "base images ready in $((SECONDS - start))s"
