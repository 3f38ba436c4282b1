"""Sessions: a signed-in device (the `Device` model). Listing, revoking one, revoking all (others)."""
from __future__ import annotations

import datetime as dt
import uuid

from servicekit.errors import NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from servicekit.tokens import deny_session
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.models import Device


def revoke_session(session: Session, device: Device, reason: str) -> None:
    """End a session (and so every token of it); publishes `auth.session.revoked`. Does not commit.

    auth's own denylist gets the session in the same transaction (every other service's gets it
    from the event), so auth refuses the session's tokens from the commit on.
    """
    if device.revoked_at is not None:
        return
    device.revoked_at = dt.datetime.now(dt.UTC)
    device.revoke_reason = reason
    deny_session(session, session_id=device.id, user_id=device.user_id, revoked_at=device.revoked_at)
    publish(session, "auth.session.revoked", {"session_id": device.id, "user_id": device.user_id,
                                              "revoked_at": device.revoked_at, "reason": reason})


def revoke_all_sessions(session: Session, user_id: uuid.UUID, reason: str, *,
                        except_session_id: uuid.UUID | None = None) -> int:
    """Revoke every live session of a user but `except_session_id`; the number revoked. Does not commit."""
    query = select(Device).where(Device.user_id == user_id, Device.revoked_at.is_(None)).with_for_update()
    if except_session_id is not None:
        query = query.where(Device.id != except_session_id)
    devices = session.execute(query).scalars().all()
    for device in devices:
        revoke_session(session, device, reason)
    return len(devices)


def list_sessions(session: Session, user_id: uuid.UUID, *, current_session_id: uuid.UUID, limit: int,
                  cursor: list | None) -> dict:
    """The user's sessions, newest first, a page at a time."""
    page = keyset_page(session, select(Device).where(Device.user_id == user_id),
                       keys=[Device.created_at, Device.id], descending=True, limit=limit, cursor=cursor)
    page["items"] = [{"id": device.id, "created_at": device.created_at, "last_used_at": device.last_used_at,
                      "ip": device.ip, "user_agent": device.user_agent, "expires_at": device.expires_at,
                      "revoked": device.revoked_at is not None, "revoked_at": device.revoked_at,
                      "current": device.id == current_session_id} for device in page["items"]]
    return page


def revoke_own_session(session: Session, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """Sign out one of the user's own sessions (logging out is this on the current one); someone else's is `NotFound`."""
    device = session.get(Device, session_id, with_for_update=True)
    if device is None or device.user_id != user_id:
        raise NotFound("no such session")
    revoke_session(session, device, "signed_out_by_user")
    session.commit()


def revoke_other_sessions(session: Session, user_id: uuid.UUID, current_session_id: uuid.UUID) -> int:
    """Sign out every session of the user but the current one; the number signed out."""
    count = revoke_all_sessions(session, user_id, "signed_out_by_user", except_session_id=current_session_id)
    session.commit()
    return count
