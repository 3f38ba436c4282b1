"""Delivery of one-time codes (password reset without 2FA) behind a small interface.

`PASSWORD_RESET_CODE_SENDER` picks the implementation: `log` writes a log line
(dev), `outbox` writes a `sent_codes` row (tests and dev tools read it). A real
e-mail or SMS gateway is one more class with the same `send`.
"""
from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy.orm import Session

from auth.models import SentCode, User

log = logging.getLogger(__name__)


class CodeSender(Protocol):
    def send(self, user: User, channel: str, destination: str, purpose: str, code: str) -> None:
        """Deliver `code` to `destination` over `channel` (email | sms) for `purpose`."""


class LogSender:
    """Writes the code to the service log: for a developer's machine only."""

    def send(self, user: User, channel: str, destination: str, purpose: str, code: str) -> None:
        log.info("one-time code", extra={"user_id": str(user.id), "channel": channel, "destination": destination,
                                         "purpose": purpose, "code": code})


class OutboxSender:
    """Records the code as a `SentCode` row in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def send(self, user: User, channel: str, destination: str, purpose: str, code: str) -> None:
        self.session.add(SentCode(user_id=user.id, channel=channel, destination=destination, purpose=purpose,
                                     code=code))


def code_sender(name: str, session: Session) -> CodeSender:
    """The sender configured by `name` (PASSWORD_RESET_CODE_SENDER)."""
    if name == "log":
        return LogSender()
    if name == "outbox":
        return OutboxSender(session)
    raise ValueError(f"unknown PASSWORD_RESET_CODE_SENDER {name!r} (log | outbox)")
