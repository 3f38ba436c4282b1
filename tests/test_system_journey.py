"""The whole system as its users see it: through the gateway only, acting with the client library (`beyou`)
as a real client would, every user on a device of their own (a loopback address of their own, as the
gateway's per-address limits expect).

- The journey: alice registers (proof of work), turns 2FA on and signs in with a TOTP code, makes and
  registers her keys, asks to be verified and staff approve; she befriends bob and carol; a direct e2e
  conversation with bob and a group of the three; the ledger proves bob's message and the group's in the
  client; alice lists an item, bob buys it with a test card and alice sees the sale and is told of it; alice
  reports bob's message, staff ban him: his tokens die in all five services and the message is gone for
  alice while its ledger entry stays, proven and marked removed.
- A blocked user is refused wherever DESIGN.md has something pass between two users: social (friend
  requests, the profile, search), messaging (direct conversations and their messages) and the marketplace
  (cart, checkout, search). auth and the ledger hold nothing between two users (accounts, a public log).
- The smoke journey (`-k smoke`): the shorter path, which deploy/compose/journey.sh runs against the compose
  stack with `--gateway-url` and `--staff-command` (servicekit.testing.gateway).
"""
from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
import segno
from servicekit.testing import retried_while, wait_until
from servicekit.testing.gateway import create_staff

from beyou import identity, keystore, messages
from beyou.api import Client, MfaRequired, ProblemError
from beyou.contacts import Contacts
from beyou.keystore import Keyring
from beyou.ledger import LedgerClient, Verdict

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")
# Where each service refuses a signed-out or banned token (whoami is the ledger's one for any signed-in user).
PROTECTED = {"auth": "/api/auth/me", "social": "/api/social/profiles/me",
             "messaging": "/api/messaging/conversations", "ledger": "/api/ledger/whoami",
             "marketplace": "/api/marketplace/cart"}
BUS_TIMEOUT = 30  # seconds an event may take from one service's commit to another's effect (or a block to seal)
TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}  # README: succeeds
ADDRESS = {"name": "Bob Buyer", "line1": "1 Market Street", "city": "Zurich", "postal_code": "8001", "country": "CH"}
PASSPHRASE = "a long passphrase for the key file"


# --- people and their devices ---------------------------------------------------------------------------

@dataclass
class Person:
    """A user and their device: the library's client, their key file, pinned contacts and ledger state."""

    name: str
    details: dict[str, str]
    client: Client
    home: Path
    keyring: Keyring | None = None
    contacts: Contacts | None = None
    ledger: LedgerClient | None = None

    @property
    def id(self) -> str:
        return self.client.session.user_id

    @property
    def username(self) -> str:
        return self.details["username"]

    def settle_in(self) -> None:
        """What the client keeps once signed in: contacts checked in the ledger, as `beyou` keeps them."""
        self.ledger = LedgerClient.through(self.client, self.home)
        self.contacts = Contacts(self.home / "contacts.json", owner_id=self.id, ledger=self.ledger)


def _details(name: str) -> dict[str, str]:
    tag = uuid.uuid4()
    username = f"{name}{tag.hex[:10]}"
    return {"username": username, "email": f"{username}@journey.test", "phone": f"+4420{tag.int % 10**8:08d}",
            "password": f"Journey-{tag.hex[12:28]}"}


@pytest.fixture
def register(gateway_url, new_client, tmp_path) -> Callable[[str], Person]:
    """`register(name)`: a new account, registered by the library (proof of work solved) from a device of its
    own, not signed in yet."""
    def make(name: str) -> Person:
        details = _details(name)
        client = Client(gateway_url, http=new_client())
        client.register(**details)
        return Person(name, details, client, tmp_path / details["username"])
    return make


@pytest.fixture
def person(register) -> Callable[[str], Person]:
    """`person(name, family="ed25519")`: registered, signed in with the password, keys made and registered."""
    def make(name: str, family: str = "ed25519") -> Person:
        someone = register(name)
        someone.client.login(someone.username, someone.details["password"])
        someone.settle_in()
        make_keys(someone, family)
        return someone
    return make


