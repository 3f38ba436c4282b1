#!/usr/bin/env bash
# Print the path of a promtool, fetching it when there is none: promtool comes in Debian's `prometheus`
# package, which is unpacked (not installed) into .dev/tools, so no Prometheus server is set up or
# started on this machine. tests/test_monitoring.py checks the configuration and rules with it.
set -euo pipefail
# shellcheck source=deploy/dev/lib.sh
. "$(dirname "$0")/../dev/lib.sh"

TOOLS="$DEV/tools/prometheus"
if command -v promtool >/dev/null; then
    command -v promtool
    exit 0
fi
if [[ ! -x $TOOLS/usr/bin/promtool ]]; then
    download=$(mktemp -d)
    trap 'rm -rf "$download"' EXIT
    say "fetching Debian's prometheus package for promtool"
    if ! (cd "$download" && apt-get download -q prometheus >&2); then
        is_root || die "apt-get download prometheus failed (and apt-get update needs root)"
        apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
        (cd "$download" && apt-get download -q prometheus >&2)
    fi
    rm -rf "$TOOLS"
    mkdir -p "$TOOLS"
    dpkg-deb -x "$download"/prometheus_*.deb "$TOOLS"
fi
echo "$TOOLS/usr/bin/promtool"
