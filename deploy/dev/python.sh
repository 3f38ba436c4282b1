#!/usr/bin/env bash
# The project virtualenv (.venv): servicekit, every service and the client
# installed editable, pinned by constraints.txt and constraints-dev.txt, plus the dev tools
# (constraints-fuzz.txt and constraints-bench.txt pin venvs of their own: .dev/fuzz-venv, .dev/bench-venv).
# Idempotent: pip runs only when the dependency declarations changed since the
# last successful install (hash stamp inside .venv).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

STAMP="$VENV/.beyou-deps.sha256"

ensure_python() {
    if ! command -v python3 >/dev/null; then
        apt_install python3 python3-venv
    fi
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "python3 >= 3.11 needed, found $(python3 --version 2>&1)"
    # Debian splits ensurepip (needed by venv) into python3-venv.
    if ! python3 -c 'import ensurepip' 2>/dev/null; then
        apt_install python3-venv
    fi
}

ensure_venv() {
    if [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c 'import pip' 2>/dev/null; then
        return
    fi
    ensure_python
    say "creating $VENV"
    # --clear: a broken venv (e.g. its base python is gone) is rebuilt from scratch.
    python3 -m venv --clear "$VENV"
}

# Editable packages: every directory with a pyproject.toml among servicekit,
# the services and the client (packages still being written are picked up on
# the next run, because the hash covers the list of pyproject files too).
packages() {
    local p
    for p in servicekit/pyproject.toml services/*/pyproject.toml client/pyproject.toml; do
        [[ -f $p ]] && printf '%s\n' "$(dirname "$p")"
    done
    return 0
}

deps_hash() {
    local files=(constraints.txt constraints-dev.txt requirements-dev.txt)
    mapfile -t -O "${#files[@]}" files < <(packages | sed 's|$|/pyproject.toml|')
    # The paths are part of the hash, so adding a package triggers an install.
    { printf '%s\n' "${files[@]}"; cat "${files[@]}"; } | sha256sum | cut -d' ' -f1
}

ensure_venv
mapfile -t pkgs < <(packages)
for svc in "${SERVICES[@]}"; do
    [[ -f services/$svc/pyproject.toml ]] || warn "services/$svc has no pyproject.toml yet; not installed"
done

want="$(deps_hash)"
if [[ -f $STAMP && "$(cat "$STAMP")" == "$want" ]]; then
    say "python environment up to date ($VENV)"
    exit 0
fi

say "installing python dependencies into $VENV"
editable=()
for p in "${pkgs[@]}"; do editable+=(-e "$p"); done
"$VENV/bin/pip" install --disable-pip-version-check -qq \
    -c constraints-dev.txt -r requirements-dev.txt "${editable[@]}"
echo "$want" >"$STAMP"
say "python environment ready ($VENV)"
