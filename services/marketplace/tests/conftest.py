import dataclasses
import datetime as dt
import threading
import uuid

import pytest
import sqlalchemy as sa
from servicekit.context import context_of
from servicekit.events import Event
from servicekit.tables import outbox

from marketplace import create_app
from marketplace.events import handlers as marketplace_handlers
from marketplace.items import refresh_status
from marketplace.models import Item, Order, OrderLine
from marketplace.payments import TestProvider

API = "/api/marketplace"
ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH",
           "country": "GB"}


@pytest.fixture(scope="session")
def app(migrated_app):
    return migrated_app(create_app)


@pytest.fixture
def handlers():
    return marketplace_handlers


@pytest.fixture
def client(app):
    return app.test_client()


# --- people, as auth's and social's events make them -----------------------------------------------

@dataclasses.dataclass(frozen=True)
class Person:
    """A user the marketplace heard of from auth, and the headers of their signed-in requests."""

    user_id: uuid.UUID
    username: str
    headers: dict[str, str]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@pytest.fixture
def now():
    """`now()`: the current time, as events carry it."""
    return _now


@pytest.fixture
def deliver(session):
    """`deliver(event_type, payload)`: handle an event as the marketplace's worker would (committed)."""
    def handle(event_type: str, payload: dict) -> None:
        marketplace_handlers.get(event_type)(session, Event.new(event_type, payload))
        session.commit()
    return handle


@pytest.fixture
def ban(deliver):
    """`ban(person)`: auth announced the person's ban."""
    def announce(person: Person) -> None:
        deliver("auth.user.banned", {"user_id": str(person.user_id), "reason": "spam", "banned_at": _now(),
                                     "actor_id": None})
    return announce


@pytest.fixture
def unban(deliver):
    """`unban(person)`: auth announced that the person's ban was lifted."""
    def announce(person: Person) -> None:
        deliver("auth.user.unbanned", {"user_id": str(person.user_id), "unbanned_at": _now(), "actor_id": None})
    return announce


@pytest.fixture
def block(deliver):
    """`block(a, b)`: social announced that `a` blocked `b`."""
    def announce(blocker: Person, blocked: Person) -> None:
        deliver("social.block.created", {"blocker_id": str(blocker.user_id), "blocked_id": str(blocked.user_id),
                                         "created_at": _now()})
    return announce


@pytest.fixture
def unblock(deliver):
    """`unblock(a, b)`: social announced that `a` lifted their block of `b`."""
    def announce(blocker: Person, blocked: Person) -> None:
        deliver("social.block.removed", {"blocker_id": str(blocker.user_id), "blocked_id": str(blocked.user_id),
                                         "removed_at": _now()})
    return announce


@pytest.fixture
def new_user(deliver, token_issuer):
    """`new_user(verified=False, banned=False, staff=False)`: a user auth announced (verified, banned, as asked),
    signed in (the token says verified too; a banned user's token is still valid: the marketplace must refuse)."""
    def make(*, verified: bool = False, banned: bool = False, staff: bool = False) -> Person:
        user_id = uuid.uuid4()
        username = f"u_{user_id.hex[:12]}"
        deliver("auth.user.registered", {"user_id": str(user_id), "username": username, "created_at": _now()})
        if verified:
            deliver("auth.user.verified", {"user_id": str(user_id), "request_id": str(uuid.uuid4()),
                                           "decided_at": _now()})
        if banned:
            deliver("auth.user.banned", {"user_id": str(user_id), "reason": "spam", "banned_at": _now(),
                                         "actor_id": None})
        roles = ("user", "staff") if staff else ("user",)
        token = token_issuer.issue(user_id, roles=roles, verified=verified)
        return Person(user_id, username, {"Authorization": f"Bearer {token}"})
    return make


@pytest.fixture
def staff(new_user):
    """A staff member (categories are theirs to maintain)."""
    return new_user(verified=True, staff=True)


