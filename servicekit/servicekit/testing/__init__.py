"""pytest fixtures every BeYou test suite reuses (loaded as a pytest plugin).

Real infrastructure only: `make test` starts PostgreSQL and RabbitMQ and exports
BEYOU_TEST_PG_ADMIN_URL and BEYOU_TEST_AMQP_URL. Each test session gets fresh
databases (dropped at the end) and its own bus namespace, so runs never see
each other's events.

    databases  fresh databases; migrated_app(create_app); settings, database, session of the app under test
    bus        the bus namespace, event_probe, running_worker(app, handlers), connected_worker (on an empty queue,
               once connected)
    tokens     token_issuer (real EdDSA tokens, a JWKS over HTTP), caller, staff_caller
    contract   ServiceContract, the tests every service passes
    event_contracts      example payloads from a producer's schema, what a consumer's schema refuses,
                         AsyncAPI validation (tests/test_event_contracts.py, ServiceContract)
    openapi_conformance  schemathesis over every operation of an app (ServiceContract)
    gateway    not loaded with the plugin: gateway_url (the native stack, started if need be), new_client (one
               loopback address per user), create_staff, for the suites through the gateway; a conftest.py
               imports them
"""
from servicekit.testing.bus import (EventProbe, amqp_url, bus_consumers, bus_namespace, connected_worker,
                                    delete_namespace, event_probe, running_worker)
from servicekit.testing.contract import ServiceContract
from servicekit.testing.databases import (DatabaseFactory, database, databases, migrated_app, pg_admin_url, session,
                                          settings, settings_overrides)
from servicekit.testing.tokens import TokenIssuer, caller, staff_caller, token_issuer
from servicekit.testing.waiting import retried_while, wait_until

__all__ = [
    "DatabaseFactory", "EventProbe", "ServiceContract", "TokenIssuer", "amqp_url", "bus_consumers", "bus_namespace",
    "caller", "connected_worker", "database", "databases", "delete_namespace", "event_probe", "migrated_app", "pg_admin_url",
    "retried_while", "running_worker", "session", "settings", "settings_overrides", "staff_caller", "token_issuer", "wait_until",
]
