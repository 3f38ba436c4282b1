"""gunicorn settings of messaging's stream process, which serves GET /api/messaging/stream.

    gunicorn -c services/messaging/gunicorn_stream.py --bind 127.0.0.1:8113 'messaging:create_app()'

The same app as messaging's API, under gunicorn's gevent worker: a Server-Sent Events stream
stays open for as long as its access token lives, and a sync worker would be held by each one
(two workers, two open streams). Under gevent an open stream is a greenlet waiting on its queue
(messaging/stream.py), a few kilobytes; one process holds thousands, all fed by ONE PostgreSQL
LISTEN connection per worker. The gateway sends only /api/messaging/stream here.

This file is outside the messaging package on purpose: gunicorn's master reads it before it
forks, and the app's modules (SQLAlchemy's pool, the token verifier's threads) must be imported
only in the workers, after gevent has patched threads, sockets and select.
"""
import resource

worker_class = "gevent"
workers = 2                 # both cores for writing events; each worker has its own LISTEN connection
worker_connections = 4096   # open streams per worker (the goal is 2,000 in all)
# An async worker reports itself alive from its own loop, so a long stream never trips `timeout`.
timeout = 30
# Streams never end by themselves: at a shutdown they are cut after this, and every client resumes
# with Last-Event-ID (nothing is lost).
graceful_timeout = 5
# Longer than nginx keeps an idle upstream connection (60 s), so the gateway never reuses one
# that gunicorn is closing.
keepalive = 75
# The request bounds and the control socket as every API's (servicekit.gunicorn_conf imports nothing but
# the standard library, so reading it here imports none of the app's modules before the fork).
from servicekit.gunicorn_conf import (control_socket_disable, limit_request_field_size,  # noqa: E402,F401
                                      limit_request_fields, limit_request_line)
# Its metrics as every API's: the master serves on METRICS_PORT what the workers record (servicekit.metrics).
from servicekit.gunicorn_conf import child_exit, when_ready  # noqa: E402,F401
from servicekit.gunicorn_conf import on_starting as start_metrics_afresh  # noqa: E402


def on_starting(server):
    """Every open stream is a file descriptor: lift the soft limit (often 1024) to the hard one."""
    start_metrics_afresh(server)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as exc:
            server.log.warning("open files stay limited to %s: %s", soft, exc)


def post_fork(server, worker):
    """psycopg2 waits for PostgreSQL through gevent (psycogreen), so a query holds up only its own stream."""
    from psycogreen.gevent import patch_psycopg
    patch_psycopg()
