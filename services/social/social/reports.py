"""Reports and moderation: users report a user, a message or an item; staff review and resolve them.

Filing. A user reports a user (a profile that exists and is not them), a message they
received (one messaging announced with them among its recipients: a message they did
not receive is "not found", whether it exists or not) or an item (one marketplace
announced, not their own). The report records whose the target is (`target_user_id`:
the user, the message's sender, the item's seller). One open report per reporter and
target: a second is a conflict until staff resolve the first. An optional screenshot
is checked and re-encoded as avatars are (servicekit.images: WebP, metadata stripped);
only the reporter and staff ever see it.

Reviewing. A report is `open`, then `in_review` once a staff member takes it (that
reviewer alone may resolve it then; taking it again is harmless for them, a conflict for
anyone else), then `resolved` for good. An open report may be resolved without a
review. Nobody takes into review or resolves a report about themselves: another staff
member decides it.

Resolving, with an action and notes (who and when are recorded), publishes
`social.moderation.action_taken` in the same transaction. The event names the object
the owning service acts on:

| report of       | action                 | events published: action → target                            |
|-----------------|------------------------|--------------------------------------------------------------|
| a user          | dismiss, warn, suspend, ban | one: the action → the user                              |
| a message, item | dismiss                | one: dismiss → the message / item (consumers ignore it)      |
| a message, item | remove_content         | one: remove_content → the message / item                     |
| a message, item | warn, suspend          | one: the action → its owner (target_type "user", target_id = sender / seller) |
| a message, item | ban                    | two: remove_content → the message / item, then ban → its owner |

`remove_content` needs content: on a report of a user it is refused. `suspend` needs a
duration in seconds (`duration`, counted by auth from the event's `occurred_at`); every
other action refuses one. The event's `reason` is null: the reporter's words stay in
social, and the staff's `notes` say why (auth records them as the ban's reason).

Notifications (same transaction, from the platform: no actor, so no block hides them):
the reporter gets `report.resolved` (data: the action) for every resolution; the user
acted against gets `moderation.action` (data: action, duration, notes) for warn,
suspend, ban and remove_content — every action but dismiss, since removing their
content is an action against them too. The reporter never learns staff's notes; the
user acted against never learns who reported them.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, BinaryIO

import sqlalchemy as sa
from servicekit.errors import Conflict, Invalid, NotFound
from servicekit.events import publish
from servicekit.images import read_upload, reencode_image
from servicekit.pagination import keyset_page
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from social.models import KnownItem, KnownMessage, Profile, Report, ReportScreenshot
from social.notifications import notify

SCREENSHOT_SIZE = 2048  # the box a screenshot is fitted into (never enlarged), in pixels
ONE_OPEN_REPORT = "uq_reports_open_per_reporter_target"
ALREADY_REPORTED = "you already have an open report of this"

REPORT_ORDER = (Report.created_at, Report.id)
# A report as every reader gets it: its columns, and whether a screenshot is attached.
REPORT_ROW = sa.select(*Report.__table__.columns, sa.exists().where(ReportScreenshot.report_id == Report.id)
                       .label("has_screenshot"))


def file_report(session: Session, reporter_id: uuid.UUID, *, target_type: str, target_id: uuid.UUID, reason: str,
                screenshot: BinaryIO | None, screenshot_max_bytes: int, image_max_pixels: int) -> sa.Row:
    """Report a user, a message or an item, with an optional screenshot; the report as its reporter sees it."""
    target_user_id = _owner_of_target(session, reporter_id, target_type, target_id)
    if _open_report_exists(session, reporter_id, target_type, target_id):
        raise Conflict(ALREADY_REPORTED)
    # Decoding is the costly part: only once the report is known to be acceptable.
    image = None if screenshot is None else _screenshot_rendition(screenshot, screenshot_max_bytes, image_max_pixels)
    report = Report(id=uuid.uuid4(), reporter_id=reporter_id, target_type=target_type, target_id=target_id,
                    target_user_id=target_user_id, reason=reason, status="open")
    session.add(report)
    try:
        session.flush()  # the report before its screenshot (no ORM relationship orders them)
        if image is not None:
            session.add(ReportScreenshot(report_id=report.id, content_type=image.content_type, width=image.width,
                                         height=image.height, data=image.data))
        session.commit()
    except IntegrityError as error:
        session.rollback()
        if _constraint_of(error) == ONE_OPEN_REPORT:  # a concurrent report of the same target won the index
            raise Conflict(ALREADY_REPORTED) from None
        raise
    return _report_row(session, report.id)


def _owner_of_target(session: Session, reporter_id: uuid.UUID, target_type: str, target_id: uuid.UUID) -> uuid.UUID:
    """Whose the target is; `NotFound` if the reporter cannot report it, `Invalid` if it is their own."""
    if target_type == "user":
        if session.get(Profile, target_id) is None:
            raise NotFound("no such user")
        owner_id = target_id
    elif target_type == "message":
        message = session.get(KnownMessage, target_id)
        # Only a recipient may report a message; to anyone else it does not exist.
        if message is None or reporter_id not in message.recipient_ids:
            raise NotFound("no such message")
        owner_id = message.sender_id
    else:
        item = session.get(KnownItem, target_id)
        if item is None:
            raise NotFound("no such item")
        owner_id = item.seller_id
    if owner_id == reporter_id:
        detail = "You cannot report yourself." if target_type == "user" else f"This {target_type} is your own."
        raise Invalid(detail, errors={"target_id": [detail]})
    return owner_id


def _open_report_exists(session: Session, reporter_id: uuid.UUID, target_type: str, target_id: uuid.UUID) -> bool:
    return session.scalar(sa.select(sa.exists().where(
        Report.reporter_id == reporter_id, Report.target_type == target_type, Report.target_id == target_id,
        Report.status != "resolved"))) is True


def _screenshot_rendition(upload: BinaryIO, max_bytes: int, max_pixels: int):
    data = read_upload(upload, max_bytes, field="screenshot")
    [rendition] = reencode_image(data, sizes=(SCREENSHOT_SIZE,), square=False, max_bytes=max_bytes,
                                 max_pixels=max_pixels, field="screenshot")
    return rendition


def _constraint_of(error: IntegrityError) -> str | None:
    return getattr(getattr(error.orig, "diag", None), "constraint_name", None)


def _report_row(session: Session, report_id: uuid.UUID) -> sa.Row | None:
    return session.execute(REPORT_ROW.where(Report.id == report_id)).first()


# --- reading ---------------------------------------------------------------------------------

def list_own_reports(session: Session, reporter_id: uuid.UUID, *, limit: int, cursor: list | None) -> dict[str, Any]:
    """The reporter's reports, newest first."""
    return keyset_page(session, REPORT_ROW.where(Report.reporter_id == reporter_id), keys=REPORT_ORDER,
                       descending=True, limit=limit, cursor=cursor)


