"""Shared plumbing for BeYou services. Never domain code.

Modules:
  config      settings read from the environment
  app         the app factory every service uses
  errors      domain errors and the problem+json funnel
  logs        JSON logs and request ids
  health      /healthz and /readyz
  db          engine and sessions
  tables      the tables servicekit owns in every service database (outbox, inbox, revoked sessions)
  migrations  Alembic wiring and the `migrate` command
  tokens      access-token verification, decorators, revoked-session denylist
  events      the event bus: envelope, outbox, relay, consumer, dead letters
  worker      the worker process: relay + consumers
  testing     pytest fixtures (a pytest plugin)
"""