@pytest.fixture
def seller(new_user):
    """A verified user, who may list items."""
    return new_user(verified=True)


# --- the catalog, made through the API ---------------------------------------------------------------

@pytest.fixture
def category(client, staff):
    """`category(name=None, parent=None, slug=None)`: a category staff created (its JSON: id, name, slug,
    parent_id); `parent` is another category's JSON or id."""
    def make(name: str | None = None, parent: dict | str | None = None, slug: str | None = None) -> dict:
        suffix = uuid.uuid4().hex[:8]
        parent_id = parent["id"] if isinstance(parent, dict) else parent
        body = {"name": name or f"Category {suffix}", "slug": slug or f"category-{suffix}", "parent_id": parent_id}
        response = client.post(f"{API}/admin/categories", headers=staff.headers, json=body)
        assert response.status_code == 201, response.json
        return response.json
    return make


@pytest.fixture
def listed_item(client, category):
    """`listed_item(seller, **fields)`: an item the seller listed through the API (its JSON); fields default to
    a 10.00 EUR good-condition item, quantity 1, in a new category (`category_id` names another)."""
    def make(seller: Person, **fields) -> dict:
        body = {"title": "A sturdy oak chair", "description": "Solid oak, lightly used.", "price_minor": 1000,
                "currency": "EUR", "quantity": 1, "condition": "good", **fields}
        body.setdefault("category_id", category()["id"])
        response = client.post(f"{API}/items", headers=seller.headers, json=body)
        assert response.status_code == 201, response.json
        return response.json
    return make


# --- orders as checkout leaves them (for the catalog's rules; the buying side's tests go through the API) ----

@pytest.fixture
def pending_order(database):
    """`pending_order(item, buyer_id, quantity=1)`: the id of a pending order with a line of `item` (its JSON),
    the quantity reserved, as checkout leaves it."""
    def place(item: dict, buyer_id: uuid.UUID, quantity: int = 1) -> uuid.UUID:
        order_id = uuid.uuid4()
        with database.transaction() as session:
            session.add(Order(id=order_id, buyer_id=buyer_id, total_minor=item["price_minor"] * quantity,
                              currency=item["currency"], shipping_address={"name": "B. Uyer"},
                              reserved_until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15)))
            session.flush()
            session.add(OrderLine(order_id=order_id, item_id=item["id"], seller_id=item["seller_id"],
                                  title=item["title"], unit_price_minor=item["price_minor"], currency=item["currency"],
                                  quantity=quantity))
            stock = session.get(Item, uuid.UUID(item["id"]), with_for_update=True)
            stock.reserved += quantity
            refresh_status(stock)
        return order_id
    return place


@pytest.fixture
def close_order(database):
    """`close_order(order_id, status)`: the pending order becomes `status` (paid: its units sold; cancelled,
    expired: released), as payment, cancellation or expiry leave it."""
    def close(order_id: uuid.UUID, status: str) -> None:
        with database.transaction() as session:
            order = session.get(Order, order_id, with_for_update=True)
            order.status = status
            for line in session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order_id)):
                stock = session.get(Item, line.item_id, with_for_update=True)
                stock.reserved -= line.quantity
                if status == "paid":
                    stock.quantity -= line.quantity
                refresh_status(stock)
    return close


# --- buying, through the API --------------------------------------------------------------------------------------

@pytest.fixture
def buyer(new_user):
    """A signed-in user, unverified: buying needs no verification."""
    return new_user()


@pytest.fixture
def address():
    """The shipping address `check_out` sends unless told otherwise (Ada Lovelace's, 12 St James's Square)."""
    return dict(ADDRESS)


def _expect(response, status):
    # None: the caller judges the answer itself (as the tests of concurrent requests do, all answers together).
    if status is not None:
        assert response.status_code == status, response.json
    return response


