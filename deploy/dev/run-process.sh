#!/usr/bin/env bash
# One process of the native stack, as listed in the Procfile that up.sh writes:
#   run-process.sh <name> <env file or -> <command...>
# Loads the env file, records the pid (down.sh uses it should honcho die first),
# appends all output to .dev/logs/<name>.log, then becomes the command.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=$1 envfile=$2
shift 2
[[ $envfile == - ]] || load_env "$envfile"
mkdir -p "$RUN/procs"
record_pid $$ "$RUN/procs/$name.pid"
exec "$@" >>"$LOGS/$name.log" 2>&1
