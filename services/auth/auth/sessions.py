"""Sessions: a signed-in device. Listing, revoking one, revoking all (others)."""
from __future__ import annotations

import datetime as dt
import uuid

from servicekit.errors import NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from auth.models import Session


def revoke_session(db: DbSession, session_row: Session, reason: str) -> None:
    """End a session (and so every token of it); publishes `auth.session.revoked`. Does not commit."""
    if session_row.revoked_at is not None:
        return
    session_row.revoked_at = dt.datetime.now(dt.UTC)
    session_row.revoke_reason = reason
    publish(db, "auth.session.revoked", {"session_id": session_row.id, "user_id": session_row.user_id,
                                         "revoked_at": session_row.revoked_at, "reason": reason})


def revoke_all_sessions(db: DbSession, user_id: uuid.UUID, reason: str, *,
                        except_session_id: uuid.UUID | None = None) -> int:
    """Revoke every live session of a user but `except_session_id`; the number revoked. Does not commit."""
    query = select(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None)).with_for_update()
    if except_session_id is not None:
        query = query.where(Session.id != except_session_id)
    rows = db.execute(query).scalars().all()
    for row in rows:
        revoke_session(db, row, reason)
    return len(rows)


def session_is_live(db: DbSession, session_id: uuid.UUID) -> bool:
    """Whether a session exists, is not revoked and has not expired (auth's own token check)."""
    row = db.get(Session, session_id)
    return row is not None and row.revoked_at is None and row.expires_at > dt.datetime.now(dt.UTC)


def list_sessions(db: DbSession, user_id: uuid.UUID, *, current_session_id: uuid.UUID, limit: int,
                  cursor: list | None) -> dict:
    """The user's sessions, newest first, a page at a time."""
    page = keyset_page(db, select(Session).where(Session.user_id == user_id), keys=[Session.created_at, Session.id],
                       descending=True, limit=limit, cursor=cursor)
    page["items"] = [{"id": row.id, "created_at": row.created_at, "last_used_at": row.last_used_at, "ip": row.ip,
                      "user_agent": row.user_agent, "expires_at": row.expires_at,
                      "revoked": row.revoked_at is not None, "revoked_at": row.revoked_at,
                      "current": row.id == current_session_id} for row in page["items"]]
    return page


def revoke_own_session(db: DbSession, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """Sign out one of the user's own sessions; someone else's is `NotFound`."""
    row = db.get(Session, session_id, with_for_update=True)
    if row is None or row.user_id != user_id:
        raise NotFound("no such session")
    revoke_session(db, row, "signed_out_by_user")
    db.commit()


def log_out(db: DbSession, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    revoke_own_session(db, user_id, session_id)


def revoke_other_sessions(db: DbSession, user_id: uuid.UUID, current_session_id: uuid.UUID) -> int:
    count = revoke_all_sessions(db, user_id, "signed_out_by_user", except_session_id=current_session_id)
    db.commit()
    return count