@pytest.fixture
def staff_member(gateway_url, new_client, staff_command) -> Client:
    """The library signed in as a staff account the operator made (`flask --app auth create-staff`)."""
    details = _details("staff")
    create_staff(ROOT, details, staff_command)
    client = Client(gateway_url, http=new_client())
    client.login(details["username"], details["password"])
    return client


# --- waiting on the bus -----------------------------------------------------------------------------------

def eventually(action: Callable[[], Any], what: str, *, statuses: tuple[int, ...]) -> Any:
    """`action()`'s answer once the read models it needs have heard the events: retried while refused with
    `statuses` (a service that has not heard of a user, a key, a friendship or a verification yet)."""
    return retried_while(action, lambda exc: isinstance(exc, ProblemError) and exc.status in statuses,
                         timeout=BUS_TIMEOUT, interval=0.2, message=what)


def refused(status: int, action: Callable[[], Any]) -> bool:
    """Whether `action()` is refused with `status` (any other refusal fails the test)."""
    try:
        action()
    except ProblemError as problem:
        if problem.status == status:
            return True
        raise
    return False


def sealed(verify: Callable[[], Verdict]) -> Verdict:
    """The ledger's verdict once the record is in a signed checkpoint (a block waits at most its age)."""
    def final() -> Verdict | None:
        verdict = verify()
        return verdict if verdict.status not in ("missing", "pending") else None
    return wait_until(final, timeout=BUS_TIMEOUT, interval=0.2, message="the ledger to seal the record")


# --- steps of the journeys --------------------------------------------------------------------------------

def make_keys(someone: Person, family: str = "ed25519") -> None:
    """A signing and an encryption key made on the device, kept in the passphrase-encrypted key file, and
    registered with proof of possession."""
    someone.keyring = someone.keyring or Keyring(someone.id, [])
    identity.add_new_keys(someone.keyring, family)
    identity.register_pending(someone.client, someone.keyring,
                              save=lambda: keystore.save(someone.home / "keys.json", someone.keyring, PASSPHRASE))
    on_server = identity.server_keys(someone.client)
    assert {purpose: key["fingerprint"] for purpose, key in on_server.items()} == {
        purpose: someone.keyring.active(purpose).fingerprint for purpose in ("signing", "encryption")}
    assert keystore.load(someone.home / "keys.json", PASSPHRASE).active("signing").fingerprint == \
        someone.keyring.active("signing").fingerprint


def turn_on_2fa(someone: Person) -> pyotp.TOTP:
    """2FA set up with the password and confirmed with a code: the authenticator app's TOTP."""
    setup = someone.client.setup_2fa(someone.details["password"])
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    authenticator = pyotp.TOTP(setup["secret"])
    recovery_codes = someone.client.confirm_2fa(authenticator.now())
    assert len(recovery_codes) == 10
    return authenticator


def sign_in_with_totp(someone: Person, authenticator: pyotp.TOTP) -> None:
    """The password, then a code. A code is accepted once and the current one confirmed 2FA: the app's next
    one (auth accepts one 30 s step either side, for clock drift) rather than a wait for it."""
    step = someone.client.login(someone.username, someone.details["password"])
    assert isinstance(step, MfaRequired)
    someone.client.login_2fa(step.mfa_token, authenticator.at(time.time(), counter_offset=1))
    assert someone.client.me()["totp_enabled"] is True


def verified_by(staff: Client, someone: Person) -> None:
    """The user uploads an ID document, staff approve it, and the user's next token says verified."""
    document = io.BytesIO()
    segno.make("an identity document").save(document, kind="png", scale=4)
    asked = someone.client.request_verification(document.getvalue(), filename="id.png", content_type="image/png",
                                                reason="to sell and to run groups")
    assert asked["status"] == "pending"
    staff.approve_verification(asked["id"], notes="The document matches.")
    someone.client.refresh()
    assert someone.client.me()["verified"] is True


