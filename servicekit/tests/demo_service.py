"""A tiny service built on servicekit, for servicekit's own tests (service name `test`).

It has one table (`notes`), a resource that records a note and publishes
`test.note.created` (declared in `contracts`) in the same transaction, and
handlers that count what they see, so tests can observe effects in the database.
"""
from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import ClassVar

import sqlalchemy as sa
from flask.views import MethodView
from marshmallow import EXCLUDE, Schema, fields, validate

from servicekit.context import context_of
from servicekit.api import Blueprint
from servicekit.app import create_service_app
from servicekit.config import Settings
from servicekit.db import new_metadata, request_session
from servicekit.errors import Conflict, NotFound
from servicekit.events import EventContracts, EventHandlers, publish
from servicekit.tokens import current_principal

metadata = new_metadata()
notes = sa.Table(
    "notes", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
)
# One row per handled event: the "effect" whose count proves exactly-once handling.
effects = sa.Table(
    "effects", metadata,
    sa.Column("seq", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("event_id", sa.Uuid, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoSettings(Settings):
    service: ClassVar[str] = "test"


counting_handlers = EventHandlers()
contracts = EventContracts("test", counting_handlers)


@contracts.publishes("test.note.created", version=1)
class NoteCreated(Schema):
    """A note was recorded. servicekit's bus tests also publish numbered notes, with `n` alone."""

    note_id = fields.UUID(metadata={"description": "The note recorded through the API."})
    text = fields.String()
    n = fields.Integer(metadata={"description": "The note's number in a batch a test published."})


class NoteSeen(Schema):
    """What the demo's handlers read of a note event: nothing beyond the envelope."""

    class Meta:
        unknown = EXCLUDE


class NoteIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=200))
    count = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10))


class NoteOut(Schema):
    id = fields.UUID()
    text = fields.String()


class PrincipalOut(Schema):
    user_id = fields.UUID()
    session_id = fields.UUID()
    roles = fields.List(fields.String())
    verified = fields.Boolean()


blp = Blueprint("notes", __name__)


@blp.route("/notes")
class Notes(MethodView):
    @blp.arguments(NoteIn)
    @blp.response(201, NoteOut)
    def post(self, data):
        """Record a note and announce it"""
        return record_note(request_session(), data["text"])


@blp.route("/notes/<uuid:note_id>")
class Note(MethodView):
    @blp.response(200, NoteOut)
    def get(self, note_id):
        """A note"""
        row = request_session().execute(sa.select(notes).where(notes.c.id == note_id)).first()
        if row is None:
            raise NotFound("no such note")
        return row._asdict()


@blp.route("/boom")
class Boom(MethodView):
    def get(self):
        """Fails unexpectedly"""
        raise RuntimeError("secret internal detail")


@blp.route("/me")
class Me(MethodView):
    @blp.login_required
    @blp.response(200, PrincipalOut)
    def get(self):
        """The caller"""
        principal = current_principal()
        return {**dataclasses.asdict(principal), "roles": sorted(principal.roles)}


@blp.route("/admin/ping")
class AdminPing(MethodView):
    @blp.staff_required
    def get(self):
        """Staff only"""
        return {"pong": True}


def record_note(session, text: str) -> dict:
    if text == "conflict":
        raise Conflict("that note conflicts")
    note = {"id": uuid.uuid4(), "text": text}
    session.execute(notes.insert().values(**note))
    publish(session, "test.note.created", {"note_id": note["id"], "text": text})
    session.commit()
    return note


def create_app(config=None):
    return create_service_app(DemoSettings.load(config), Path(__file__).parent, [blp], contracts=contracts)


@counting_handlers.on("test.note.created", schema=NoteSeen)
def on_note_created(session, event) -> None:
    session.execute(effects.insert().values(event_id=event.id, event_type=event.type))


failing_handlers = EventHandlers()


@failing_handlers.on("test.note.created", schema=NoteSeen)
def on_note_created_failing(session, event) -> None:
    session.execute(effects.insert().values(event_id=event.id, event_type=event.type))
    raise RuntimeError("handler is broken")


def effect_counts(db) -> dict[uuid.UUID, int]:
    """How many times each event had its effect."""
    with db.session() as session:
        rows = session.execute(sa.select(effects.c.event_id, sa.func.count()).group_by(effects.c.event_id))
        return {event_id: n for event_id, n in rows}


# --- consumers that misbehave on purpose, run in a child process by the tests --------

def run_consumer_that_dies_before_ack(settings: dict) -> None:
    """Handle one event, commit, and die before acking it (as a crash or OOM kill would)."""
    import os
    import threading

    from servicekit.events.consumer import Consumer

    class DiesBeforeAck(Consumer):
        def acknowledge(self, channel, last_delivery_tag, events):
            os._exit(3)

    app = create_app(settings)
    ctx = context_of(app)
    DiesBeforeAck(ctx.db, ctx.settings.amqp_url, ctx.topology, "test", counting_handlers).run(threading.Event())


def run_worker_process(settings: dict) -> None:
    """The demo service's worker, as `python -m <service>.worker` runs it."""
    from servicekit.worker import run_worker

    run_worker(create_app(settings), counting_handlers)