def own_report(session: Session, reporter_id: uuid.UUID, report_id: uuid.UUID) -> sa.Row:
    """One of the reporter's reports; anyone else's is `NotFound` (its existence is not revealed)."""
    row = _report_row(session, report_id)
    if row is None or row.reporter_id != reporter_id:
        raise NotFound("no such report")
    return row


def read_screenshot(session: Session, report_id: uuid.UUID, *, viewer_id: uuid.UUID,
                    viewer_is_staff: bool) -> ReportScreenshot:
    """A report's screenshot, for its reporter and staff; `NotFound` for anyone else, or without one."""
    found = session.execute(sa.select(ReportScreenshot, Report.reporter_id)
                            .join(Report, Report.id == ReportScreenshot.report_id)
                            .where(ReportScreenshot.report_id == report_id)).first()
    if found is None or (found.reporter_id != viewer_id and not viewer_is_staff):
        raise NotFound("no such screenshot")
    return found.ReportScreenshot


def list_reports(session: Session, *, status: str | None, target_type: str | None, limit: int,
                 cursor: list | None) -> dict[str, Any]:
    """Reports for staff, optionally of one status and target type, oldest first (the queue order)."""
    query = REPORT_ROW
    if status is not None:
        query = query.where(Report.status == status)
    if target_type is not None:
        query = query.where(Report.target_type == target_type)
    return keyset_page(session, query, keys=REPORT_ORDER, descending=False, limit=limit, cursor=cursor)


