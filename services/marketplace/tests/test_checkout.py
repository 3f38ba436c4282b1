import datetime as dt
import threading
import uuid

import pytest
import sqlalchemy as sa
from servicekit.tables import outbox

from marketplace.models import CartLine, Item, Order

API = "/api/marketplace"
ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH",
           "country": "GB"}


def add(client, buyer, item, quantity=1):
    response = client.post(f"{API}/cart/items", headers=buyer.headers, json={"item_id": item["id"],
                                                                             "quantity": quantity})
    assert response.status_code == 200, response.json
    return response.json


def check_out(client, buyer, key=None, **body):
    return client.post(f"{API}/checkout", headers={**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex},
                       json={"shipping_address": ADDRESS, **body})


def stock(session, item):
    """(quantity, reserved, status) of the item as committed now."""
    return tuple(session.execute(sa.select(Item.quantity, Item.reserved, Item.status)
                                 .where(Item.id == item["id"])).one())


def published(session, event_type, **payload):
    rows = session.execute(sa.select(outbox.c.envelope).where(outbox.c.event_type == event_type)).scalars()
    wanted = {key: str(value) for key, value in payload.items()}
    return [envelope["payload"] for envelope in rows if wanted.items() <= envelope["payload"].items()]


def at_once(requests):
    """Run the callables at the same moment, each in its own thread; their answers in order."""
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


@pytest.fixture
def buyer(new_user):
    return new_user()


def test_checkout_places_a_pending_order_priced_now_and_reserves_its_units(client, session, settings, buyer,
                                                                           seller, listed_item):
    chair = listed_item(seller, title="Chair", price_minor=1000, quantity=4)
    lamp = listed_item(seller, title="Lamp", price_minor=300, quantity=1)
    add(client, buyer, chair, 3)
    add(client, buyer, lamp, 1)
    repriced = client.patch(f"{API}/items/{chair['id']}", headers=seller.headers, json={"price_minor": 1100})
    assert repriced.status_code == 200, repriced.json
    before = dt.datetime.now(dt.UTC)

    placed = check_out(client, buyer)

    assert placed.status_code == 201, placed.json
    order = placed.json
    assert (order["status"], order["total_minor"], order["currency"], order["buyer_id"]) == (
        "pending", 3 * 1100 + 300, "EUR", str(buyer.user_id))
    assert [(line["title"], line["unit_price_minor"], line["quantity"], line["line_total_minor"])
            for line in order["lines"]] == [("Chair", 1100, 3, 3300), ("Lamp", 300, 1, 300)]
    assert order["shipping_address"] == {**ADDRESS, "line2": None}
    reserved_until = dt.datetime.fromisoformat(order["reserved_until"])
    assert before + dt.timedelta(seconds=settings.reservation_seconds) <= reserved_until
    assert reserved_until <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.reservation_seconds)
    assert stock(session, chair) == (4, 3, "available")
    assert stock(session, lamp) == (1, 1, "reserved")
    [event] = published(session, "marketplace.order.placed", order_id=order["id"])
    assert event == {"order_id": order["id"], "buyer_id": str(buyer.user_id), "seller_ids": [str(seller.user_id)],
                     "total_minor": 3600, "currency": "EUR", "placed_at": event["placed_at"]}
    assert dt.datetime.fromisoformat(event["placed_at"]) == dt.datetime.fromisoformat(order["placed_at"])
    cart = client.get(f"{API}/cart", headers=buyer.headers).json
    assert [(line["availability"], line["pending_order_id"]) for line in cart["lines"]] == [
        ("in_order", order["id"]), ("in_order", order["id"])]
    assert cart["totals"] == []


def test_the_order_placed_event_carries_no_address(client, session, buyer, seller, listed_item):
    add(client, buyer, listed_item(seller))

    order = check_out(client, buyer).json

    [payload] = published(session, "marketplace.order.placed", order_id=order["id"])
    assert not {"shipping_address", "name", "line1", "city"} & payload.keys()
    assert "St James" not in str(payload)


def test_the_shipping_address_is_validated(client, buyer, seller, listed_item):
    add(client, buyer, listed_item(seller))

    refused = check_out(client, buyer, shipping_address={"name": "  ", "line1": "1 Road", "city": "Town",
                                                         "postal_code": "x" * 21, "country": "XX"})

    assert refused.status_code == 422
    assert set(refused.json["errors"]["shipping_address"]) == {"name", "postal_code", "country"}
    missing = check_out(client, buyer, shipping_address={"name": "A"})
    assert set(missing.json["errors"]["shipping_address"]) == {"line1", "city", "postal_code", "country"}
    assert client.get(f"{API}/orders", headers=buyer.headers).json["items"] == []


def test_a_country_code_is_taken_in_either_case_and_kept_upper_case(client, buyer, seller, listed_item):
    add(client, buyer, listed_item(seller))

    placed = check_out(client, buyer, shipping_address={**ADDRESS, "country": "de", "line2": " Flat 2 "})

    assert placed.status_code == 201, placed.json
    assert (placed.json["shipping_address"]["country"], placed.json["shipping_address"]["line2"]) == ("DE", "Flat 2")


def test_checkout_requires_an_idempotency_key(client, buyer, seller, listed_item):
    add(client, buyer, listed_item(seller))

    refused = client.post(f"{API}/checkout", headers=buyer.headers, json={"shipping_address": ADDRESS})

    assert refused.status_code == 422
    assert "Idempotency-Key" in refused.json["errors"]


def test_an_empty_cart_cannot_be_checked_out(client, buyer):
    assert check_out(client, buyer).status_code == 409


