"""Keyset pagination: every row exactly once and in order, whatever the page size; a
cursor that was not handed out (garbled, forged, for other keys) is a 422, never a
database error."""
import base64
import datetime as dt
import json
import uuid
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.orm import DeclarativeBase, Session

import demo_service as demo
from servicekit.context import context_of
from servicekit.api import Blueprint
from servicekit.app import create_service_app
from servicekit.db import request_session
from servicekit.errors import Invalid
from servicekit.pagination import PageArgs, keyset_page, page_of
from servicekit.tables import outbox

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Base(DeclarativeBase):
    pass


class Note(Base):
    __table__ = demo.notes


class NoteSchema(Schema):
    id = fields.UUID()
    text = fields.String()


class EventSchema(Schema):
    seq = fields.Integer()
    event_type = fields.String()


def forge(payload) -> str:
    """A cursor in the right format that this API never handed out."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.fixture
def engine(overrides):
    engine = sa.create_engine(overrides["DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine) as session:
        yield session


@pytest.fixture
def notes(session):
    """Eleven notes; the texts repeat, so paging by text alone would lose rows."""
    rows = [{"id": uuid.uuid4(), "text": f"note {i % 4}"} for i in range(11)]
    session.execute(demo.notes.insert(), rows)
    session.commit()
    return sorted((row["text"], row["id"]) for row in rows)


@pytest.fixture
def events(session):
    """Nine outbox rows; three share each created_at."""
    rows = [{"event_id": uuid.uuid4(), "event_type": f"test.event.{i}", "envelope": {},
             "created_at": T0 + dt.timedelta(microseconds=i // 3)} for i in range(9)]
    session.execute(outbox.insert(), rows)
    session.commit()
    return sorted(tuple(row) for row in session.execute(sa.select(outbox.c.created_at, outbox.c.seq)))


def every_page(session, query, *, keys, descending, limit, item_schema):
    """Page through `query` as a client would: each next_cursor dumped, sent back and loaded."""
    pages, cursor = [], None
    while True:
        page = keyset_page(session, query, keys=keys, descending=descending, limit=limit, cursor=cursor)
        pages.append(page["items"])
        sent = page_of(item_schema)().dump(page)["next_cursor"]
        if sent is None:
            return pages
        assert isinstance(sent, str)
        cursor = PageArgs().load({"cursor": sent, "limit": str(limit)})["cursor"]


@pytest.mark.parametrize("limit", [1, 3, 11, 50])
@pytest.mark.parametrize("descending", [False, True])
def test_pages_of_rows_cover_every_row_once_in_order_with_ties_broken_by_the_second_key(
        session, notes, limit, descending):
    pages = every_page(session, sa.select(demo.notes), keys=[demo.notes.c.text, demo.notes.c.id],
                       descending=descending, limit=limit, item_schema=NoteSchema)

    seen = [(row.text, row.id) for page in pages for row in page]
    assert seen == (sorted(notes, reverse=True) if descending else notes)
    assert all(len(page) == limit for page in pages[:-1]) and 1 <= len(pages[-1]) <= limit


def test_a_select_of_an_entity_pages_entities(session, notes):
    pages = every_page(session, sa.select(Note), keys=[Note.text, Note.id], descending=True, limit=4,
                       item_schema=NoteSchema)

    assert all(isinstance(note, Note) for page in pages for note in page)
    assert [(note.text, note.id) for page in pages for note in page] == sorted(notes, reverse=True)


@pytest.mark.parametrize("descending", [False, True])
def test_times_survive_the_cursor_to_the_microsecond(session, events, descending):
    query = sa.select(outbox.c.seq, outbox.c.created_at, outbox.c.event_type)
    pages = every_page(session, query, keys=[outbox.c.created_at, outbox.c.seq], descending=descending, limit=2,
                       item_schema=EventSchema)

    assert [(row.created_at, row.seq) for page in pages for row in page] == sorted(events, reverse=descending)


def test_filters_of_the_query_hold_on_every_page(session, notes):
    query = sa.select(demo.notes).where(demo.notes.c.text == "note 1")
    pages = every_page(session, query, keys=[demo.notes.c.id], descending=False, limit=1, item_schema=NoteSchema)

    assert [row.id for page in pages for row in page] == sorted(id_ for text, id_ in notes if text == "note 1")


def test_the_last_page_has_no_next_cursor_and_an_empty_list_is_one_empty_page(session):
    page = keyset_page(session, sa.select(demo.notes), keys=[demo.notes.c.id], descending=False, limit=5,
                       cursor=None)

    assert page == {"items": [], "next_cursor": None}


def test_the_next_cursor_holds_the_key_values_of_the_last_item(session, notes):
    page = keyset_page(session, sa.select(Note), keys=[Note.text, Note.id], descending=False, limit=2, cursor=None)

    assert page["next_cursor"] == notes[1]


@pytest.mark.parametrize("cursor", [
    "", "abc", "!!!!", "bm90LWEtY3Vyc29y", "a" * 600, forge({"text": "x"}), forge("x"), forge([]),
    forge([[1]]), forge([{"a": 1}]), forge([None]), base64.urlsafe_b64encode(b"[NaN]").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(), "W" + "1" * 3,
])
def test_a_garbled_cursor_is_not_a_valid_cursor(cursor):
    with pytest.raises(ValidationError) as refused:
        PageArgs().load({"cursor": cursor})

    assert refused.value.messages == {"cursor": ["Not a valid cursor."]}


def test_the_page_arguments_default_to_fifty_from_the_start_and_bound_the_limit():
    assert PageArgs().load({}) == {"limit": 50, "cursor": None}
    for limit in ("0", "201", "x"):
        with pytest.raises(ValidationError) as refused:
            PageArgs().load({"limit": limit})
        assert "limit" in refused.value.messages


@pytest.mark.parametrize("values", [
    ["note 1"],                                          # too few values
    ["note 1", str(uuid.uuid4()), 3],                    # too many
    ["note 1", "not-a-uuid"],                            # not the key's type
    [7, str(uuid.uuid4())],
    ["note\x00", str(uuid.uuid4())],                     # PostgreSQL refuses NUL in text
    ["note\ud800", str(uuid.uuid4())],                   # psycopg2 cannot encode a lone surrogate
])
def test_a_forged_cursor_that_does_not_fit_the_keys_is_invalid(session, notes, values):
    cursor = PageArgs().load({"cursor": forge(values)})["cursor"]

    with pytest.raises(Invalid) as refused:
        keyset_page(session, sa.select(Note), keys=[Note.text, Note.id], descending=False, limit=2, cursor=cursor)

    assert refused.value.status == 422 and refused.value.errors == {"cursor": ["Not a valid cursor."]}


@pytest.mark.parametrize("values", [
    ["2026-01-01T00:00:00", 1],                          # a time without its offset
    ["yesterday", 1],
    ["2026-01-01T00:00:00+00:00", "1"],
    ["2026-01-01T00:00:00+00:00", 2**63],                # beyond bigint
    ["2026-01-01T00:00:00+00:00", True],
    ["2026-01-01T00:00:00+16:00", 1],                    # PostgreSQL refuses offsets of 16 hours or more
    ["2026-01-01T00:00:00-20:00", 1],
])
def test_a_forged_cursor_for_time_and_number_keys_is_invalid(session, events, values):
    cursor = PageArgs().load({"cursor": forge(values)})["cursor"]

    with pytest.raises(Invalid):
        keyset_page(session, sa.select(outbox), keys=[outbox.c.created_at, outbox.c.seq], descending=True,
                    limit=2, cursor=cursor)


def test_a_cursor_time_with_the_largest_offset_postgresql_stores_pages_on(session, events):
    cursor = PageArgs().load({"cursor": forge(["2026-01-01T00:00:00+15:59", 1])})["cursor"]

    page = keyset_page(session, sa.select(outbox), keys=[outbox.c.created_at, outbox.c.seq], descending=True,
                       limit=2, cursor=cursor)

    assert isinstance(page["items"], list)


def test_a_key_of_a_type_a_cursor_cannot_carry_is_a_programming_error(session):
    with pytest.raises(TypeError):
        keyset_page(session, sa.select(outbox), keys=[outbox.c.envelope], descending=False, limit=2, cursor=None)


def test_page_of_gives_one_class_per_item_schema():
    assert page_of(NoteSchema) is page_of(NoteSchema)
    assert page_of(NoteSchema).__name__ == "NotePageSchema"
    assert page_of(EventSchema) is not page_of(NoteSchema)


# --- over HTTP ---------------------------------------------------------------------------

def listing_app(overrides):
    """The demo service with two lists: notes (filtered by text) and outbox events."""
    blp = Blueprint("lists", __name__)

    class NoteQuery(PageArgs):
        text = fields.String(load_default=None)

    @blp.route("/listed-notes")
    class ListedNotes(MethodView):
        @blp.arguments(NoteQuery, location="query")
        @blp.response(200, page_of(NoteSchema))
        def get(self, query):
            """Notes, by text"""
            select = sa.select(Note)
            if query["text"] is not None:
                select = select.where(Note.text == query["text"])
            return keyset_page(request_session(), select, keys=[Note.text, Note.id], descending=False,
                               limit=query["limit"], cursor=query["cursor"])

    @blp.route("/listed-events")
    class ListedEvents(MethodView):
        @blp.arguments(PageArgs, location="query")
        @blp.response(200, page_of(EventSchema))
        def get(self, query):
            """Outbox events, newest first"""
            return keyset_page(request_session(), sa.select(outbox), keys=[outbox.c.created_at, outbox.c.seq],
                               descending=True, **query)

    return create_service_app(demo.DemoSettings.load(overrides), Path(demo.__file__).parent, [blp])


@pytest.fixture
def listing(overrides):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. apispec's "Multiple schemas resolved to the name ..."
        app = listing_app(overrides)
    yield app.test_client()
    context_of(app).db.dispose()


def test_a_client_pages_a_list_with_limit_cursor_and_a_filter(listing, notes):
    seen, url = [], "/api/test/listed-notes?text=note%202&limit=1"
    while url:
        page = listing.get(url).json
        seen += [item["id"] for item in page["items"]]
        url = page["next_cursor"] and f"/api/test/listed-notes?text=note%202&limit=1&cursor={page['next_cursor']}"

    assert seen == [str(id_) for text, id_ in notes if text == "note 2"]


@pytest.mark.parametrize("cursor", ["garbage", forge(["note 1"]), forge(["note 1", "not-a-uuid"])])
def test_a_bad_cursor_is_a_422_problem_naming_the_cursor(listing, notes, cursor):
    response = listing.get(f"/api/test/listed-notes?cursor={cursor}")

    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["errors"] == {"cursor": ["Not a valid cursor."]}


def test_the_openapi_document_has_a_page_schema_per_list(listing):
    spec = listing.get("/api/test/openapi.json").json
    schemas = spec["components"]["schemas"]

    assert set(schemas["NotePage"]["properties"]) == {"items", "next_cursor"}
    assert schemas["EventPage"]["properties"]["next_cursor"]["type"] == "string"
    parameters = {p["name"] for p in spec["paths"]["/api/test/listed-notes"]["get"]["parameters"]}
    assert {"limit", "cursor", "text"} <= parameters
