"""The messaging service's tables (servicekit adds outbox, inbox and revoked_sessions)."""
from __future__ import annotations

from servicekit.db import new_metadata
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = new_metadata()