def befriend(asker: Person, asked: Person) -> None:
    """`asker` asks (once social knows `asked`), `asked` accepts."""
    eventually(lambda: asker.client.request_friendship(asked.username), f"social to know {asked.name}",
               statuses=(404,))
    incoming = asked.client.friend_requests("incoming")["items"]
    asked.client.accept_friend_request(next(r["id"] for r in incoming if r["sender"]["username"] == asker.username))
    assert asker.username in {friend["username"] for friend in asked.client.friends()["items"]}


def keys_known(viewer: Person, conversation_id: str, *people: Person) -> None:
    """Wait until messaging holds each person's active keys (auth.key.registered crossed the bus)."""
    def known() -> bool:
        served = {row.user_id: row for row in messages.conversation_participants(viewer.client, conversation_id)}
        return all(p.id in served and served[p.id].encryption and served[p.id].signing
                   and served[p.id].encryption["fingerprint"] == p.keyring.active("encryption").fingerprint
                   and served[p.id].signing["fingerprint"] == p.keyring.active("signing").fingerprint
                   for p in people)
    wait_until(known, timeout=BUS_TIMEOUT, interval=0.2, message="messaging to know the participants' keys")


def direct_conversation(starter: Person, other: Person) -> str:
    conversation = eventually(lambda: starter.client.create_direct_conversation(other.id),
                              f"messaging to know {other.name}", statuses=(404,))
    keys_known(starter, conversation["id"], starter, other)
    return str(conversation["id"])


def send(sender: Person, conversation_id: str, text: str) -> dict:
    """An e2e message: sealed on the device for every participant's key, signed; the stored message."""
    sent = messages.send_e2e(sender.client, conversation_id, text, keyring=sender.keyring, contacts=sender.contacts,
                             me=sender.id)
    return sent.message


def read(reader: Person, conversation_id: str) -> list[messages.Read]:
    """The conversation as the reader's device decrypts and checks it, newest first."""
    reads, _ = messages.read_conversation(reader.client, conversation_id, keyring=reader.keyring,
                                          contacts=reader.contacts, me=reader.id)
    return reads


def proven(reader: Person, message_id: str) -> Verdict:
    """The message's inclusion proof and the checkpoint it proves against, verified on the reader's device."""
    verdict = sealed(lambda: reader.ledger.verify_message(message_id))
    assert (verdict.status, verdict.problem) == ("verified", None)
    assert str(verdict.leaf.message_id) == message_id
    latest = reader.ledger.latest_checkpoint()   # signed by the pinned key, consistent with what was seen
    assert latest.integrity == "ok" and latest.checkpoint.tree_size >= verdict.checkpoint.tree_size
    return verdict


def listed_by(seller: Person, staff: Client) -> dict:
    """Staff open a category; the (verified) seller lists a chair in it."""
    slug = f"c{uuid.uuid4().hex[:10]}"
    category = staff.create_category(f"Chairs {slug}", slug)
    return seller.client.list_item(title="A wooden chair", description="Oak, sturdy, hardly used.",
                                   category_id=category["id"], price_minor=4500, currency="EUR", condition="good")


def bought_by(buyer: Person, item: dict) -> dict:
    """The buyer finds the item by text, puts it in the cart, checks out and pays with a test card."""
    assert item["id"] in found_by(buyer, "wooden chairs", category=item["category_id"])
    buyer.client.add_to_cart(item["id"])
    order = buyer.client.check_out(ADDRESS)
    assert (order["status"], order["total_minor"], order["currency"]) == ("pending", 4500, "EUR")
    key = str(uuid.uuid4())
    paid = buyer.client.pay(order["id"], TEST_CARD, idempotency_key=key)
    assert paid["status"] == "paid"
    # The answer was lost, say: the client retries with the same key and is not charged again.
    assert buyer.client.pay(order["id"], TEST_CARD, idempotency_key=key) == paid
    assert [(p["outcome"], p["card_brand"], p["card_last4"]) for p in buyer.client.order(order["id"])["payments"]] == [
        ("succeeded", "visa", "4242")]
    assert buyer.client.cart()["lines"] == []
    assert [mine["id"] for mine in buyer.client.orders()["items"]] == [order["id"]]
    return paid


