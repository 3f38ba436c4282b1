#!/bin/bash
# What docker-compose.yml relies on in the official rabbitmq image, for the
# Debian-built one:
#   - RABBITMQ_DEFAULT_USER / _PASS / _VHOST become the broker's defaults; RabbitMQ
#     creates that user and vhost on the first boot of an empty data volume;
#   - logs go to stdout (Debian's wrapper would write them to files);
#   - the broker runs as the rabbitmq user.
set -Eeuo pipefail

if [[ ${1:-} != rabbitmq-server ]]; then
    exec "$@"
fi

conf=/etc/rabbitmq/rabbitmq.conf
{
    echo 'listeners.tcp.default = 5672'
    echo 'loopback_users.guest = false'
    echo 'log.console = true'
    echo 'log.console.level = info'
    echo 'log.file = false'
    [[ -n ${RABBITMQ_DEFAULT_USER:-} ]] && echo "default_user = $RABBITMQ_DEFAULT_USER"
    [[ -n ${RABBITMQ_DEFAULT_PASS:-} ]] && echo "default_pass = $RABBITMQ_DEFAULT_PASS"
    [[ -n ${RABBITMQ_DEFAULT_VHOST:-} ]] && echo "default_vhost = $RABBITMQ_DEFAULT_VHOST"
    true
} >"$conf"
chown root:rabbitmq "$conf"
chmod 640 "$conf"      # it holds the default password

mkdir -p /var/lib/rabbitmq /var/log/rabbitmq
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
cd /var/lib/rabbitmq
export HOME=/var/lib/rabbitmq RABBITMQ_LOGS=-
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
    /usr/lib/rabbitmq/bin/rabbitmq-server "${@:2}"
