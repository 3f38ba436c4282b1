"""Object-level authorization in every service, through the gateway (the native stack, real tokens).

Alice owns one of everything a user can own: sessions, a password reset, keys, a verification request, an
avatar, a friend, a friend request, a block, a notification, a report, a group with a message and an
attachment (and their ledger leaf), an item with an image, a cart line, an order. Mallory, another signed-in
user, then calls every endpoint that takes an object id in its path with Alice's real object: she is refused
as the endpoint documents it (404 where the object's existence is not revealed, 403 where the object is
public and only acting on it is not hers), and what Alice sees of the object is unchanged afterwards. Some
objects are public by design (a profile, an item page, the ledger); their entries say why, and Mallory gets
them. Every staff endpoint (`/admin/`) refuses Mallory (403) and an anonymous caller (401).

The table is checked against the services' OpenAPI documents: an endpoint with a path parameter, or under
`/admin/`, that has no entry fails `test_every_endpoint_with_an_object_id_or_for_staff_has_an_entry`.
"""
from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from servicekit.testing import retried_while, wait_until
from servicekit.testing.gateway import GatewayClient, create_staff

from beyou import identity
from beyou.api import Client, ProblemError
from beyou.keystore import Keyring
from beyou.messages import File, send_standard

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")
BUS_TIMEOUT = 30  # seconds an event may take from one service's commit to another's effect, at most
ADDRESS = {"name": "Alice Owner", "line1": "1 Market Street", "city": "Zurich", "postal_code": "8001",
           "country": "CH"}
TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
TILE_WIDTH = 256  # leaves per level-0 tile (C2SP tlog-tiles)


# --- the people -----------------------------------------------------------------------------------------

@dataclass
class Person:
    """A registered user, signed in through the client library from a device of their own."""

    client: Client
    username: str
    password: str
    keyring: Keyring

    @property
    def id(self) -> str:
        return self.client.session.user_id

    def ask(self, method: str, path: str, *, signed_in: bool = True, **kwargs: Any) -> requests.Response:
        """Any answer, as it comes (the library refreshes an expired access token)."""
        return self.client.request(method, path, auth=signed_in, **kwargs)


@dataclass
class World:
    """Alice's objects (ids as the API gives them, by the names the table uses) and the two users."""

    alice: Person
    mallory: Person
    alice_id: str = ""
    alice_username: str = ""
    session: str = ""                 # a session of Alice's other device
    password_reset: str = ""          # a reset Alice started and has not verified
    key: str = ""                     # the fingerprint of Alice's signing key
    verification: str = ""            # Alice's (approved) verification request
    avatar: str = ""
    avatar_size: int = 256
    friend: str = ""                  # Carol, Alice's friend and a member of her group
    friend_request: str = ""          # Alice's open request to Dave
    blocked: str = ""                 # Erin, whom Alice blocked
    notification: str = ""            # unread
    report: str = ""                  # Alice's open report of Erin
    group: str = ""                   # Alice's group, with Carol
    message: str = ""                 # Alice's message in it, with an attachment
    message_seq: int = 0
    attachment: str = ""
    ledger_block: int = 0             # the block that seals the message's leaf
    ledger_tile: str = ""             # the entry bundle that holds it
    item: str = ""                    # Alice's item for sale, with an image
    image: str = ""
    image_size: int = 256
    cart_item: str = ""               # Carol's item in Alice's cart
    order: str = ""                   # Alice's pending order of another of Carol's items
    checkout_key: str = ""            # the Idempotency-Key of Alice's checkout
    category: str = ""                # an empty category, for the staff endpoints
    unused_slug: str = field(default_factory=lambda: f"c{uuid.uuid4().hex[:12]}")


# --- the table ------------------------------------------------------------------------------------------

Witness = Callable[[World], Any]


