"""Reports of users, messages and items, and their moderation by staff: every rule and every refusal,
the events a resolution publishes (across the real bus) and the notifications it produces."""
import concurrent.futures
import datetime as dt
import io
import struct
import uuid
import zlib

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image
from servicekit.tables import outbox
from servicekit.testing import wait_until

from social.read_models import remember_item, remember_message

NOTES = "Checked the conversation: repeated insults."
MODERATION_EVENT = "social.moderation.action_taken"


# --- arranging -------------------------------------------------------------------------------

def message_between(session, sender, *recipients) -> uuid.UUID:
    """A message as messaging announces it: sent by `sender` to `recipients`."""
    message_id = uuid.uuid4()
    remember_message(session, message_id=message_id, conversation_id=uuid.uuid4(), sender_id=sender.user_id,
                     recipient_ids=[r.user_id for r in recipients], created_at=dt.datetime.now(dt.UTC))
    session.commit()
    return message_id


def item_of(session, seller) -> uuid.UUID:
    """An item as marketplace announces it, sold by `seller`."""
    item_id = uuid.uuid4()
    remember_item(session, item_id=item_id, seller_id=seller.user_id, title="A bicycle",
                  listed_at=dt.datetime.now(dt.UTC))
    session.commit()
    return item_id


def encoded(image: Image.Image, format: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format, **params)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
                                  ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0)}
    return encoded(Image.new("RGB", (300, 200), (200, 30, 30)), "JPEG", exif=exif)