@pytest.fixture
def add(client):
    """`add(buyer, item, quantity=1, status=200, client=None)`: the buyer put the item (its JSON or id) in their
    cart; the response, its status asserted (`status=None`: not); `client` for a request from another thread."""
    def put(buyer: Person, item: dict | uuid.UUID | str, quantity: int = 1, *, status: int | None = 200,
            client=client):
        item_id = item["id"] if isinstance(item, dict) else str(item)
        return _expect(client.post(f"{API}/cart/items", headers=buyer.headers,
                                   json={"item_id": item_id, "quantity": quantity}), status)
    return put


@pytest.fixture
def check_out(client, add):
    """`check_out(buyer, *items, key=None, status=201, client=None, **body)`: the buyer put one unit of each item
    in their cart, then checked out with `body` (shipping_address defaults to `address`; currency) under the
    Idempotency-Key `key` (a new one by default); the response, its status asserted (`status=None`: not)."""
    def place(buyer: Person, *items: dict, key: str | None = None, status: int | None = 201, client=client,
              **body):
        for item in items:
            add(buyer, item, client=client)
        return _expect(client.post(f"{API}/checkout",
                                   headers={**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex},
                                   json={"shipping_address": ADDRESS, **body}), status)
    return place


@pytest.fixture
def pay(client):
    """`pay(buyer, order, number="4242424242424242", key=None, status=200, client=None, **card)`: the buyer paid
    the order (its JSON) with the test card `number` (`card` overrides exp_month=12, exp_year=2099, cvc="123")
    under the Idempotency-Key `key` (a new one by default); the response, its status asserted (`status=None`:
    not)."""
    def charge(buyer: Person, order: dict, number: str = "4242424242424242", *, key: str | None = None,
               status: int | None = 200, client=client, **card):
        return _expect(client.post(f"{API}/orders/{order['id']}/pay",
                                   headers={**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex},
                                   json={"card": {"number": number, "exp_month": 12, "exp_year": 2099, "cvc": "123",
                                                  **card}}), status)
    return charge


@pytest.fixture
def stock(session):
    """`stock(item)`: (quantity, reserved, status) of the item (its JSON) as committed now."""
    def of(item: dict) -> tuple[int, int, str]:
        return tuple(session.execute(sa.select(Item.quantity, Item.reserved, Item.status)
                                     .where(Item.id == item["id"])).one())
    return of


@pytest.fixture
def published(session):
    """`published(event_type, **payload)`: the payloads of the events of that type in the outbox whose payload
    has those values (compared as strings)."""
    def payloads(event_type: str, **payload) -> list[dict]:
        rows = session.execute(sa.select(outbox.c.envelope).where(outbox.c.event_type == event_type)).scalars()
        wanted = {key: str(value) for key, value in payload.items()}
        return [envelope["payload"] for envelope in rows if wanted.items() <= envelope["payload"].items()]
    return payloads


@pytest.fixture
def at_once():
    """`at_once(requests)`: run the callables at the same moment, each in its own thread; their answers in order."""
    def run_all(requests: list) -> list:
        start = threading.Barrier(len(requests))
        answers = [None] * len(requests)

        def run(index, request):
            start.wait()
            answers[index] = request()

        threads = [threading.Thread(target=run, args=(index, request)) for index, request in enumerate(requests)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return answers
    return run_all


class CountingProvider(TestProvider):
    """The test provider, counting the charges it was asked for."""

    def __init__(self):
        super().__init__(timeout_seconds=10)
        self.charged: list[str] = []

    def charge(self, amount_minor, currency, card, reference):
        self.charged.append(reference)
        return super().charge(amount_minor, currency, card, reference)


@pytest.fixture
def provider(app, monkeypatch):
    """The app's payment provider for this test: the test provider, counting its charges (`.charged`: the
    references asked for, in order)."""
    counting = CountingProvider()
    monkeypatch.setitem(context_of(app).resources, "payments", counting)
    return counting
