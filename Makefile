# BeYou — one entry point for developers, operators and CI.
# Every target installs and starts what it needs (see deploy/).

SHELL := /bin/bash
OFFLINE ?= 0
export OFFLINE

.PHONY: help install infra dev dev-stop dev-logs up down test test-compose bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

install: ## Python virtualenv (.venv) with servicekit and every service, pinned by constraints.txt
	deploy/dev/python.sh

infra: ## PostgreSQL (project-local cluster), RabbitMQ and Nginx installed and running; databases and roles
	deploy/dev/infra.sh

dev: ## whole system natively: services, workers and gateway on http://127.0.0.1:8080 (background)
	deploy/dev/up.sh

dev-stop: ## stop exactly what `make dev` started
	deploy/dev/down.sh

dev-logs: ## follow the native stack's logs
	tail -F .dev/logs/*.log

up: ## whole system in containers on http://localhost:8080 (OFFLINE=1 builds base images locally)
	deploy/compose/up.sh

down: ## stop the containers (volumes kept; `deploy/compose/down.sh --volumes` removes them)
	deploy/compose/down.sh

test: ## every test against real PostgreSQL, RabbitMQ and Nginx
	deploy/dev/test.sh

test-compose: ## compose smoke test: offline images, stack up, every service ready, stack down
	deploy/compose/smoke.sh

bench: ## benchmarks (print figures)
	deploy/dev/bench.sh
