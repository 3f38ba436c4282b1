"""The OpenAPI conformance check every service runs (ServiceContract), tried on services
that answer as documented and on routes that do not: it must tell them apart."""
import datetime as dt
from pathlib import Path

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields
from schemathesis.checks import not_a_server_error

import demo_service as demo
from servicekit.api import Blueprint
from servicekit.app import create_service_app
from servicekit.context import context_of
from servicekit.db import request_session
from servicekit.errors import Conflict
from servicekit.testing.openapi_conformance import CONFORMANCE_CHECKS, nonconforming_answers
from servicekit.tokens import current_principal, deny_session

CLOSED_DATABASE = "postgresql+psycopg2://x:y@127.0.0.1:1/x"


class Period(Schema):
    since = fields.AwareDateTime(data_key="from", load_default=None)


class Count(Schema):
    count = fields.Integer()


def honest_routes() -> Blueprint:
    blp = Blueprint("honest", __name__)

    @blp.route("/attempts")
    class Attempts(MethodView):
        @blp.arguments(Period, location="query")
        @blp.response(200, Count)
        def get(self, period):
            """How many of three moments come after `from` (PostgreSQL compares them)"""
            moments = sa.values(sa.column("at", sa.DateTime(timezone=True)), name="moments").data(
                [(dt.datetime(2000, 1, 1, tzinfo=dt.UTC),), (dt.datetime(2020, 1, 1, tzinfo=dt.UTC),),
                 (dt.datetime(2040, 1, 1, tzinfo=dt.UTC),)])
            since = period["since"] or dt.datetime.min.replace(tzinfo=dt.UTC)
            query = sa.select(sa.func.count()).select_from(moments).where(moments.c.at >= since)
            return {"count": request_session().scalar(query)}

    return blp


def lying_routes() -> Blueprint:
    blp = Blueprint("lying", __name__)

    @blp.route("/null-count")
    class NullCount(MethodView):
        @blp.response(200, Count)
        def get(self):
            """Says an integer, sends null"""
            return {"count": None}

    @blp.route("/undocumented-conflict")
    class UndocumentedConflict(MethodView):
        @blp.response(200, Count)
        def get(self):
            """Documents 200 only, answers 409"""
            raise Conflict("not documented")

    @blp.route("/plain-json-error")
    class PlainJsonError(MethodView):
        @blp.response(200, Count)
        @blp.alt_response(400, description="Documented as problem+json")
        def get(self):
            """Sends its error as application/json"""
            return Response('{"status": 400}', status=400, mimetype="application/json")

    @blp.route("/crash")
    class Crash(MethodView):
        @blp.response(200, Count)
        def get(self):
            """Fails unexpectedly"""
            raise RuntimeError("a bug")

    @blp.route("/open-door")
    class OpenDoor(MethodView):
        @blp.doc(security=[{"bearerAuth": []}])
        @blp.alt_response(401, description="Documented as needing a token")
        @blp.response(200, Count)
        def get(self):
            """Needs a token, says the document; answers without one"""
            return {"count": 1}

    return blp


def sign_out_route() -> Blueprint:
    blp = Blueprint("sign_out", __name__)

    @blp.route("/sign-out")
    class SignOut(MethodView):
        @blp.login_required
        @blp.response(204)
        def post(self):
            """Ends the caller's session"""
            principal, session = current_principal(), request_session()
            deny_session(session, session_id=principal.session_id, user_id=principal.user_id,
                         revoked_at=dt.datetime.now(dt.UTC))
            session.commit()

    return blp


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app_of(overrides):
    """`app_of(*blueprints, **settings)`: a demo service (name `test`) serving these routes besides servicekit's own."""
    apps = []

    def make(*blueprints, **settings):
        apps.append(create_service_app(demo.DemoSettings.load({**overrides, **settings}), Path(demo.__file__).parent,
                                       blueprints))
        return apps[-1]
    yield make
    for app in apps:
        context_of(app).db.dispose()


def reports_by_operation(reports):
    return {report.split(":\n", 1)[0]: report for report in reports}


def test_a_service_that_answers_as_documented_passes(app_of, caller):
    _, headers = caller

    assert nonconforming_answers(app_of(honest_routes()), "test", headers) == []


def test_every_kind_of_undocumented_answer_is_reported_with_the_request_that_got_it(app_of, caller):
    _, headers = caller

    reports = reports_by_operation(nonconforming_answers(app_of(lying_routes()), "test", headers))

    assert set(reports) == {
        "GET /api/test/null-count", "GET /api/test/undocumented-conflict", "GET /api/test/plain-json-error",
        "GET /api/test/crash", "GET /api/test/open-door without a valid token"}
    assert "Response violates schema" in reports["GET /api/test/null-count"]
    assert "Undocumented status 409" in reports["GET /api/test/undocumented-conflict"]
    assert "Undocumented Content-Type" in reports["GET /api/test/plain-json-error"]
    assert "Server error" in reports["GET /api/test/crash"]
    assert "answered 200 without a valid token" in reports["GET /api/test/open-door without a valid token"]
    assert all("curl -X GET" in report for report in reports.values())


def test_an_operation_that_signs_the_caller_out_must_be_declared(app_of, token_issuer):
    app = app_of(sign_out_route())

    undeclared = nonconforming_answers(app, "test", bearer(token_issuer.issue()))
    declared = nonconforming_answers(app, "test", bearer(token_issuer.issue()),
                                     session_ending=["POST /api/test/sign-out"])

    assert any(report.startswith("POST /api/test/sign-out signed the caller out") for report in undeclared)
    assert declared == []


def test_a_service_whose_database_is_away_is_unready_as_documented_with_retry_after(app_of):
    app = app_of(DATABASE_URL=CLOSED_DATABASE)
    readyz = schemathesis.openapi.from_wsgi("/api/test/openapi.json", app)["/api/test/readyz"]["GET"]

    response = readyz.Case().call_and_validate(checks=CONFORMANCE_CHECKS, excluded_checks=[not_a_server_error])

    assert response.status_code == 503
    assert "Retry-After" in readyz.definition.raw["responses"]["503"]["headers"]


@pytest.mark.parametrize("offset", ["+16:00", "-16:00", "+23:59"])
def test_a_time_whose_utc_offset_postgresql_cannot_store_is_a_422_naming_the_field(app_of, offset):
    client = app_of(honest_routes()).test_client()

    response = client.get("/api/test/attempts", query_string={"from": f"2010-01-01T00:00:00{offset}"})

    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert list(response.json["errors"]) == ["from"]


@pytest.mark.parametrize("offset", ["+15:59", "-15:59", "Z"])
def test_a_time_with_any_offset_postgresql_stores_reaches_the_database(app_of, offset):
    client = app_of(honest_routes()).test_client()

    response = client.get("/api/test/attempts", query_string={"from": f"2010-01-01T00:00:00{offset}"})

    assert response.json == {"count": 2}
