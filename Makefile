# BeYou — one entry point for developers, operators and CI.
# Every target installs and starts what it needs (see deploy/).

SHELL := /bin/bash
OFFLINE ?= 0
export OFFLINE

.PHONY: help install infra web dev dev-gateway dev-stop dev-logs up down deploy backup restore test test-api test-compose test-faults \
        test-backup test-rollout bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

install: ## Python virtualenv (.venv) with servicekit and every service, pinned by constraints.txt
	deploy/dev/python.sh

infra: ## PostgreSQL (project-local cluster), RabbitMQ and Nginx installed and running; databases and roles
	deploy/dev/infra.sh

web: ## web client: npm ci (when package-lock.json changed; OFFLINE=1 from npm's cache) and build into web/dist
	deploy/dev/web.sh

dev: ## whole system natively: services, workers and gateway on http://127.0.0.1:8080 (background)
	deploy/dev/up.sh

dev-gateway: ## re-render the native gateway's config from gateway/nginx.conf and reload nginx (no restart)
	deploy/dev/gateway-reload.sh

dev-stop: ## stop exactly what `make dev` started
	deploy/dev/down.sh

dev-logs: ## follow the native stack's logs
	tail -F .dev/logs/*.log

up: ## whole system in containers on http://localhost:8080 (OFFLINE=1 builds base images locally)
	deploy/compose/up.sh

deploy: ## roll out one service with no downtime: make deploy SERVICE=auth (compose; migrations first)
	deploy/compose/deploy.sh $(SERVICE)

backup: ## back up the compose stack (databases, identity documents, .env) into backups/<project>-<time>/
	deploy/compose/backup.sh

restore: ## restore a backup into the compose stack: make restore BACKUP=backups/<folder>
	deploy/compose/restore.sh $(BACKUP)

down: ## stop the containers (volumes kept; `deploy/compose/down.sh --volumes` removes them)
	deploy/compose/down.sh

test: ## every test against real PostgreSQL, RabbitMQ and Nginx
	deploy/dev/test.sh

test-api: ## schemathesis on every service's OpenAPI through the native gateway, anonymous and signed in (bounded)
	deploy/dev/fuzz.sh

test-faults: ## compose: a message load through broker/database restarts and SIGKILLs; nothing lost or doubled
	deploy/compose/faults.sh

test-backup: ## compose (beyou-backup, 18094): data made, backup, fresh stack, restore, data found
	deploy/compose/backup-test.sh

test-rollout: ## compose (beyou-rollout, 18093): failed requests under load, restart vs make deploy
	deploy/compose/rollout-check.sh

test-compose: ## compose smoke test: offline images, stack up, every service ready, stack down
	deploy/compose/smoke.sh

bench: ## benchmarks (print figures)
	deploy/dev/bench.sh