def png_claiming(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose header claims `width` x `height` pixels (a decompression bomb's header)."""
    data = encoded(Image.new("RGB", (1, 1)), "PNG")
    start = data.index(b"IHDR")
    header = struct.pack(">II", width, height) + data[start + 12:start + 17]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return data[:start + 4] + header + crc + data[start + 21:]


# --- acting ----------------------------------------------------------------------------------

def report(client, reporter, target_type, target_id, *, reason="Insults me in every message.", screenshot=None):
    form = {"target_type": target_type, "target_id": str(target_id), "reason": reason}
    if screenshot is not None:
        form["screenshot"] = (io.BytesIO(screenshot), "evidence.jpg")
    return client.post("/api/social/reports", headers=reporter.headers, content_type="multipart/form-data",
                       data=form)


def review(client, staff, report_id):
    return client.post(f"/api/social/admin/reports/{report_id}/review", headers=staff.headers)


def resolve(client, staff, report_id, action, *, notes=NOTES, duration_seconds=None):
    body = {"action": action, "notes": notes}
    if duration_seconds is not None:
        body["duration_seconds"] = duration_seconds
    return client.post(f"/api/social/admin/reports/{report_id}/resolve", headers=staff.headers, json=body)


def notifications_of(client, member, kind):
    items = client.get("/api/social/notifications?limit=200", headers=member.headers).json["items"]
    return [n for n in items if n["kind"] == kind]


@pytest.fixture
def alice(new_member):
    return new_member()


@pytest.fixture
def bob(new_member):
    return new_member()


@pytest.fixture
def staff(new_member):
    return new_member(staff=True)


@pytest.fixture
def other_staff(new_member):
    return new_member(staff=True)


# --- filing ----------------------------------------------------------------------------------

def test_a_user_reports_another_user_and_sees_the_open_report(client, alice, bob):
    response = report(client, alice, "user", bob.user_id, reason="Threatens me.")

    assert response.status_code == 201, response.json
    assert {k: response.json[k] for k in ("target_type", "target_id", "reason", "status", "action", "screenshot",
                                          "resolved_at")} == {
        "target_type": "user", "target_id": str(bob.user_id), "reason": "Threatens me.", "status": "open",
        "action": None, "screenshot": None, "resolved_at": None}
    assert client.get(f"/api/social/reports/{response.json['id']}", headers=alice.headers).json == response.json


def test_a_recipient_reports_a_message_they_received_against_its_sender(client, session, alice, bob, staff):
    message_id = message_between(session, bob, alice)

    response = report(client, alice, "message", message_id)

    assert response.status_code == 201, response.json
    seen_by_staff = client.get(f"/api/social/admin/reports/{response.json['id']}", headers=staff.headers).json
    assert (seen_by_staff["target_id"], seen_by_staff["target_user_id"]) == (str(message_id), str(bob.user_id))
    assert seen_by_staff["reporter_id"] == str(alice.user_id)


def test_a_user_reports_an_item_against_its_seller(client, session, alice, bob, staff):
    item_id = item_of(session, bob)

    response = report(client, alice, "item", item_id)

    assert response.status_code == 201, response.json
    seen_by_staff = client.get(f"/api/social/admin/reports/{response.json['id']}", headers=staff.headers).json
    assert (seen_by_staff["target_type"], seen_by_staff["target_user_id"]) == ("item", str(bob.user_id))


def test_nobody_reports_themselves_or_their_own_item(client, session, alice):
    for target_type, target_id in (("user", alice.user_id), ("item", item_of(session, alice))):
        response = report(client, alice, target_type, target_id)
        assert response.status_code == 422, target_type
        assert response.mimetype == "application/problem+json"
        assert "target_id" in response.json["errors"]


def test_a_message_the_reporter_did_not_receive_is_not_found(client, session, alice, bob, new_member):
    carol = new_member()
    between_others = message_between(session, bob, carol)
    sent_by_alice = message_between(session, alice, bob)
    for message_id in (between_others, sent_by_alice, uuid.uuid4()):
        response = report(client, alice, "message", message_id)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_an_unknown_user_or_item_is_not_found(client, alice):
    for target_type in ("user", "item"):
        assert report(client, alice, target_type, uuid.uuid4()).status_code == 404


def test_a_report_needs_a_known_target_type_a_uuid_and_a_reason(client, alice, bob):
    for form, field in (({"target_type": "conversation"}, "target_type"), ({"target_id": "bob"}, "target_id"),
                        ({"reason": ""}, "reason"), ({"reason": "x" * 1001}, "reason")):
        data = {"target_type": "user", "target_id": str(bob.user_id), "reason": "spam", **form}
        response = client.post("/api/social/reports", headers=alice.headers, content_type="multipart/form-data",
                               data=data)
        assert response.status_code == 422, form
        assert field in response.json["errors"]


def test_a_second_open_report_of_the_same_target_is_a_conflict_until_the_first_is_resolved(client, alice, bob,
                                                                                           new_member, staff):
    first = report(client, alice, "user", bob.user_id).json["id"]

    again = report(client, alice, "user", bob.user_id)
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert report(client, new_member(), "user", bob.user_id).status_code == 201  # someone else may
    review(client, staff, first)
    assert report(client, alice, "user", bob.user_id).status_code == 409  # in review is still open

    resolve(client, staff, first, "warn")
    assert report(client, alice, "user", bob.user_id).status_code == 201


def test_a_report_racing_an_identical_one_is_a_conflict_not_an_error(client, database, alice, bob):
    """The second of two simultaneous reports passes the check before the first commits: the index refuses it."""
    def waiting_on_a_lock() -> bool:
        with database.session() as looking:  # a new transaction each time: pg_stat_activity is read once per one
            return looking.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                          "AND datname = current_database()")) > 0

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with database.transaction() as racing:
            racing.execute(sa.text(
                "INSERT INTO reports (id, reporter_id, target_type, target_id, target_user_id, reason) "
                "VALUES (:id, :reporter, 'user', :target, :target, 'first')"),
                {"id": uuid.uuid4(), "reporter": alice.user_id, "target": bob.user_id})
            second = pool.submit(report, client, alice, "user", bob.user_id)
            wait_until(waiting_on_a_lock, message="the second report to wait on the index")
        assert second.result(timeout=10).status_code == 409
    assert [r["reason"] for r in client.get("/api/social/reports", headers=alice.headers).json["items"]] == ["first"]


# --- screenshots -----------------------------------------------------------------------------

