"""Notices for the live stream: what a user's open streams are told (ids and counts, never content).

Domain code calls `notify_users` in its own transaction; each row's insert is NOTIFY-ed on
commit (migration 0003's trigger on `stream_events`), so every stream process hears it at
once, and the rows stay a while for clients resuming with `Last-Event-ID`. Nothing is
sent for a transaction that rolls back.

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

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from messaging.models import StreamEvent

NOTICE_TYPES = ("message", "read", "removed", "conversation", "notifications")


def notify_users(session: Session, user_ids: Iterable[uuid.UUID], type: str, data: dict[str, Any]) -> None:
    """One notice of `type` for each user's streams, sent when `session` commits. Does not commit."""
    if type not in NOTICE_TYPES:
        raise ValueError(f"unknown stream notice type {type!r}")
    rows = [{"user_id": user_id, "type": type, "data": _jsonable(data)} for user_id in dict.fromkeys(user_ids)]
    if rows:
        session.execute(insert(StreamEvent).values(rows))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {key: str(value) if isinstance(value, uuid.UUID) else value for key, value in data.items()}
