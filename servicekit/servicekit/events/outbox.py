"""Producing: events go into the `outbox` table in the caller's transaction.

A trigger on the table NOTIFYs the relays, delivered on commit only; a
rolled-back transaction leaves neither a row nor a notification, so its event
is never published.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from servicekit.events.envelope import Event
from servicekit.tables import outbox


def publish(session: Session, event_type: str, payload: dict[str, Any], *, version: int = 1) -> Event:
    """Record `event_type` with `payload` for publication when `session` commits."""
    event = Event.new(event_type, payload, version)
    session.execute(outbox.insert().values(
        event_id=event.id, event_type=event.type, envelope=json.loads(event.to_json())))
    return event