def test_a_screenshot_comes_back_to_the_reporter_as_webp_without_its_gps_metadata(client, alice, bob):
    upload = jpeg_with_gps()
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    filed = report(client, alice, "user", bob.user_id, screenshot=upload)
    assert filed.status_code == 201, filed.json
    assert filed.json["screenshot"] == f"/api/social/reports/{filed.json['id']}/screenshot"
    served = client.get(filed.json["screenshot"], headers=alice.headers)

    assert served.status_code == 200
    assert served.mimetype == "image/webp"
    assert served.headers["Cache-Control"] == "private, no-store"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(served.data))
    assert (image.format, image.size) == ("WEBP", (300, 200))
    assert not image.getexif()
    assert b"Canon" not in served.data


def test_staff_see_a_screenshot_and_nobody_else_does(client, alice, bob, staff):
    filed = report(client, alice, "user", bob.user_id, screenshot=jpeg_with_gps()).json
    assert client.get(filed["screenshot"], headers=staff.headers).status_code == 200
    stranger = client.get(filed["screenshot"], headers=bob.headers)
    assert stranger.status_code == 404
    assert stranger.mimetype == "application/problem+json"


def test_a_report_without_a_screenshot_has_none_to_serve(client, alice, bob, staff):
    report_id = report(client, alice, "user", bob.user_id).json["id"]
    for member in (alice, staff):
        assert client.get(f"/api/social/reports/{report_id}/screenshot", headers=member.headers).status_code == 404


@pytest.mark.parametrize("upload", [b"just some text, called evidence.jpg", b"", png_claiming(50_000, 50_000)],
                         ids=["not an image", "empty", "decompression bomb"])
def test_a_screenshot_that_is_not_a_safe_image_is_refused_and_no_report_filed(client, alice, bob, upload):
    response = report(client, alice, "user", bob.user_id, screenshot=upload)

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "screenshot" in response.json["errors"]
    assert client.get("/api/social/reports", headers=alice.headers).json["items"] == []


def test_a_screenshot_over_the_limit_is_refused_and_a_body_over_the_limit_too(client, settings, alice, bob):
    padded = jpeg_with_gps()
    over_the_screenshot_limit = padded + b"\x00" * (settings.screenshot_max_bytes + 1 - len(padded))
    refused = report(client, alice, "user", bob.user_id, screenshot=over_the_screenshot_limit)
    assert refused.status_code == 422
    assert "screenshot" in refused.json["errors"]

    too_large = report(client, alice, "user", bob.user_id, screenshot=b"\x00" * (settings.max_body_bytes + 1))
    assert too_large.status_code == 413
    assert too_large.mimetype == "application/problem+json"


# --- reading ---------------------------------------------------------------------------------

def test_a_reporter_lists_own_reports_newest_first(client, session, alice, bob, new_member):
    first = report(client, alice, "user", bob.user_id).json["id"]
    second = report(client, alice, "item", item_of(session, bob)).json["id"]
    report(client, new_member(), "user", bob.user_id)  # someone else's

    page = client.get("/api/social/reports?limit=1", headers=alice.headers).json
    assert [r["id"] for r in page["items"]] == [second]
    rest = client.get(f"/api/social/reports?limit=1&cursor={page['next_cursor']}", headers=alice.headers).json
    assert [r["id"] for r in rest["items"]] == [first]
    assert rest["next_cursor"] is None


def test_someone_elses_report_is_not_found(client, alice, bob):
    report_id = report(client, alice, "user", bob.user_id).json["id"]
    for path in (f"/api/social/reports/{report_id}", f"/api/social/reports/{uuid.uuid4()}"):
        response = client.get(path, headers=bob.headers)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


def test_the_reporter_never_sees_staffs_notes_or_who_decided(client, alice, bob, staff):
    report_id = report(client, alice, "user", bob.user_id).json["id"]
    resolve(client, staff, report_id, "warn")

    seen = client.get(f"/api/social/reports/{report_id}", headers=alice.headers).json
    assert (seen["status"], seen["action"]) == ("resolved", "warn")
    assert not {"notes", "resolved_by", "reviewer_id", "target_user_id"} & set(seen)


