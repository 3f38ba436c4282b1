"""Notices for the live stream: what a user's open streams are told (ids and counts, never content).

Domain code calls `notify_users` in its own transaction; each row's insert is NOTIFY-ed on
commit (migration 0003's trigger on `stream_events`), so every stream process hears it at
once, and the rows stay a while for clients resuming with `Last-Event-ID`. Nothing is
sent for a transaction that rolls back. A user's notices take their ids in commit order
(a per-user transaction lock, taken in id order so two transactions never deadlock on
them): otherwise a client resuming after a larger id could miss a smaller one committed
later.

Types and their data:
- `message`: {"conversation_id", "message_id", "sender_id", "seq"} — a new message.
- `read`: {"conversation_id", "user_id", "seq"} — a participant read up to `seq`.
- `removed`: {"conversation_id", "message_id"} — a message removed by moderation.
- `conversation`: {"conversation_id", "change"} — `change` is added, removed, left, deleted, renamed, or
  members (another member came or went; then also "user_id").
- `notifications`: {"unread"} — the user's unread notification count (from social).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from messaging.models import StreamEvent

NOTICE_TYPES = ("message", "read", "removed", "conversation", "notifications")
NOTICE_LOCK = 0x6E6F7469  # the advisory-lock class of "a user's stream notices" ("noti")


def notify_users(session: Session, user_ids: Iterable[uuid.UUID], type: str, data: dict[str, Any]) -> None:
    """One notice of `type` for each user's streams, sent when `session` commits. Does not commit."""
    if type not in NOTICE_TYPES:
        raise ValueError(f"unknown stream notice type {type!r}")
    users = sorted(set(user_ids))
    if not users:
        return
    # One statement, the locks taken in the order of the (sorted) subquery.
    session.execute(sa.text(
        "SELECT pg_advisory_xact_lock(:lock, hashtext(u)) FROM (SELECT unnest(CAST(:users AS text[])) AS u "
        "ORDER BY 1) AS ordered"), {"lock": NOTICE_LOCK, "users": [str(user_id) for user_id in users]})
    session.execute(insert(StreamEvent).values(
        [{"user_id": user_id, "type": type, "data": _jsonable(data)} for user_id in users]))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {key: str(value) if isinstance(value, uuid.UUID) else value for key, value in data.items()}
