"""Participants' public keys as messaging knows them (from auth's key events): what envelopes are checked
against, and what a client seals for (GET /conversations/{id}/keys).

An e2e message needs the sender's active signing key and every participant's active
encryption key; the envelope check (envelope.py) refuses it, naming who lacks which, if
someone has none.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from messaging.conversations import participant_conversation, participant_ids
from messaging.envelope import KeyRecord
from messaging.models import PublicKey, User


def active_keys(session: Session, user_ids: Iterable[uuid.UUID], purpose: str) -> dict[uuid.UUID, PublicKey]:
    """Each user's active key of `purpose`, for those who have one."""
    user_ids = list(user_ids)
    if not user_ids:
        return {}
    return {key.user_id: key for key in session.scalars(sa.select(PublicKey).where(
        PublicKey.user_id.in_(user_ids), PublicKey.purpose == purpose, PublicKey.active))}


def active_signing_key(session: Session, user_id: uuid.UUID) -> KeyRecord | None:
    """The user's active signing key (None: they have none, and the check says so)."""
    key = active_keys(session, [user_id], "signing").get(user_id)
    return None if key is None else _record(key)


def active_encryption_keys(session: Session, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, KeyRecord | None]:
    """Every user's active encryption key (None for those who have none: the check names them)."""
    keys = active_keys(session, user_ids, "encryption")
    return {user_id: None if user_id not in keys else _record(keys[user_id]) for user_id in user_ids}


def _record(key: PublicKey) -> KeyRecord:
    return KeyRecord(fingerprint=key.fingerprint, algorithm=key.algorithm, pem=key.pem)


def conversation_keys(session: Session, user_id: uuid.UUID, conversation_id: uuid.UUID) -> dict[str, Any]:
    """Every participant's active signing and encryption key (null where they have none); `NotFound` to
    non-participants."""
    participant_conversation(session, user_id, conversation_id)
    everyone = participant_ids(session, conversation_id)
    signing = active_keys(session, everyone, "signing")
    encryption = active_keys(session, everyone, "encryption")
    usernames = dict(session.execute(sa.select(User.user_id, User.username).where(User.user_id.in_(everyone))).all())
    return {"conversation_id": conversation_id, "participants": [
        {"user_id": participant, "username": usernames.get(participant), "signing_key": signing.get(participant),
         "encryption_key": encryption.get(participant)} for participant in everyone]}
