# shellcheck shell=bash disable=SC2034  # the names are used by the scripts that source this
# Names of the locally built base images (sourced by build-base-images.sh and
# deploy/compose/*.sh). One place, so `make up OFFLINE=1` and the builder agree.
OFFLINE_PREFIX=${OFFLINE_PREFIX:-beyou-offline}
OFFLINE_DEBIAN_IMAGE=$OFFLINE_PREFIX/debian:bookworm
OFFLINE_PYTHON_IMAGE=$OFFLINE_PREFIX/python:3.11-bookworm
OFFLINE_POSTGRES_IMAGE=$OFFLINE_PREFIX/postgres:15-bookworm
OFFLINE_RABBITMQ_IMAGE=$OFFLINE_PREFIX/rabbitmq:3.10-bookworm
OFFLINE_NGINX_IMAGE=$OFFLINE_PREFIX/nginx:1.22-bookworm

# Point docker-compose.yml's ${*_IMAGE} variables at the offline images.
use_offline_images() {
    export PYTHON_IMAGE=$OFFLINE_PYTHON_IMAGE
    export POSTGRES_IMAGE=$OFFLINE_POSTGRES_IMAGE
    export RABBITMQ_IMAGE=$OFFLINE_RABBITMQ_IMAGE
    export NGINX_IMAGE=$OFFLINE_NGINX_IMAGE
    export DEBIAN_IMAGE=$OFFLINE_DEBIAN_IMAGE   # the monitoring profile's Prometheus (deploy/monitoring)
}
