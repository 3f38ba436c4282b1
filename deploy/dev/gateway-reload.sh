#!/usr/bin/env bash
# `make dev-gateway`: the running native gateway picks up a change to gateway/nginx.conf
# without a restart of the stack. The configuration is rendered again (as deploy/dev/up.sh
# does at start) into a scratch directory and checked with nginx -t; only then does it
# replace .dev/nginx's, and nginx reloads gracefully (SIGHUP: new workers take the new
# configuration, the old ones finish their requests, live streams included, then exit).
# A configuration nginx refuses leaves the running one untouched.
#
#   --if-changed   do nothing when the rendered configuration is what runs already
#                  (what `make dev` does when the stack is up)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

if_changed=0
for arg in "$@"; do
    case $arg in
        --if-changed) if_changed=1 ;;
        *) die "usage: deploy/dev/gateway-reload.sh [--if-changed]" ;;
    esac
done

live_pid "$RUN/honcho.pid" >/dev/null || die "the native stack is not running (make dev starts it)"
[[ -s $NGINX_DIR/nginx.pid ]] || die "the gateway has no pid file ($NGINX_DIR/nginx.pid): is it running? (.dev/logs/gateway.log)"

STAGED="$NGINX_DIR/staged"
trap 'rm -rf "$STAGED"' EXIT
render_gateway "$STAGED"

if (( if_changed )) && cmp -s "$STAGED/nginx.conf" "$NGINX_DIR/nginx.conf" \
        && cmp -s "$STAGED/upstreams.conf" "$NGINX_DIR/upstreams.conf"; then
    exit 0
fi
cp "$STAGED/nginx.conf" "$STAGED/upstreams.conf" "$NGINX_DIR/"
nginx -s reload -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e stderr \
    || die "nginx did not accept the reload signal (.dev/logs/gateway.log)"
say "gateway reloaded with the current gateway/nginx.conf"