def report_for_staff(session: Session, report_id: uuid.UUID) -> sa.Row:
    row = _report_row(session, report_id)
    if row is None:
        raise NotFound("no such report")
    return row


# --- moderation ------------------------------------------------------------------------------

def take_into_review(session: Session, report_id: uuid.UUID, *, staff_id: uuid.UUID) -> sa.Row:
    """Staff take an open report into review (again is harmless for its reviewer, a conflict for others)."""
    report = _report_to_decide(session, report_id, staff_id=staff_id)
    if report.status == "open":
        report.status = "in_review"
        report.reviewer_id = staff_id
        report.review_started_at = dt.datetime.now(dt.UTC)
    session.commit()
    return _report_row(session, report_id)


def resolve_report(session: Session, report_id: uuid.UUID, *, staff_id: uuid.UUID, action: str, notes: str,
                   duration_seconds: int | None) -> sa.Row:
    """Staff resolve a report with an action: recorded, published, and the people concerned notified."""
    report = _report_to_decide(session, report_id, staff_id=staff_id)
    _check_action(report, action, duration_seconds)
    report.status = "resolved"
    report.action = action
    report.notes = notes
    report.duration_seconds = duration_seconds
    report.resolved_by = staff_id
    report.resolved_at = dt.datetime.now(dt.UTC)
    for action_taken, target_type, target_id in _actions_taken(report):
        publish(session, "social.moderation.action_taken", {
            "action": action_taken, "target_type": target_type, "target_id": target_id, "reason": None,
            "notes": notes, "actor_id": staff_id, "duration": duration_seconds, "report_id": report.id,
            "taken_at": report.resolved_at})
    _notify_resolution(session, report)
    session.commit()
    return _report_row(session, report_id)


def _report_to_decide(session: Session, report_id: uuid.UUID, *, staff_id: uuid.UUID) -> Report:
    """The report, locked, if this staff member may act on it now; `NotFound` / `Conflict` otherwise."""
    report = session.get(Report, report_id, with_for_update=True)
    if report is None:
        raise NotFound("no such report")
    if report.status == "resolved":
        raise Conflict("the report is already resolved")
    if report.status == "in_review" and report.reviewer_id != staff_id:
        raise Conflict("another staff member is reviewing this report")
    if report.target_user_id == staff_id:
        raise Conflict("the report is about you: another staff member decides it")
    return report


def _check_action(report: Report, action: str, duration_seconds: int | None) -> None:
    if action == "remove_content" and report.target_type == "user":
        message = "remove_content applies to a reported message or item, not to a user."
        raise Invalid(message, errors={"action": [message]})
    if action == "suspend" and duration_seconds is None:
        message = "A suspension needs a duration in seconds."
        raise Invalid(message, errors={"duration_seconds": [message]})
    if action != "suspend" and duration_seconds is not None:
        message = "Only a suspension has a duration."
        raise Invalid(message, errors={"duration_seconds": [message]})


def _actions_taken(report: Report) -> list[tuple[str, str, uuid.UUID]]:
    """(action, target type, target id) of each event a resolution publishes (see the module's table)."""
    content = (report.target_type, report.target_id)
    if report.target_type == "user" or report.action in ("dismiss", "remove_content"):
        return [(report.action, *content)]
    owner = ("user", report.target_user_id)
    if report.action == "ban":
        return [("remove_content", *content), ("ban", *owner)]
    return [(report.action, *owner)]


def _notify_resolution(session: Session, report: Report) -> None:
    notify(session, report.reporter_id, "report.resolved", source_id=report.id, subject_type="report",
           subject_id=report.id, data={"action": report.action})
    if report.action != "dismiss":
        notify(session, report.target_user_id, "moderation.action", source_id=report.id,
               subject_type=report.target_type, subject_id=report.target_id,
               data={"action": report.action, "duration": report.duration_seconds, "notes": report.notes})
