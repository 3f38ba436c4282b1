"""gunicorn settings of every service's API, in one place (`gunicorn -c python:servicekit.gunicorn_conf`).

    gunicorn -c python:servicekit.gunicorn_conf --bind 127.0.0.1:8101 'auth:create_app()'

Used by the native stack (deploy/dev/up.sh), the images (services/*/Dockerfile) and the benchmarks'
bare Flask ceiling (bench/whoami.py), so all run alike. Options on the command line win over these.
Nothing is imported here but the standard library and servicekit.config (itself standard library only):
gunicorn's master reads this before it forks.
"""
import dataclasses
import glob
import os

from servicekit.config import ConfigError, FromEnvironment

workers = 2                 # sync workers; one per core on the reference machine
timeout = 30                # a worker silent this long is killed and replaced
graceful_timeout = 20       # at SIGTERM, requests in flight get this long (compose's stop_grace_period: 25 s)
# The gateway (gateway/nginx.conf) bounds the request line (8 KB), each header (8 KB) and all headers
# (32 KB) and answers beyond them with problem+json. gunicorn's own defaults are lower (a 4 KB line, 100
# header fields) and would answer a request the gateway passed with an HTML 414/431/400: leave the
# bounds to the gateway.
limit_request_line = 0          # unlimited
limit_request_fields = 32768    # gunicorn's maximum
limit_request_field_size = 0    # unlimited
# Nothing here uses gunicornc, and its default socket (~/.gunicorn/gunicorn.ctl) is one path for every
# gunicorn of the user, and cannot be created in the image.
control_socket_disable = True


# --- metrics (servicekit.metrics): workers record into PROMETHEUS_MULTIPROC_DIR, the master serves the sum ---
# Only when METRICS_PORT is set, and then PROMETHEUS_MULTIPROC_DIR must be too (prometheus-client reads it
# when it is first imported, in each worker): a directory of this gunicorn alone.

@dataclasses.dataclass(frozen=True, kw_only=True)
class MetricsEnvironment(FromEnvironment):
    metrics_port: int = 0                 # 0: no metrics served
    metrics_addr: str = "127.0.0.1"
    prometheus_multiproc_dir: str = ""


def on_starting(server):
    """Start from an empty multiprocess directory: files a previous run left would be counted again."""
    settings = MetricsEnvironment.load()
    if not settings.metrics_port:
        return
    if not settings.prometheus_multiproc_dir:
        raise ConfigError("METRICS_PORT is set but PROMETHEUS_MULTIPROC_DIR is not: the workers' metrics "
                          "need a directory of this gunicorn's own")
    os.makedirs(settings.prometheus_multiproc_dir, exist_ok=True)
    for stale in glob.glob(os.path.join(settings.prometheus_multiproc_dir, "*.db")):
        os.remove(stale)


def when_ready(server):
    """Serve the workers' metrics, summed, from the master (it outlives every worker)."""
    settings = MetricsEnvironment.load()
    if not settings.metrics_port:
        return
    # prometheus-client alone, not servicekit.metrics: the master must not import SQLAlchemy or Flask before
    # it forks (the stream process's gevent workers patch threads and sockets only after the fork).
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=settings.prometheus_multiproc_dir)
    start_http_server(settings.metrics_port, settings.metrics_addr, registry=registry)
    server.log.info("metrics served on %s:%s", settings.metrics_addr, settings.metrics_port)


def child_exit(server, worker):
    """A worker exited (or was killed): its live gauges go, its counters stay."""
    settings = MetricsEnvironment.load()
    if settings.metrics_port:
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid, path=settings.prometheus_multiproc_dir)