def found_by(searcher: Person, query: str | None = None, **filters: Any) -> list[str]:
    """The ids of the items a search finds (a category of the test's own keeps other tests' items out)."""
    return [hit["id"] for hit in searcher.client.search_items(query, **filters)["items"]]


def sees_the_sale(seller: Person, item: dict, buyer: Person) -> None:
    sales = seller.client.sales()
    assert sales["unique_buyers"] == 1 and sales["units"] == 1
    assert [(r["currency"], r["revenue_minor"]) for r in sales["revenue"]] == [("EUR", 4500)]
    assert seller.client.item(item["id"])["status"] == "sold"

    def told() -> list[dict]:
        return [n for n in seller.client.notifications()["items"]
                if n["kind"] == "item.sold" and n["subject_id"] == item["id"]]
    [notification] = wait_until(told, timeout=BUS_TIMEOUT, interval=0.2, message="social to tell the seller")
    assert notification["actor"]["username"] == buyer.username and notification["read_at"] is None
    assert seller.client.unread_notifications() >= 1


def refused_everywhere(banned: Person, access_token: str) -> None:
    """The banned user's access token is refused by a signed-in endpoint of every service, the refresh token
    died with the session, and signing in is refused."""
    for service in SERVICES:
        wait_until(lambda: banned.client.http.get(banned.client.base_url + PROTECTED[service], timeout=10, headers={
            "Authorization": f"Bearer {access_token}"}).status_code == 401,
            timeout=BUS_TIMEOUT, interval=0.2, message=f"{service} to refuse the banned user's token")
    with pytest.raises(ProblemError) as signed_out:
        banned.client.refresh()
    assert signed_out.value.status == 401 and banned.client.session is None
    with pytest.raises(ProblemError) as barred:
        banned.client.login(banned.username, banned.details["password"])
    assert barred.value.status == 401


def marked_removed(verdict: Verdict) -> Verdict | None:
    return verdict if verdict.removed else None


# --- the journeys -----------------------------------------------------------------------------------------

def test_the_journey_from_registration_to_a_ban_through_every_service(register, person, staff_member):
    # alice: registered, 2FA on, signed in with a code, her keys, verified.
    alice = register("alice")
    alice.client.login(alice.username, alice.details["password"])
    authenticator = turn_on_2fa(alice)
    sign_in_with_totp(alice, authenticator)
    alice.settle_in()
    make_keys(alice)
    verified_by(staff_member, alice)
    bob, carol = person("bob"), person("carol", family="rsa")   # e2e mixes the two key families

    befriend(alice, bob)
    befriend(alice, carol)

    # A direct e2e conversation, and a group of the three.
    direct = direct_conversation(bob, alice)
    send(alice, direct, "Hi Bob, is the chair still of interest?")
    insult = send(bob, direct, "Mind your own business, you clown.")
    [latest, first] = read(alice, direct)
    assert (latest.id, latest.trust, latest.body) == (insult["id"], "signed", "Mind your own business, you clown.")
    assert (first.trust, first.body) == ("verified", "Hi Bob, is the chair still of interest?")
    group = eventually(lambda: alice.client.create_group("Chair club", [bob.id, carol.id]),
                       "messaging to know the friendships", statuses=(422,))
    keys_known(alice, group["id"], alice, bob, carol)
    welcome = send(alice, group["id"], "Welcome to the chair club!")
    for member in (bob, carol):
        [seen] = read(member, group["id"])
        assert (seen.id, seen.trust, seen.body) == (welcome["id"], "signed", "Welcome to the chair club!")

    # The ledger proves both messages on the readers' devices.
    insult_entry = proven(alice, insult["id"])
    assert str(insult_entry.leaf.sender_id) == bob.id and not insult_entry.removed
    assert str(proven(carol, welcome["id"]).leaf.conversation_id) == group["id"]

    # alice sells a chair to bob and is told.
    item = listed_by(alice, staff_member)
    bought_by(bob, item)
    sees_the_sale(alice, item, bob)

    # alice reports bob's message; staff ban him for it.
    report = eventually(lambda: alice.client.report("message", insult["id"], "Insults after a friendly question."),
                        "social to know of the message", statuses=(404,))
    token = bob.client.session.access_token
    staff_member.resolve_report(report["id"], "ban", "Abuse, confirmed by the message.")
    refused_everywhere(bob, token)
    assert [(mine["id"], mine["status"], mine["action"]) for mine in alice.client.reports()["items"]] == [
        (report["id"], "resolved", "ban")]

    # The message is gone for alice; the ledger keeps its entry, proven, marked removed.
    wait_until(lambda: [r.id for r in read(alice, direct)] == [first.id], timeout=BUS_TIMEOUT, interval=0.2,
               message="messaging to remove the message")
    assert refused(404, lambda: alice.client.message(insult["id"]))
    removed = wait_until(lambda: marked_removed(alice.ledger.verify_message(insult["id"])), timeout=BUS_TIMEOUT,
                         interval=0.2, message="the ledger to mark the entry removed")
    assert (removed.status, removed.leaf_index, removed.leaf) == ("verified", insult_entry.leaf_index,
                                                                  insult_entry.leaf)


