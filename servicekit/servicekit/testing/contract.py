"""`ServiceContract`: the tests every service passes (each service's tests subclass it)."""
from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from servicekit.context import context_of
from servicekit.tables import metadata as servicekit_metadata
from servicekit.testing.event_contracts import asyncapi_errors
from servicekit.testing.openapi_conformance import nonconforming_answers
from servicekit.testing.waiting import wait_until


class ServiceContract:
    """What every service must do. A service's tests subclass it, set `service` and `metadata`
    (its models' MetaData), and provide `app` and `handlers` fixtures."""

    service: str
    metadata: sa.MetaData
    # Operations ("POST /api/<service>/logout") that end the caller's session: the OpenAPI conformance
    # test tries them without a token only, since one call with the caller's token would sign out the
    # caller that every other operation is tried with.
    session_ending_operations: tuple[str, ...] = ()

    def test_it_says_it_is_alive(self, app):
        response = app.test_client().get(f"/api/{self.service}/healthz")
        assert response.status_code == 200
        assert response.json == {"status": "ok", "service": self.service}

    def test_it_is_ready_when_its_database_answers_and_reports_the_broker(self, app):
        response = app.test_client().get(f"/api/{self.service}/readyz")
        assert response.status_code == 200, response.json
        assert response.json["status"] == "ready"
        assert response.json["database"] == "reachable"
        assert response.json["broker"] in {"reachable", "unreachable"}

    def test_it_serves_its_openapi_document(self, app):
        response = app.test_client().get(f"/api/{self.service}/openapi.json")
        assert response.status_code == 200
        assert response.json["openapi"].startswith("3.")
        assert f"/api/{self.service}/readyz" in response.json["paths"]

    def test_it_serves_an_asyncapi_document_of_its_events_that_the_asyncapi_schema_accepts(self, app):
        response = app.test_client().get(f"/api/{self.service}/asyncapi.json")
        assert response.status_code == 200
        assert asyncapi_errors(response.json) == []
        assert response.json["info"]["title"] == f"BeYou {self.service} events"
        assert response.json["operations"]["receive.auth.session.revoked"]["action"] == "receive"  # every worker

    def test_every_answer_matches_its_openapi_document(self, app, caller):
        _, headers = caller
        reports = nonconforming_answers(app, self.service, headers, session_ending=self.session_ending_operations)
        assert reports == [], "answers that the OpenAPI document does not describe (schemathesis):\n\n" + \
            "\n\n".join(reports)

    def test_every_answer_to_staff_matches_its_openapi_document(self, app, staff_caller):
        """The staff operations, which a plain user only ever sees refuse with 403, reached by staff."""
        _, headers = staff_caller
        reports = nonconforming_answers(app, self.service, headers, session_ending=self.session_ending_operations)
        assert reports == [], "answers to staff that the OpenAPI document does not describe (schemathesis):\n\n" + \
            "\n\n".join(reports)

    def test_an_unknown_path_is_a_problem_json_404(self, app):
        response = app.test_client().get(f"/api/{self.service}/no-such-thing")
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == 404

    def test_it_tells_a_signed_in_caller_who_they_are_and_refuses_others(self, app, caller):
        user_id, headers = caller
        client = app.test_client()
        response = client.get(f"/api/{self.service}/whoami", headers=headers)
        assert response.status_code == 200, response.json
        assert response.json["user_id"] == str(user_id)
        assert client.get(f"/api/{self.service}/whoami").status_code == 401

    def test_its_migrations_create_the_event_tables(self, app):
        tables = set(sa.inspect(context_of(app).db.engine).get_table_names())
        assert {"outbox", "inbox", "revoked_sessions", "alembic_version"} <= tables

    def test_its_migrations_and_its_models_agree(self, app):
        with context_of(app).db.engine.connect() as conn:
            migration = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(migration, [self.metadata, servicekit_metadata])
        assert differences == [], "a model and the migrations disagree (write a migration):\n" + "\n".join(
            map(repr, differences))

    def test_its_worker_records_a_revoked_session_from_the_bus(self, app, handlers, running_worker):
        from servicekit.events import Event, record
        from servicekit.tokens import session_is_revoked

        database = context_of(app).db
        running_worker(app, handlers)
        session_id = uuid.uuid4()
        with database.transaction() as session:  # stands in for auth: the event crosses the real bus
            record(session, Event.new("auth.session.revoked", {
                "session_id": session_id, "user_id": uuid.uuid4(), "revoked_at": dt.datetime.now(dt.UTC),
                "reason": "signed_out_by_user"}))

        def revoked():
            with database.session() as session:
                return session_is_revoked(session, session_id)
        wait_until(revoked, timeout=90, message="the revocation to reach the denylist")