# --- staff only ------------------------------------------------------------------------------

ADMIN_ENDPOINTS = [
    ("get", "/api/social/admin/reports", None),
    ("get", "/api/social/admin/reports/{id}", None),
    ("post", "/api/social/admin/reports/{id}/review", None),
    ("post", "/api/social/admin/reports/{id}/resolve", {"action": "ban", "notes": "self-service"}),
]


@pytest.mark.parametrize("method, path, body", ADMIN_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ADMIN_ENDPOINTS])
def test_every_admin_endpoint_is_403_for_a_user_and_401_without_a_token(client, alice, bob, method, path, body):
    report_id = report(client, alice, "user", bob.user_id).json["id"]
    url = path.format(id=report_id)

    for headers, status in ((bob.headers, 403), (alice.headers, 403), ({}, 401)):
        response = getattr(client, method)(url, headers=headers, json=body)
        assert response.status_code == status
        assert response.mimetype == "application/problem+json"
    assert client.get(f"/api/social/reports/{report_id}", headers=alice.headers).json["status"] == "open"


def test_staff_see_the_queue_oldest_first_filtered_by_status_and_type(client, session, alice, bob, new_member,
                                                                      staff):
    carol = new_member()
    ids = [report(client, reporter, "user", bob.user_id).json["id"] for reporter in (alice, carol)]
    item_report = report(client, alice, "item", item_of(session, bob)).json["id"]
    review(client, staff, ids[1])

    def queue(**query):
        seen, cursor = [], None
        while True:
            page = client.get("/api/social/admin/reports", headers=staff.headers,
                              query_string={**query, "limit": 2, **({"cursor": cursor} if cursor else {})}).json
            seen += [r["id"] for r in page["items"]]
            if not (cursor := page["next_cursor"]):
                return seen

    mine = {*ids, item_report}
    assert [i for i in queue() if i in mine] == [ids[0], ids[1], item_report]
    assert [i for i in queue(status="open") if i in mine] == [ids[0], item_report]
    assert [i for i in queue(status="in_review") if i in mine] == [ids[1]]
    assert [i for i in queue(status="open", target_type="item") if i in mine] == [item_report]
    assert client.get("/api/social/admin/reports?status=closed", headers=staff.headers).status_code == 422


def test_an_unknown_report_is_not_found_by_staff(client, staff):
    for response in (client.get(f"/api/social/admin/reports/{uuid.uuid4()}", headers=staff.headers),
                     review(client, staff, uuid.uuid4()), resolve(client, staff, uuid.uuid4(), "dismiss")):
        assert response.status_code == 404


# --- review and resolution -------------------------------------------------------------------

def test_taking_a_report_into_review_records_who_and_when(client, alice, bob, staff):
    report_id = report(client, alice, "user", bob.user_id).json["id"]

    taken = review(client, staff, report_id)

    assert taken.status_code == 200, taken.json
    assert (taken.json["status"], taken.json["reviewer_id"]) == ("in_review", str(staff.user_id))
    started = dt.datetime.fromisoformat(taken.json["review_started_at"])
    assert abs(dt.datetime.now(dt.UTC) - started) < dt.timedelta(minutes=1)
    again = review(client, staff, report_id)
    assert again.status_code == 200
    assert again.json["review_started_at"] == taken.json["review_started_at"]


def test_a_report_in_review_belongs_to_its_reviewer(client, alice, bob, staff, other_staff):
    report_id = report(client, alice, "user", bob.user_id).json["id"]
    review(client, staff, report_id)

    for response in (review(client, other_staff, report_id), resolve(client, other_staff, report_id, "ban")):
        assert response.status_code == 409
        assert response.mimetype == "application/problem+json"
    resolved = resolve(client, staff, report_id, "warn")
    assert resolved.status_code == 200, resolved.json
    assert (resolved.json["status"], resolved.json["action"]) == ("resolved", "warn")