def test_a_blocked_user_is_refused_in_every_service(person, staff_member):
    alice, bob = person("alice"), person("bob")
    verified_by(staff_member, alice)
    befriend(alice, bob)
    direct = direct_conversation(bob, alice)
    messages.send_standard(bob.client, direct, "Hello!", keyring=bob.keyring)
    item = listed_by(alice, staff_member)
    bob.client.add_to_cart(item["id"])
    assert item["id"] in found_by(bob, category=item["category_id"])

    alice.client.block(bob.username, reason="He would not stop.")
    assert [blocked["username"] for blocked in alice.client.blocks()["items"]] == [bob.username]

    # social: the friendship ended, no new request, the limited profile, no search result.
    assert bob.username not in {friend["username"] for friend in alice.client.friends()["items"]}
    assert alice.username not in {friend["username"] for friend in bob.client.friends()["items"]}
    assert refused(403, lambda: bob.client.request_friendship(alice.username))
    profile = bob.client.profile(alice.username)
    assert (profile["relationship"], profile["limited"], profile["bio"]) == ("blocked_by", True, None)
    assert bob.client.search_users(alice.username)["items"] == []
    # messaging (once social's block.created reached it): no message either way, no new direct conversation.
    wait_until(lambda: refused(403, lambda: messages.send_standard(bob.client, direct, "Why?", keyring=bob.keyring)),
               timeout=BUS_TIMEOUT, interval=0.2, message="messaging to hear of the block")
    assert refused(403, lambda: messages.send_standard(alice.client, direct, "Bye.", keyring=alice.keyring))
    assert refused(403, lambda: bob.client.create_direct_conversation(alice.id))
    # the marketplace (once it heard too): no cart addition, no checkout of what was there, no search result.
    wait_until(lambda: refused(403, lambda: bob.client.add_to_cart(item["id"])), timeout=BUS_TIMEOUT, interval=0.2,
               message="the marketplace to hear of the block")
    assert refused(403, lambda: bob.client.check_out(ADDRESS))
    assert found_by(bob, category=item["category_id"]) == found_by(bob, seller=alice.id) == []


def test_smoke_friends_message_end_to_end_the_ledger_proves_it_and_a_sale_goes_through(person, staff_member):
    """The shorter journey deploy/compose/journey.sh runs against the compose stack."""
    alice, bob = person("alice"), person("bob")
    befriend(alice, bob)
    direct = direct_conversation(alice, bob)
    sent = send(alice, direct, "Smoke test: can you read me?")
    [seen] = read(bob, direct)
    assert (seen.id, seen.trust, seen.body) == (sent["id"], "signed", "Smoke test: can you read me?")
    assert str(proven(bob, sent["id"]).leaf.sender_id) == alice.id
    verified_by(staff_member, alice)
    item = listed_by(alice, staff_member)
    bought_by(bob, item)
    sees_the_sale(alice, item, bob)
