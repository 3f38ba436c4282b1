#!/usr/bin/env bash
# The smoke journey (tests/test_system_journey.py -k smoke) against a compose stack that is up: two users
# register (proof of work), sign in, make and register keys, become friends and exchange an end-to-end
# message that the client proves in the ledger; staff, made the operator's way (`flask --app auth
# create-staff` in the auth container), verify a seller, and a sale goes through.
#
# The stack is the one COMPOSE_PROJECT_NAME names, its gateway on 127.0.0.1:BEYOU_HTTP_PORT, as
# deploy/compose/smoke.sh sets them (defaults: beyou, 8080). Extra arguments go to pytest (e.g. -x, -v).
# Runs in the project's virtualenv (made or refreshed by deploy/dev/python.sh, as `make install` does).
set -Eeuo pipefail
# shellcheck source=deploy/compose/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Staff are made with lib.sh's compose(), which picks `docker compose` or docker-compose 1.29; the test appends
# the account's options and gives the password on stdin.
# shellcheck disable=SC2016  # expanded by that bash, not this one
staff_command=(bash -c 'source "$0" && compose exec -T auth flask --app auth create-staff "$@"'
               "$ROOT/deploy/compose/lib.sh")

cd "$ROOT"
"$ROOT/deploy/dev/python.sh" >&2
# -p: the module that adds --gateway-url and --staff-command (servicekit.testing.gateway).
exec "$ROOT/.venv/bin/pytest" -p servicekit.testing.gateway tests/test_system_journey.py -k smoke \
    --gateway-url "http://127.0.0.1:$BEYOU_HTTP_PORT" --staff-command "${staff_command[*]@Q}" "$@"