def test_a_resolution_records_who_when_and_why_and_is_final(client, alice, bob, staff, other_staff):
    report_id = report(client, alice, "user", bob.user_id).json["id"]

    resolved = resolve(client, staff, report_id, "suspend", duration_seconds=3600).json

    assert {k: resolved[k] for k in ("status", "action", "notes", "duration_seconds", "resolved_by")} == {
        "status": "resolved", "action": "suspend", "notes": NOTES, "duration_seconds": 3600,
        "resolved_by": str(staff.user_id)}
    assert abs(dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(resolved["resolved_at"])) < dt.timedelta(minutes=1)
    for staff_member in (staff, other_staff):
        assert resolve(client, staff_member, report_id, "ban").status_code == 409
        assert review(client, staff_member, report_id).status_code == 409
    assert client.get(f"/api/social/admin/reports/{report_id}", headers=staff.headers).json == resolved


def test_staff_cannot_review_or_resolve_a_report_about_themselves(client, alice, staff, other_staff):
    report_id = report(client, alice, "user", staff.user_id).json["id"]

    assert review(client, staff, report_id).status_code == 409
    assert resolve(client, staff, report_id, "dismiss").status_code == 409
    assert resolve(client, other_staff, report_id, "dismiss").status_code == 200


@pytest.mark.parametrize("target_type, body, field", [
    ("user", {"action": "suspend", "notes": NOTES}, "duration_seconds"),
    ("user", {"action": "suspend", "notes": NOTES, "duration_seconds": 0}, "duration_seconds"),
    ("user", {"action": "warn", "notes": NOTES, "duration_seconds": 60}, "duration_seconds"),
    ("user", {"action": "remove_content", "notes": NOTES}, "action"),
    ("user", {"action": "ban"}, "notes"),
    ("item", {"action": "delete", "notes": NOTES}, "action"),
], ids=["suspend without a duration", "suspend for 0 s", "warn with a duration", "remove_content from a user",
        "without notes", "unknown action"])
def test_a_resolution_that_does_not_fit_its_action_is_refused(client, session, alice, bob, staff, target_type, body,
                                                              field):
    target_id = bob.user_id if target_type == "user" else item_of(session, bob)
    report_id = report(client, alice, target_type, target_id).json["id"]

    response = client.post(f"/api/social/admin/reports/{report_id}/resolve", headers=staff.headers, json=body)

    assert response.status_code == 422
    assert field in response.json["errors"]
    assert client.get(f"/api/social/reports/{report_id}", headers=alice.headers).json["status"] == "open"


# --- what a resolution publishes ---------------------------------------------------------------

# (reported, action, duration) -> the events published, as (action, target): "reported" is the report's
# target, "owner" the user it belongs to (the reported user, the message's sender, the item's seller).
PUBLISHED = [
    ("user", "dismiss", None, [("dismiss", "reported")]),
    ("user", "warn", None, [("warn", "reported")]),
    ("user", "suspend", 3600, [("suspend", "reported")]),
    ("user", "ban", None, [("ban", "reported")]),
    ("message", "dismiss", None, [("dismiss", "reported")]),
    ("message", "remove_content", None, [("remove_content", "reported")]),
    ("message", "warn", None, [("warn", "owner")]),
    ("message", "suspend", 600, [("suspend", "owner")]),
    ("message", "ban", None, [("remove_content", "reported"), ("ban", "owner")]),
    ("item", "remove_content", None, [("remove_content", "reported")]),
    ("item", "suspend", 86400, [("suspend", "owner")]),
    ("item", "ban", None, [("remove_content", "reported"), ("ban", "owner")]),
]


def published_for(database, event_probe, report_id) -> list[dict]:
    """The payloads of the report's moderation events received from the bus, once the relay published all it
    recorded (the outbox is what the resolving transaction wrote; the probe, what crossed the bus)."""
    def all_published() -> bool:
        with database.session() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(outbox).where(
                outbox.c.event_type == MODERATION_EVENT, outbox.c.published_at.is_(None),
                outbox.c.envelope["payload"]["report_id"].astext == report_id)) == 0

    wait_until(all_published, message="the relay to publish the moderation events")
    return [e.payload for e in event_probe.received(MODERATION_EVENT,
                                                    where=lambda e: e.payload["report_id"] == report_id)]