def test_a_cart_in_several_currencies_is_checked_out_one_currency_at_a_time(client, session, buyer, seller,
                                                                            listed_item):
    euros = listed_item(seller, currency="EUR", price_minor=500)
    dollars = listed_item(seller, currency="USD", price_minor=700)
    add(client, buyer, euros)
    add(client, buyer, dollars)

    ambiguous = check_out(client, buyer)
    assert ambiguous.status_code == 422
    assert ambiguous.json["errors"] == {"currency": ["Required: your cart holds EUR, USD."]}
    assert check_out(client, buyer, currency="GBP").status_code == 422

    in_dollars = check_out(client, buyer, currency="USD")
    assert in_dollars.status_code == 201, in_dollars.json
    assert ([line["item_id"] for line in in_dollars.json["lines"]], in_dollars.json["total_minor"]) == (
        [dollars["id"]], 700)
    assert stock(session, euros) == (1, 0, "available")
    in_euros = check_out(client, buyer, currency="EUR")
    assert in_euros.status_code == 201, in_euros.json
    assert [line["item_id"] for line in in_euros.json["lines"]] == [euros["id"]]


@pytest.mark.parametrize("who_blocks", ["buyer", "seller"])
def test_a_block_after_the_cart_stops_the_checkout_either_way(client, session, block, buyer, seller, listed_item,
                                                              who_blocks):
    chair = listed_item(seller)
    add(client, buyer, chair)
    block(*((buyer, seller) if who_blocks == "buyer" else (seller, buyer)))

    refused = check_out(client, buyer)

    assert refused.status_code == 403
    assert refused.json["errors"] == {"items": {chair["id"]: ["You cannot buy from this seller."]}}
    assert stock(session, chair) == (1, 0, "available")


def test_my_own_item_cannot_be_checked_out_even_if_it_got_into_my_cart(client, session, seller, listed_item):
    chair = listed_item(seller)
    session.add(CartLine(buyer_id=seller.user_id, item_id=uuid.UUID(chair["id"]), quantity=1))
    session.commit()

    refused = check_out(client, seller)

    assert refused.status_code == 403
    assert refused.json["errors"] == {"items": {chair["id"]: ["You cannot buy your own item."]}}


def test_a_banned_buyer_cannot_check_out(client, ban, buyer, seller, listed_item):
    add(client, buyer, listed_item(seller))
    ban(buyer)

    assert check_out(client, buyer).status_code == 403


def test_items_gone_or_short_since_they_were_put_in_the_cart_are_a_conflict_naming_them(
        client, session, new_user, ban, buyer, seller, listed_item):
    removed = listed_item(seller)
    short = listed_item(seller, quantity=2)
    banned_seller = new_user(verified=True)
    of_banned = listed_item(banned_seller)
    fine = listed_item(seller)
    for item, quantity in ((removed, 1), (short, 2), (of_banned, 1), (fine, 1)):
        add(client, buyer, item, quantity)
    client.delete(f"{API}/items/{removed['id']}", headers=seller.headers)
    ban(banned_seller)
    rival = new_user()
    add(client, rival, short, 1)
    assert check_out(client, rival).status_code == 201

    refused = check_out(client, buyer)

    assert refused.status_code == 409
    assert refused.json["errors"] == {"items": {
        removed["id"]: ["This item is no longer for sale."], of_banned["id"]: ["This item is no longer for sale."],
        short["id"]: ["Only 1 available, your cart wants 2."]}}
    assert stock(session, fine) == (1, 0, "available")
    assert session.scalar(sa.select(sa.func.count()).where(Order.buyer_id == buyer.user_id)) == 0


def test_a_line_already_in_a_pending_order_of_mine_is_left_out_of_the_next_checkout(client, session, buyer,
                                                                                      seller, listed_item):
    chair = listed_item(seller, quantity=5)
    lamp = listed_item(seller, quantity=5)
    add(client, buyer, chair, 2)
    first = check_out(client, buyer)
    add(client, buyer, lamp, 1)

    second = check_out(client, buyer)
    nothing_left = check_out(client, buyer)

    assert second.status_code == 201, second.json
    assert [line["item_id"] for line in second.json["lines"]] == [lamp["id"]]
    assert nothing_left.status_code == 409
    assert stock(session, chair) == (5, 2, "available")
    client.post(f"{API}/orders/{first.json['id']}/cancel", headers=buyer.headers)
    third = check_out(client, buyer)
    assert [line["item_id"] for line in third.json["lines"]] == [chair["id"]]


def test_buyers_racing_for_the_last_unit_get_exactly_one_order_and_the_others_a_conflict(
        app, session, new_user, seller, listed_item):
    client = app.test_client()
    last = listed_item(seller, quantity=1)
    buyers = [new_user() for _ in range(8)]
    for buyer in buyers:
        add(client, buyer, last)

    answers = at_once([lambda buyer=buyer: check_out(app.test_client(), buyer) for buyer in buyers])

    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 7
    losers = [answer.json for answer in answers if answer.status_code == 409]
    assert all(loser["errors"] == {"items": {last["id"]: ["Only 0 available, your cart wants 1."]}}
               for loser in losers)
    assert stock(session, last) == (1, 1, "reserved")
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)
                          .where(Order.buyer_id.in_([buyer.user_id for buyer in buyers]))) == 1


def test_concurrent_checkouts_never_reserve_more_units_than_there_are(app, session, new_user, seller, listed_item):
    client = app.test_client()
    three = listed_item(seller, quantity=3)
    buyers = [new_user() for _ in range(8)]
    for buyer in buyers:
        add(client, buyer, three)

    answers = at_once([lambda buyer=buyer: check_out(app.test_client(), buyer) for buyer in buyers])

    assert sorted(answer.status_code for answer in answers) == [201] * 3 + [409] * 5
    assert stock(session, three) == (3, 3, "reserved")
