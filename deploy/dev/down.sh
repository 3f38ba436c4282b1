#!/usr/bin/env bash
# Stop exactly what `make dev` started (`make dev-stop`):
#   - honcho and every process it runs (services, workers, gateway), by pid;
#   - PostgreSQL and RabbitMQ, but only if this project started them (infra.sh
#     leaves a marker in .dev/run/); a broker someone else runs is left alone.
# --apps-only stops the processes and leaves PostgreSQL and RabbitMQ running.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

apps_only=0
stopped_any=0
case "${1:-}" in
    --apps-only) apps_only=1 ;;
    "") ;;
    *) die "usage: $0 [--apps-only]" ;;
esac

stop_honcho() {
    local pid
    pid="$(live_pid "$RUN/honcho.pid")" || { rm -f "$RUN/honcho.pid"; return 0; }
    say "stopping the services, workers and gateway (honcho pid $pid)"
    stopped_any=1
    kill -TERM "$pid" 2>/dev/null || true
    # honcho gives its children 5 s after SIGTERM, then kills them.
    # Its process group (up.sh made honcho a session leader) also holds honcho's
    # helper processes; the services themselves are handled by stop_leftovers.
    wait_exit "$pid" 30 || { warn "honcho did not exit; killing it"; kill -KILL -- "-$pid" 2>/dev/null || true; }
    rm -f "$RUN/honcho.pid"
}

# Processes that outlived honcho (it was killed, or crashed). Each runs in its
# own process group (honcho starts them in new sessions), so the group id is the
# recorded pid and also covers e.g. gunicorn's workers.
stop_leftovers() {
    local file pid
    for file in "$RUN"/procs/*.pid; do
        [[ -e $file ]] || continue
        if pid="$(live_pid "$file")"; then
            warn "stopping leftover $(basename "$file" .pid) (pid $pid)"
            stopped_any=1
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            wait_exit "$pid" 25 || kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$file"
    done
}

stop_postgres() {
    [[ -f $RUN/postgres.started ]] || return 0
    local pgdata="$DEV/pgdata" pgctl
    [[ -f $pgdata/PG_VERSION ]] || { rm -f "$RUN/postgres.started"; return 0; }
    pgctl="$(ls -d /usr/lib/postgresql/"$(cat "$pgdata/PG_VERSION")"/bin/pg_ctl 2>/dev/null || command -v pg_ctl)"
    if [[ -f $pgdata/postmaster.pid ]]; then
        say "stopping PostgreSQL"
        stopped_any=1
        if is_root; then runuser -u postgres -- "$pgctl" -D "$pgdata" -m fast -w stop >/dev/null
        else "$pgctl" -D "$pgdata" -m fast -w stop >/dev/null; fi
    fi
    rm -f "$RUN/postgres.started"
}

stop_rabbitmq() {
    [[ -f $RUN/rabbitmq.started ]] || return 0
    if rabbitmqctl -q status >/dev/null 2>&1; then
        say "stopping RabbitMQ"
        stopped_any=1
        rabbitmqctl -q shutdown >/dev/null   # waits until the VM has exited
    fi
    rm -f "$RUN/rabbitmq.started"
}

stop_honcho
stop_leftovers
if [[ $apps_only -eq 0 ]]; then
    stop_postgres
    stop_rabbitmq
fi
if [[ $stopped_any -eq 1 ]]; then say "stopped"
elif [[ $apps_only -eq 0 ]]; then say "nothing of this checkout's stack was running"; fi
