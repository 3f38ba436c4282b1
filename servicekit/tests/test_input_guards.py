"""Input no client should be able to turn into a 500: NUL characters anywhere, JSON nested
too deeply to parse, and a database that is away (a 503 to come back later, not a bug).
Also: the OpenAPI document says errors are problem+json, as they are sent."""
import io
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.views import MethodView
from marshmallow import Schema, fields

import demo_service as demo
from servicekit.api import Blueprint
from servicekit.app import create_service_app
from servicekit.context import context_of
from servicekit.db import request_session

CLOSED_DATABASE = "postgresql+psycopg2://x:y@127.0.0.1:1/x"


class Query(Schema):
    name = fields.String(load_default=None)


class Body(Schema):
    name = fields.String(required=True)
    tags = fields.List(fields.String(), load_default=list)
    extra = fields.Dict(load_default=dict)


def guarded_app(overrides):
    """A service with input in every place a client can put it: path, query, JSON, form."""
    blp = Blueprint("echo", __name__)

    @blp.route("/echo/<string:word>")
    class Echo(MethodView):
        @blp.arguments(Query, location="query")
        @blp.response(200, Query)
        def get(self, query, word):
            """The word and the query, after a round trip through the database"""
            request_session().execute(sa.text("SELECT :word"), {"word": word})
            return query

        @blp.arguments(Body)
        @blp.response(200, Body)
        def post(self, body, word):
            """The JSON body"""
            return body

        @blp.arguments(Query, location="form")
        @blp.response(200, Query)
        def put(self, form, word):
            """The form"""
            return form

    return create_service_app(demo.DemoSettings.load(overrides), Path(demo.__file__).parent, [blp])


@pytest.fixture
def guarded(overrides):
    app = guarded_app(overrides)
    yield app.test_client()
    context_of(app).db.dispose()


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.json


@pytest.mark.parametrize("body", [
    {"name": "nul\x00here"},
    {"name": "ok", "tags": ["fine", "a\x00b"]},
    {"name": "ok", "extra": {"deep": {"deeper": ["\x00"]}}},
    {"name": "ok", "extra": {"key\x00": 1}},
    {"name": "lone \ud800 surrogate"},
    {"name": "ok", "tags": ["\udfff"]},
])
def test_a_nul_character_anywhere_in_a_json_body_is_a_422_naming_the_field(guarded, body):
    errors = assert_problem(guarded.post("/api/test/echo/word", json=body), 422)["errors"]

    assert any("NUL" in " ".join(messages) for messages in errors.values())


def test_a_lone_surrogate_in_raw_json_is_a_422_naming_the_field(guarded):
    body = '{"name": "ab\\ud800"}'  # valid JSON whose string Python decodes to an unpaired surrogate

    errors = assert_problem(guarded.post("/api/test/echo/word", data=body, content_type="application/json"), 422)

    assert set(errors["errors"]) == {"name"}


def test_a_nul_character_in_the_query_or_a_form_is_a_422(guarded):
    query = assert_problem(guarded.get("/api/test/echo/word", query_string={"name": "a\x00b"}), 422)
    form = assert_problem(guarded.put("/api/test/echo/word", data={"name": "a\x00b"}), 422)

    assert "name" in query["errors"] and "name" in form["errors"]


def test_a_nul_character_in_the_path_is_a_400_and_reaches_no_database(guarded):
    assert_problem(guarded.get("/api/test/echo/a%00b"), 400)
    assert_problem(guarded.get("/api/test/no/such/a%00b"), 400)


def test_clean_input_passes_the_guards(guarded):
    assert guarded.get("/api/test/echo/word", query_string={"name": "ünïcode ✓"}).json == {"name": "ünïcode ✓"}
    assert guarded.post("/api/test/echo/word", json={"name": "x", "tags": ["a"]}).status_code == 200


@pytest.mark.parametrize("body, content_type", [
    ("name=x", "application/x-www-form-urlencoded"),
    ('{"name": "x"}', "text/plain"),
    ('{"name": "x"}', None),
])
def test_a_body_of_another_type_where_json_is_read_is_a_415(guarded, body, content_type):
    response = guarded.post("/api/test/echo/word", data=body, content_type=content_type)

    assert_problem(response, 415)


def test_no_body_where_json_is_read_is_judged_as_an_empty_object(guarded):
    errors = assert_problem(guarded.post("/api/test/echo/word"), 422)["errors"]

    assert "name" in errors


def test_a_json_body_that_cannot_be_read_is_a_400_and_both_are_documented(guarded):
    assert_problem(guarded.post("/api/test/echo/word", data=b"\x19q\xff", content_type="application/json"), 400)

    operations = guarded.get("/api/test/openapi.json").json["paths"]["/api/test/echo/{word}"]
    assert {"400", "415"} <= set(operations["post"]["responses"])
    assert not {"400", "415"} & set(operations["put"]["responses"])   # a form


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_too_deeply_is_a_400_not_a_crash(guarded, depth):
    body = '{"name": "x", "extra": ' + '{"a": ' * depth + "1" + "}" * depth + "}"

    response = guarded.post("/api/test/echo/word", data=body, content_type="application/json")

    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"


def test_a_list_nested_100k_deep_is_a_400(guarded):
    body = "[" * 100_000 + "]" * 100_000

    assert_problem(guarded.post("/api/test/echo/word", data=body, content_type="application/json"), 400)


def test_a_database_that_is_away_is_a_503_with_retry_after_logged_once_per_outage(overrides):
    app = guarded_app({**overrides, "DATABASE_URL": CLOSED_DATABASE})
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_servicekit", False))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        answers = [app.test_client().get("/api/test/echo/word") for _ in range(3)]
    finally:
        handler.setStream(previous)
        context_of(app).db.dispose()

    for response in answers:
        body = assert_problem(response, 503)
        assert response.headers["Retry-After"]
        assert "127.0.0.1" not in body["detail"]
    logged = stream.getvalue()
    assert logged.count("database unreachable") == 1  # once for the outage, not once per request
    assert "Traceback" not in logged and "unhandled error" not in logged


def test_the_openapi_document_declares_errors_as_problem_json_and_health_as_200(guarded):
    spec = guarded.get("/api/test/openapi.json").json

    responses = spec["components"]["responses"]
    assert set(responses["UNPROCESSABLE_ENTITY"]["content"]) == {"application/problem+json"}
    assert set(responses["DEFAULT_ERROR"]["content"]) == {"application/problem+json"}
    assert "200" in spec["paths"]["/api/test/healthz"]["get"]["responses"]
    ready = spec["paths"]["/api/test/readyz"]["get"]["responses"]
    assert "200" in ready and set(ready["503"]["content"]) == {"application/problem+json"}
    whoami = spec["paths"]["/api/test/whoami"]["get"]["responses"]
    assert set(whoami["401"]["content"]) == {"application/problem+json"}
