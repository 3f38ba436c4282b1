"""gunicorn settings of every service's API, in one place (`gunicorn -c python:servicekit.gunicorn_conf`).

    gunicorn -c python:servicekit.gunicorn_conf --bind 127.0.0.1:8101 'auth:create_app()'

Used by the native stack (deploy/dev/up.sh), the images (services/*/Dockerfile) and the benchmarks'
bare Flask ceiling (bench/whoami.py), so all run alike. Options on the command line win over these.
Nothing is imported here but the standard library: gunicorn's master reads this before it forks.
"""
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
