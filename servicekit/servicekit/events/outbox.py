"""Producing: events go into the `outbox` table in the caller's transaction.

A trigger on the table NOTIFYs the relays, delivered on commit only; a
rolled-back transaction leaves neither a row nor a notification, so its event
is never published.

A service publishes its own events with `publish`, which holds each one to its
declared contract (servicekit.events.contracts). `record` writes an event
exactly as given, unchecked: it is for a test that stands in for another
service's producer (whose declarations its process does not load), e.g.

    record(session, Event.new("auth.session.revoked", {...}))   # a test acting as auth
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from servicekit.events.contracts import declared_contract
from servicekit.events.envelope import Event
from servicekit.tables import outbox


def publish(session: Session, event_type: str, payload: dict[str, Any]) -> Event:
    """Record `event_type` with `payload` for publication when `session` commits.

    The type must be declared (`UndeclaredEvent` otherwise) and the payload, as it
    will be sent, must match its schema (`InvalidPayload` otherwise); the envelope
    carries the declared version.
    """
    contract = declared_contract(event_type)
    event = Event.new(event_type, payload, contract.version)
    envelope = json.loads(event.to_json())
    contract.check(envelope["payload"])
    _insert(session, event, envelope)
    return event


def record(session: Session, event: Event) -> Event:
    """Record an already-built event as it is, without a contract check (see the module docstring)."""
    _insert(session, event, json.loads(event.to_json()))
    return event


def _insert(session: Session, event: Event, envelope: dict[str, Any]) -> None:
    session.execute(outbox.insert().values(event_id=event.id, event_type=event.type, envelope=envelope))