@dataclass(frozen=True)
class Entry:
    """What Mallory gets from one endpoint called with Alice's object (the table's row).

    `at` names, for each path parameter, the World attribute that fills it; `json`, `data`, `files` and
    `params` may be a value or a function of the World. `unchanged` is what Alice sees of the object, taken
    before and after Mallory's call, for the endpoints that write.
    """

    kind: str                             # refused, public, proof or staff
    status: int                           # what Mallory, signed in, is answered
    at: Mapping[str, str]
    why: str = ""
    json: Any = None
    data: Any = None
    files: Any = None
    params: Any = None
    headers: Mapping[str, str] | None = None
    unchanged: Witness | None = None


def hidden(at: Mapping[str, str], **request: Any) -> Entry:
    """Refused with 404: the endpoint does not reveal whether another user's object exists."""
    return Entry("refused", 404, at, **request)


def forbidden(at: Mapping[str, str], **request: Any) -> Entry:
    """Refused with 403: the object is public, so acting on another's is forbidden, not hidden."""
    return Entry("refused", 403, at, **request)


def public(why: str, at: Mapping[str, str], **request: Any) -> Entry:
    """Anyone (signed in, where the endpoint asks for it) gets the object: `why` says why that is right."""
    return Entry("public", 200, at, why=why, **request)


def needs_proof(status: int, why: str, at: Mapping[str, str], **request: Any) -> Entry:
    """An anonymous step where the id alone gets nobody anywhere: it asks for a proof Mallory cannot give."""
    return Entry("proof", status, at, why=why, **request)


def staff_only(at: Mapping[str, str] | None = None, **request: Any) -> Entry:
    """A staff endpoint: 403 for a signed-in user, 401 for an anonymous caller."""
    return Entry("staff", 403, at or {}, **request)


# A witness fails when the object is not there to see: an unchanged absence would prove nothing.

def alice_sees(path: str) -> Witness:
    """What Alice is answered at `path` (its {names} filled from the World)."""
    def seen(world: World) -> Any:
        response = world.alice.ask("GET", path.format_map(vars(world)))
        assert response.status_code == 200, response.text
        return response.json()
    return seen


def alices_other_session(world: World) -> dict:
    sessions = world.alice.ask("GET", "/api/auth/sessions", params={"limit": 100}).json()["items"]
    [session] = [{"id": s["id"], "revoked": s["revoked"]} for s in sessions if s["id"] == world.session]
    return session


def alices_notification(world: World) -> dict:
    notices = world.alice.ask("GET", "/api/social/notifications", params={"limit": 100}).json()["items"]
    [notice] = [{"id": n["id"], "read_at": n["read_at"]} for n in notices if n["id"] == world.notification]
    return notice


def alices_password_signs_her_in(world: World) -> bool:
    signed_in = world.alice.ask("POST", "/api/auth/login", signed_in=False,
                                json={"username": world.alice.username, "password": world.alice.password})
    assert signed_in.status_code == 200, signed_in.text
    return True


def the_category(world: World) -> list[dict]:
    """The staff-made empty category, and any category with the slug no one has used."""
    categories = world.alice.ask("GET", "/api/marketplace/categories").json()
    found = [c for c in categories if c["id"] == world.category or c["slug"] == world.unused_slug]
    assert world.category in [c["id"] for c in found]
    return found