@pytest.mark.parametrize("reported, action, duration, expected", PUBLISHED,
                         ids=[f"{action} on a {reported}" for reported, action, _d, _e in PUBLISHED])
def test_a_resolution_publishes_the_action_on_what_the_owning_service_acts_on(
        client, session, database, app, handlers, running_worker, event_probe, alice, bob, staff,
        reported, action, duration, expected):
    running_worker(app, handlers)
    target_id = {"user": lambda: bob.user_id, "message": lambda: message_between(session, bob, alice),
                 "item": lambda: item_of(session, bob)}[reported]()
    report_id = report(client, alice, reported, target_id).json["id"]

    resolved = resolve(client, staff, report_id, action, duration_seconds=duration).json

    targets = {"reported": (reported, str(target_id)), "owner": ("user", str(bob.user_id))}
    published = published_for(database, event_probe, report_id)
    assert [(e["action"], e["target_type"], e["target_id"]) for e in published] == [
        (event_action, *targets[target]) for event_action, target in expected]
    for payload in published:
        assert dt.datetime.fromisoformat(payload.pop("taken_at")) == dt.datetime.fromisoformat(resolved["resolved_at"])
        assert {k: v for k, v in payload.items() if k not in ("action", "target_type", "target_id")} == {
            "reason": None, "notes": NOTES, "actor_id": str(staff.user_id), "duration": duration,
            "report_id": report_id}


# --- who is told -----------------------------------------------------------------------------

def test_the_reporter_and_the_user_acted_against_are_notified(client, alice, bob, staff):
    report_id = report(client, alice, "user", bob.user_id).json["id"]

    resolve(client, staff, report_id, "suspend", duration_seconds=3600)

    [outcome] = notifications_of(client, alice, "report.resolved")
    assert (outcome["subject_type"], outcome["subject_id"], outcome["data"]) == ("report", report_id,
                                                                                 {"action": "suspend"})
    assert outcome["actor"] is None
    [action] = notifications_of(client, bob, "moderation.action")
    assert (action["subject_type"], action["subject_id"]) == ("user", str(bob.user_id))
    assert action["data"] == {"action": "suspend", "duration": 3600, "notes": NOTES}
    assert action["actor"] is None
    assert report_id not in str(action) and str(alice.user_id) not in str(action)  # nothing names the reporter


def test_removed_content_is_notified_to_its_owner(client, session, alice, bob, staff):
    item_id = item_of(session, bob)
    report_id = report(client, alice, "item", item_id).json["id"]

    resolve(client, staff, report_id, "remove_content")

    [action] = notifications_of(client, bob, "moderation.action")
    assert (action["subject_type"], action["subject_id"], action["data"]["action"]) == ("item", str(item_id),
                                                                                        "remove_content")
    assert notifications_of(client, alice, "report.resolved")[0]["data"] == {"action": "remove_content"}


def test_a_dismissal_is_told_to_the_reporter_only(client, alice, bob, staff):
    report_id = report(client, alice, "user", bob.user_id).json["id"]

    resolve(client, staff, report_id, "dismiss")

    assert notifications_of(client, alice, "report.resolved")[0]["data"] == {"action": "dismiss"}
    assert notifications_of(client, bob, "moderation.action") == []


def test_a_reporter_who_blocked_the_staff_member_is_still_told(client, alice, bob, staff):
    """Staff act as the platform: a block between a user and a staff member hides nothing of moderation."""
    block = client.post("/api/social/blocks", headers=alice.headers, json={"username": staff.username})
    assert block.status_code == 201, block.json
    report_id = report(client, alice, "user", bob.user_id).json["id"]

    resolve(client, staff, report_id, "warn")

    assert len(notifications_of(client, alice, "report.resolved")) == 1