def png(size: tuple[int, int] = (320, 240), colour: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


IDEMPOTENCY = {"Idempotency-Key": str(uuid.uuid4())}
CONVERSATION = alice_sees("/api/messaging/conversations/{group}")
ITEM = alice_sees("/api/marketplace/items/{item}")
ORDER = alice_sees("/api/marketplace/orders/{order}")
FRIEND_REQUEST = alice_sees("/api/social/friend-requests/{friend_request}")
REPORT = alice_sees("/api/social/reports/{report}")
VERIFICATION = alice_sees("/api/auth/verification/{verification}")
KEY = alice_sees("/api/auth/keys/{key}")
THE_LOG_IS_PUBLIC = ("the ledger is a public transparency log (RFC 9162 style, DESIGN.md): its leaves hold "
                     "ids and hashes, never content, so that anyone can verify it")

TABLE: dict[tuple[str, str], Entry] = {
    # auth ---------------------------------------------------------------------------------------------
    ("DELETE", "/api/auth/sessions/{session_id}"): hidden(
        {"session_id": "session"}, unchanged=alices_other_session),
    ("POST", "/api/auth/password-reset/{reset_id}/verify"): needs_proof(
        422, "anyone may try a reset's code (the step is anonymous); the reset's id is worth nothing without the "
             "code sent to its owner, and a wrong one is refused (five wrong ones end the reset)",
        {"reset_id": "password_reset"}, json={"code": "00000000"}),
    ("POST", "/api/auth/password-reset/{reset_id}/confirm"): needs_proof(
        409, "no new password is set until the reset's code is verified", {"reset_id": "password_reset"},
        json={"new_password": "Mallory-owns-this-account-now"}, unchanged=alices_password_signs_her_in),
    ("GET", "/api/auth/keys/{fingerprint}"): public(
        "the key registry is a directory: any user fetches a key to seal a message for it or check a signature",
        {"fingerprint": "key"}),
    ("DELETE", "/api/auth/keys/{fingerprint}"): forbidden({"fingerprint": "key"}, unchanged=KEY),
    ("GET", "/api/auth/users/{user_id}/keys"): public(
        "a user's keys, active and historic, are what others seal for and verify old messages with",
        {"user_id": "alice_id"}),
    ("GET", "/api/auth/verification/{request_id}"): hidden({"request_id": "verification"}),
    ("GET", "/api/auth/verification/{request_id}/document"): hidden({"request_id": "verification"}),
    ("GET", "/api/auth/admin/verifications"): staff_only(),
    ("GET", "/api/auth/admin/verifications/{request_id}"): staff_only({"request_id": "verification"}),
    ("GET", "/api/auth/admin/verifications/{request_id}/document"): staff_only({"request_id": "verification"}),
    ("POST", "/api/auth/admin/verifications/{request_id}/approve"): staff_only(
        {"request_id": "verification"}, json={"notes": "looks fine"}, unchanged=VERIFICATION),
    ("POST", "/api/auth/admin/verifications/{request_id}/reject"): staff_only(
        {"request_id": "verification"}, json={"notes": "send another"}, unchanged=VERIFICATION),
    ("GET", "/api/auth/admin/login-activity"): staff_only(params=lambda w: {"username": w.alice_username}),
    ("GET", "/api/auth/admin/login-activity/stats"): staff_only(),
    ("POST", "/api/auth/admin/users/{user_id}/ban"): staff_only(
        {"user_id": "alice_id"}, json={"reason": "I do not like her"}, unchanged=alice_sees("/api/auth/whoami")),
    ("POST", "/api/auth/admin/users/{user_id}/unban"): staff_only(
        {"user_id": "alice_id"}, unchanged=alice_sees("/api/auth/whoami")),
    # social -------------------------------------------------------------------------------------------
    ("GET", "/api/social/profiles/{username}"): public(
        "a profile is how users find each other (limited between users who block one another)",
        {"username": "alice_username"}),
    ("GET", "/api/social/avatars/{avatar_id}/{size}"): public(
        "avatars are as public as usernames (no sign-in needed)", {"avatar_id": "avatar", "size": "avatar_size"}),
    ("GET", "/api/social/friend-requests/{request_id}"): hidden({"request_id": "friend_request"}),
    ("POST", "/api/social/friend-requests/{request_id}/accept"): hidden(
        {"request_id": "friend_request"}, unchanged=FRIEND_REQUEST),
    ("POST", "/api/social/friend-requests/{request_id}/reject"): hidden(
        {"request_id": "friend_request"}, unchanged=FRIEND_REQUEST),
    ("POST", "/api/social/friend-requests/{request_id}/cancel"): hidden(
        {"request_id": "friend_request"}, unchanged=FRIEND_REQUEST),
    ("DELETE", "/api/social/friends/{user_id}"): hidden(
        {"user_id": "friend"}, unchanged=alice_sees("/api/social/friends")),
    ("DELETE", "/api/social/blocks/{user_id}"): hidden(
        {"user_id": "blocked"}, unchanged=alice_sees("/api/social/blocks")),
    ("POST", "/api/social/notifications/{notification_id}/read"): hidden(
        {"notification_id": "notification"}, unchanged=alices_notification),
    ("GET", "/api/social/reports/{report_id}"): hidden({"report_id": "report"}),
    ("GET", "/api/social/reports/{report_id}/screenshot"): hidden({"report_id": "report"}),
    ("GET", "/api/social/admin/reports"): staff_only(),
    ("GET", "/api/social/admin/reports/{report_id}"): staff_only({"report_id": "report"}),
    ("POST", "/api/social/admin/reports/{report_id}/review"): staff_only({"report_id": "report"}, unchanged=REPORT),
    ("POST", "/api/social/admin/reports/{report_id}/resolve"): staff_only(
        {"report_id": "report"}, json={"action": "dismiss", "notes": "nothing to see"}, unchanged=REPORT),
    # messaging ----------------------------------------------------------------------------------------
    ("GET", "/api/messaging/conversations/{conversation_id}"): hidden({"conversation_id": "group"}),
    ("PATCH", "/api/messaging/conversations/{conversation_id}"): hidden(
        {"conversation_id": "group"}, json={"name": "Mallory's now"}, unchanged=CONVERSATION),
    ("DELETE", "/api/messaging/conversations/{conversation_id}"): hidden(
        {"conversation_id": "group"}, unchanged=CONVERSATION),
    ("POST", "/api/messaging/conversations/{conversation_id}/participants"): hidden(
        {"conversation_id": "group"}, json=lambda w: {"user_id": w.mallory.id}, unchanged=CONVERSATION),
    ("DELETE", "/api/messaging/conversations/{conversation_id}/participants/{user_id}"): hidden(
        {"conversation_id": "group", "user_id": "friend"}, unchanged=CONVERSATION),
    ("POST", "/api/messaging/conversations/{conversation_id}/leave"): hidden(
        {"conversation_id": "group"}, unchanged=CONVERSATION),
    ("GET", "/api/messaging/conversations/{conversation_id}/messages"): hidden({"conversation_id": "group"}),
    ("POST", "/api/messaging/conversations/{conversation_id}/messages"): hidden(
        {"conversation_id": "group"}, json={"kind": "standard", "body": "let me in"},
        unchanged=alice_sees("/api/messaging/conversations/{group}/messages")),
    ("GET", "/api/messaging/messages/{message_id}"): hidden({"message_id": "message"}),
    ("POST", "/api/messaging/conversations/{conversation_id}/read"): hidden(
        {"conversation_id": "group"}, json=lambda w: {"seq": w.message_seq}, unchanged=CONVERSATION),
    ("GET", "/api/messaging/conversations/{conversation_id}/keys"): hidden({"conversation_id": "group"}),
    ("GET", "/api/messaging/attachments/{attachment_id}"): hidden({"attachment_id": "attachment"}),
    # ids in a form rather than the path: the same rule holds
    ("POST", "/api/messaging/attachments"): hidden(
        {}, data=lambda w: {"conversation_id": w.group}, files={"file": ("photo.png", png(), "image/png")},
        unchanged=alice_sees("/api/messaging/conversations/{group}/messages")),
    ("POST", "/api/social/reports"): hidden(
        {}, data=lambda w: {"target_type": "message", "target_id": w.message, "reason": "I read it somehow"}),
    # ledger -------------------------------------------------------------------------------------------
    ("GET", "/api/ledger/entries/{message_id}"): public(THE_LOG_IS_PUBLIC, {"message_id": "message"}),
    ("GET", "/api/ledger/entries/keys/{fingerprint}"): public(THE_LOG_IS_PUBLIC, {"fingerprint": "key"}),
    ("GET", "/api/ledger/blocks/{height}"): public(THE_LOG_IS_PUBLIC, {"height": "ledger_block"}),
    ("GET", "/api/ledger/log/tile/{path}"): public(THE_LOG_IS_PUBLIC, {"path": "ledger_tile"}),
    ("GET", "/api/ledger/admin/stats"): staff_only(),
    ("POST", "/api/ledger/admin/audit"): staff_only(params={"mode": "incremental"}),
    # marketplace --------------------------------------------------------------------------------------
    ("POST", "/api/marketplace/admin/categories"): staff_only(
        json=lambda w: {"name": "Mallory's wares", "slug": w.unused_slug}, unchanged=the_category),
    ("PATCH", "/api/marketplace/admin/categories/{category_id}"): staff_only(
        {"category_id": "category"}, json={"name": "Renamed by Mallory"}, unchanged=the_category),
    ("DELETE", "/api/marketplace/admin/categories/{category_id}"): staff_only(
        {"category_id": "category"}, unchanged=the_category),
    ("GET", "/api/marketplace/items/{item_id}"): public(
        "an item for sale is a public page (no sign-in needed)", {"item_id": "item"}),
    ("PATCH", "/api/marketplace/items/{item_id}"): forbidden(
        {"item_id": "item"}, json={"title": "Sold to Mallory", "price_minor": 1}, unchanged=ITEM),
    ("DELETE", "/api/marketplace/items/{item_id}"): forbidden({"item_id": "item"}, unchanged=ITEM),
    ("POST", "/api/marketplace/items/{item_id}/images"): forbidden(
        {"item_id": "item"}, files={"image": ("mine.png", png(colour=(200, 0, 0)), "image/png")}, unchanged=ITEM),
    ("PUT", "/api/marketplace/items/{item_id}/images/order"): forbidden(
        {"item_id": "item"}, json=lambda w: {"image_ids": [w.image]}, unchanged=ITEM),
    ("DELETE", "/api/marketplace/items/{item_id}/images/{image_id}"): forbidden(
        {"item_id": "item", "image_id": "image"}, unchanged=ITEM),
    ("GET", "/api/marketplace/items/{item_id}/images/{image_id}/{size}"): public(
        "an item's images are part of its public page", {"item_id": "item", "image_id": "image", "size": "image_size"}),
    ("PATCH", "/api/marketplace/cart/items/{item_id}"): hidden(
        {"item_id": "cart_item"}, json={"quantity": 1}, unchanged=alice_sees("/api/marketplace/cart")),
    ("DELETE", "/api/marketplace/cart/items/{item_id}"): hidden(
        {"item_id": "cart_item"}, unchanged=alice_sees("/api/marketplace/cart")),
    ("GET", "/api/marketplace/orders/{order_id}"): hidden({"order_id": "order"}),
    ("POST", "/api/marketplace/orders/{order_id}/pay"): hidden(
        {"order_id": "order"}, json={"card": TEST_CARD}, headers=IDEMPOTENCY, unchanged=ORDER),
    ("POST", "/api/marketplace/orders/{order_id}/cancel"): hidden({"order_id": "order"}, unchanged=ORDER),
}


def endpoint_id(endpoint: tuple[str, str]) -> str:
    return " ".join(endpoint)


def rows(*kinds: str) -> list[tuple[str, str]]:
    return [endpoint for endpoint, entry in TABLE.items() if entry.kind in kinds]


# --- the table against the services' OpenAPI documents ---------------------------------------------------

@pytest.fixture(scope="module")
def operations(gateway_url) -> dict[tuple[str, str], dict]:
    """(METHOD, path) -> the operation, from every service's OpenAPI document as the gateway serves it."""
    found = {}
    with GatewayClient(gateway_url) as client:
        for service in SERVICES:
            response = client.get(f"/api/{service}/openapi.json")
            assert response.status_code == 200, (service, response.text)
            for path, methods in response.json()["paths"].items():
                for method, operation in methods.items():
                    if method in ("get", "put", "post", "patch", "delete"):
                        found[(method.upper(), path)] = operation
    return found


def test_every_endpoint_with_an_object_id_or_for_staff_has_an_entry(operations):
    needing_one = {(method, path) for method, path in operations if "{" in path or "/admin/" in path}
    missing = sorted(needing_one - TABLE.keys())
    assert not missing, f"endpoints with no entry in the authorization table: {missing}"
    gone = sorted(TABLE.keys() - operations.keys())
    assert not gone, f"entries for endpoints the OpenAPI documents do not have: {gone}"
    staff = {endpoint for endpoint in operations if "/admin/" in endpoint[1]}
    assert staff == set(rows("staff")), "an entry says staff_only exactly where the path is under /admin/"


@pytest.mark.parametrize("endpoint", list(TABLE), ids=endpoint_id)
def test_each_entry_fills_the_path_and_says_what_the_endpoint_documents(endpoint, operations):
    method, path = endpoint
    entry = TABLE[endpoint]
    assert set(re.findall(r"{(\w+)}", path)) == set(entry.at), "the entry fills every path parameter, no other"
    assert set(entry.at.values()) <= {f.name for f in World.__dataclass_fields__.values()}
    documented = operations[endpoint]["responses"]
    answers = {"staff": ("401", "403")}.get(entry.kind, (str(entry.status),))
    assert all(status in documented for status in answers), (answers, sorted(documented))
    assert entry.kind not in ("public", "proof") or entry.why, "public and proof entries say why"


# --- Alice's world, made once for the module ------------------------------------------------------------

def _new_details() -> dict[str, str]:
    tag = uuid.uuid4()
    username = f"z{tag.hex[:12]}"
    return {"username": username, "email": f"{username}@authz.test", "phone": f"+4420{tag.int % 10**8:08d}",
            "password": f"Authz-{tag.hex[12:28]}"}


def eventually(action: Callable[[], Any], what: str, statuses: tuple[int, ...] = (403, 404, 409, 422)) -> Any:
    """`action()` once the read models it depends on are fed: retried while it fails with `statuses`."""
    return retried_while(action, lambda exc: isinstance(exc, ProblemError) and exc.status in statuses,
                         timeout=BUS_TIMEOUT, interval=0.2, message=what)


@pytest.fixture(scope="module")
def staff_member(gateway_url, module_client, staff_command) -> Client:
    """A staff account made the operator's way (`flask --app auth create-staff`), signed in."""
    details = _new_details()
    create_staff(ROOT, details, staff_command)
    client = Client(gateway_url, http=module_client())
    client.login(details["username"], details["password"])
    return client


@pytest.fixture(scope="module")
def new_person(gateway_url, module_client) -> Callable[[], Person]:
    """`new_person()`: a new user, registered (proof of work solved) and signed in, once social knows them."""
    def make() -> Person:
        details = _new_details()
        client = Client(gateway_url, http=module_client())
        client.register(**details)
        client.login(details["username"], details["password"])
        person = Person(client, details["username"], details["password"], Keyring(client.session.user_id, []))
        eventually(lambda: client.call("GET", "/api/social/profiles/me"), f"social to know {person.username}")
        return person
    return make


def verified(person: Person, staff: Client) -> str:
    """The person asks to be verified with an ID document, staff approve: the request's id."""
    asked = person.client.request_verification(png(), filename="id.png", content_type="image/png",
                                               reason="to sell and to make groups")
    staff.call("POST", f"/api/auth/admin/verifications/{asked['id']}/approve", json={"notes": "ok"})
    person.client.refresh()   # the new access token says verified
    return asked["id"]


def listed(seller: Person, category_id: str, title: str) -> dict:
    return eventually(lambda: seller.client.call("POST", "/api/marketplace/items", json={
        "title": title, "description": "Sturdy.", "category_id": category_id, "price_minor": 4500,
        "currency": "EUR", "quantity": 1, "condition": "good"}), f"the marketplace to let {seller.username} sell")


def sealed(person: Person, message_id: str) -> dict | None:
    """The message's ledger entry once a block seals its leaf, else None."""
    response = person.ask("GET", f"/api/ledger/entries/{message_id}", signed_in=False)
    if response.status_code != 200 or response.json()["block_height"] is None:
        return None
    return response.json()


def tile_index(n: int) -> str:
    """A tile index as C2SP tlog-tiles writes it: 3-digit groups, all but the last prefixed with x."""
    groups = []
    while True:
        n, group = divmod(n, 1000)
        groups.append(f"{group:03d}")
        if n == 0:
            break
    return "/".join([f"x{group}" for group in reversed(groups[1:])] + [groups[0]])


@pytest.fixture(scope="module")
def world(gateway_url, staff_member, new_person, module_client) -> World:
    """Alice's objects, made as users make them; Carol is her friend and sells, Dave and Erin are others."""
    staff = staff_member
    alice, mallory, carol, dave, erin = (new_person() for _ in range(5))
    world = World(alice, mallory, alice_id=alice.id, alice_username=alice.username)

    # auth: another device's session, a password reset, keys, a verification request
    laptop = Client(gateway_url, http=module_client())
    laptop.login(alice.username, alice.password)
    world.session = laptop.session.session_id
    world.password_reset = laptop.start_password_reset(alice.username)["reset_id"]
    identity.add_new_keys(alice.keyring, "ed25519")
    identity.register_pending(alice.client, alice.keyring, save=lambda: None)
    world.key = alice.keyring.active("signing").fingerprint
    world.verification = verified(alice, staff)
    verified(carol, staff)

    # social: an avatar, a friend, an open friend request, a block, a report, a notification
    avatar = alice.client.call("PUT", "/api/social/profiles/me/avatar",
                               files={"avatar": ("me.png", png((300, 300)), "image/png")})
    world.avatar = avatar["avatar"][str(world.avatar_size)].split("/")[-2]   # .../avatars/<id>/<size>
    request = alice.client.request_friendship(carol.username)
    carol.client.accept_friend_request(request["id"])
    world.friend = carol.id
    world.friend_request = alice.client.request_friendship(dave.username)["id"]
    world.report = alice.client.call("POST", "/api/social/reports", data={
        "target_type": "user", "target_id": erin.id, "reason": "Threatens me."},
        files={"screenshot": ("evidence.png", png(), "image/png")})["id"]
    alice.client.call("POST", "/api/social/blocks", json={"username": erin.username, "reason": "threats"})
    world.blocked = erin.id
    world.notification = wait_until(
        lambda: next((n["id"] for n in alice.client.call("GET", "/api/social/notifications")["items"]
                      if n["kind"] == "verification.approved" and n["read_at"] is None), None),
        timeout=BUS_TIMEOUT, interval=0.2, message="social to tell Alice she is verified")

    # messaging: a group with Carol, a signed message with an attachment; its leaf in the ledger
    world.group = eventually(lambda: alice.client.create_group("Alice and Carol", [carol.id]),
                             "messaging to know Alice verified and Carol her friend")["id"]
    sent = send_standard(alice.client, world.group, "Only for Carol's eyes", keyring=alice.keyring,
                         files=[File("photo.png", png(), "image/png")]).message
    world.message, world.message_seq, [world.attachment] = sent["id"], sent["seq"], sent["attachment_ids"]
    entry = wait_until(lambda: sealed(alice, world.message), timeout=BUS_TIMEOUT, interval=0.2,
                       message="the ledger to seal Alice's message")
    world.ledger_block = entry["block_height"]
    index = entry["leaf_index"]
    width = index % TILE_WIDTH + 1   # the narrowest bundle that holds the leaf: the log is append-only
    world.ledger_tile = f"entries/{tile_index(index // TILE_WIDTH)}" + (f".p/{width}" if width < TILE_WIDTH else "")

    # marketplace: Alice's item with an image, Carol's items in Alice's pending order and in her cart
    def category() -> str:
        slug = f"c{uuid.uuid4().hex[:12]}"
        return staff.call("POST", "/api/marketplace/admin/categories",
                          json={"name": f"Category {slug}", "slug": slug})["id"]
    furniture, world.category = category(), category()
    world.item = listed(alice, furniture, "Alice's oak chair")["id"]
    world.image = alice.client.call("POST", f"/api/marketplace/items/{world.item}/images",
                                    files={"image": ("chair.png", png(), "image/png")})["id"]
    ordered, wanted = listed(carol, furniture, "Carol's lamp")["id"], listed(carol, furniture, "Carol's desk")["id"]
    eventually(lambda: alice.client.call("POST", "/api/marketplace/cart/items",
                                         json={"item_id": ordered, "quantity": 1}), "the marketplace to know Carol")
    world.checkout_key = str(uuid.uuid4())
    world.order = alice.client.call("POST", "/api/marketplace/checkout", json={"shipping_address": ADDRESS},
                                    headers={"Idempotency-Key": world.checkout_key})["id"]
    alice.client.call("POST", "/api/marketplace/cart/items", json={"item_id": wanted, "quantity": 1})
    world.cart_item = wanted
    return world


def call(person: Person, endpoint: tuple[str, str], world: World, *, signed_in: bool = True) -> requests.Response:
    """The endpoint, called by `person` with Alice's objects as its entry says."""
    method, path = endpoint
    entry = TABLE[endpoint]
    filled = path.format_map({parameter: getattr(world, name) for parameter, name in entry.at.items()})
    request = {name: value(world) if callable(value) else value
               for name, value in (("json", entry.json), ("data", entry.data), ("files", entry.files),
                                   ("params", entry.params), ("headers", entry.headers)) if value is not None}
    return person.ask(method, filled, signed_in=signed_in, **request)


def assert_problem(response: requests.Response, status: int) -> None:
    assert response.status_code == status, f"{response.status_code}: {response.text[:500]}"
    assert response.headers["Content-Type"].startswith("application/problem+json"), response.headers


# --- the matrix ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", rows("refused", "proof"), ids=endpoint_id)
def test_another_user_is_refused_alices_object_and_it_stays_as_it_was(endpoint, world):
    entry = TABLE[endpoint]
    before = entry.unchanged(world) if entry.unchanged else None
    assert_problem(call(world.mallory, endpoint, world), entry.status)
    if entry.unchanged:
        assert entry.unchanged(world) == before


@pytest.mark.parametrize("endpoint", [(method, path) for method, path in rows("refused") if method == "GET"],
                         ids=endpoint_id)
def test_alice_herself_gets_each_object_another_user_is_refused(endpoint, world):
    """The refusals are about whose object it is: the same request, made by its owner, is answered."""
    response = call(world.alice, endpoint, world)
    assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"


@pytest.mark.parametrize("endpoint", rows("public"), ids=endpoint_id)
def test_another_user_gets_alices_public_object(endpoint, world):
    response = call(world.mallory, endpoint, world)
    assert response.status_code == 200, f"{TABLE[endpoint].why}; but: {response.status_code} {response.text[:500]}"


@pytest.mark.parametrize("endpoint", rows("staff"), ids=endpoint_id)
def test_a_staff_endpoint_refuses_a_user_and_an_anonymous_caller(endpoint, world):
    entry = TABLE[endpoint]
    before = entry.unchanged(world) if entry.unchanged else None
    assert_problem(call(world.mallory, endpoint, world), 403)
    assert_problem(call(world.mallory, endpoint, world, signed_in=False), 401)
    if entry.unchanged:
        assert entry.unchanged(world) == before


# --- Alice's ids where a body or a header names them -------------------------------------------------------

def test_another_users_attachment_cannot_be_put_in_a_message(world):
    mallorys = eventually(lambda: world.mallory.client.create_direct_conversation(world.friend),
                          "messaging to know Carol")
    response = world.mallory.ask("POST", f"/api/messaging/conversations/{mallorys['id']}/messages",
                                 json={"kind": "standard", "body": "look", "attachment_ids": [world.attachment]})
    assert_problem(response, 422)
    assert list(response.json()["errors"]) == ["attachment_ids"]


def test_another_users_idempotency_key_replays_nothing_of_hers(world):
    """A key is remembered per buyer: Alice's key and body, sent by Mallory, are a request of Mallory's own (her
    cart is empty), not a replay of Alice's order."""
    response = world.mallory.ask("POST", "/api/marketplace/checkout", json={"shipping_address": ADDRESS},
                                 headers={"Idempotency-Key": world.checkout_key})
    assert_problem(response, 409)
    assert world.order not in response.text
