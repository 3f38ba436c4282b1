import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from marketplace.models import CartLine, Order

API = "/api/marketplace"


def test_checkout_places_a_pending_order_priced_now_and_reserves_its_units(client, settings, add, check_out, stock,
                                                                           published, address, buyer, seller,
                                                                           listed_item):
    chair = listed_item(seller, title="Chair", price_minor=1000, quantity=4)
    lamp = listed_item(seller, title="Lamp", price_minor=300, quantity=1)
    add(buyer, chair, 3)
    add(buyer, lamp, 1)
    repriced = client.patch(f"{API}/items/{chair['id']}", headers=seller.headers, json={"price_minor": 1100})
    assert repriced.status_code == 200, repriced.json
    before = dt.datetime.now(dt.UTC)

    order = check_out(buyer, status=201).json

    assert (order["status"], order["total_minor"], order["currency"], order["buyer_id"]) == (
        "pending", 3 * 1100 + 300, "EUR", str(buyer.user_id))
    assert [(line["title"], line["unit_price_minor"], line["quantity"], line["line_total_minor"])
            for line in order["lines"]] == [("Chair", 1100, 3, 3300), ("Lamp", 300, 1, 300)]
    assert order["shipping_address"] == {**address, "line2": None}
    reserved_until = dt.datetime.fromisoformat(order["reserved_until"])
    assert before + dt.timedelta(seconds=settings.reservation_seconds) <= reserved_until
    assert reserved_until <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.reservation_seconds)
    assert stock(chair) == (4, 3, "available")
    assert stock(lamp) == (1, 1, "reserved")
    [event] = published("marketplace.order.placed", order_id=order["id"])
    assert event == {"order_id": order["id"], "buyer_id": str(buyer.user_id), "seller_ids": [str(seller.user_id)],
                     "total_minor": 3600, "currency": "EUR", "placed_at": event["placed_at"]}
    assert dt.datetime.fromisoformat(event["placed_at"]) == dt.datetime.fromisoformat(order["placed_at"])
    cart = client.get(f"{API}/cart", headers=buyer.headers).json
    assert [(line["availability"], line["pending_order_id"]) for line in cart["lines"]] == [
        ("in_order", order["id"]), ("in_order", order["id"])]
    assert cart["totals"] == []


def test_the_order_placed_event_carries_no_address(check_out, published, address, buyer, seller, listed_item):
    order = check_out(buyer, listed_item(seller)).json

    [payload] = published("marketplace.order.placed", order_id=order["id"])
    assert not {"shipping_address", "name", "line1", "city"} & payload.keys()
    assert [value for value in address.values() if value in str(payload)] == []


def test_the_shipping_address_is_validated(client, add, check_out, buyer, seller, listed_item):
    add(buyer, listed_item(seller))

    refused = check_out(buyer, shipping_address={"name": "  ", "line1": "1 Road", "city": "Town",
                                                 "postal_code": "x" * 21, "country": "XX"}, status=422)

    assert set(refused.json["errors"]["shipping_address"]) == {"name", "postal_code", "country"}
    missing = check_out(buyer, shipping_address={"name": "A"}, status=422)
    assert set(missing.json["errors"]["shipping_address"]) == {"line1", "city", "postal_code", "country"}
    assert client.get(f"{API}/orders", headers=buyer.headers).json["items"] == []


def test_a_country_code_is_taken_in_either_case_and_kept_upper_case(check_out, address, buyer, seller,
                                                                    listed_item):
    placed = check_out(buyer, listed_item(seller), shipping_address={**address, "country": "de",
                                                                     "line2": " Flat 2 "})

    assert (placed.json["shipping_address"]["country"], placed.json["shipping_address"]["line2"]) == ("DE", "Flat 2")


def test_checkout_requires_an_idempotency_key(client, add, address, buyer, seller, listed_item):
    add(buyer, listed_item(seller))

    refused = client.post(f"{API}/checkout", headers=buyer.headers, json={"shipping_address": address})

    assert refused.status_code == 422
    assert "Idempotency-Key" in refused.json["errors"]


def test_an_empty_cart_cannot_be_checked_out(check_out, buyer):
    check_out(buyer, status=409)


def test_a_cart_in_several_currencies_is_checked_out_one_currency_at_a_time(add, check_out, stock, buyer, seller,
                                                                            listed_item):
    euros = listed_item(seller, currency="EUR", price_minor=500)
    dollars = listed_item(seller, currency="USD", price_minor=700)
    add(buyer, euros)
    add(buyer, dollars)

    ambiguous = check_out(buyer, status=422)
    assert ambiguous.json["errors"] == {"currency": ["Required: your cart holds EUR, USD."]}
    check_out(buyer, currency="GBP", status=422)

    in_dollars = check_out(buyer, currency="USD", status=201)
    assert ([line["item_id"] for line in in_dollars.json["lines"]], in_dollars.json["total_minor"]) == (
        [dollars["id"]], 700)
    assert stock(euros) == (1, 0, "available")
    in_euros = check_out(buyer, currency="EUR", status=201)
    assert [line["item_id"] for line in in_euros.json["lines"]] == [euros["id"]]


@pytest.mark.parametrize("who_blocks", ["buyer", "seller"])
def test_a_block_after_the_cart_stops_the_checkout_either_way(add, check_out, stock, block, buyer, seller,
                                                              listed_item, who_blocks):
    chair = listed_item(seller)
    add(buyer, chair)
    block(*((buyer, seller) if who_blocks == "buyer" else (seller, buyer)))

    refused = check_out(buyer, status=403)

    assert refused.json["errors"] == {"items": {chair["id"]: ["You cannot buy from this seller."]}}
    assert stock(chair) == (1, 0, "available")


def test_my_own_item_cannot_be_checked_out_even_if_it_got_into_my_cart(session, check_out, seller, listed_item):
    chair = listed_item(seller)
    session.add(CartLine(buyer_id=seller.user_id, item_id=uuid.UUID(chair["id"]), quantity=1))
    session.commit()

    refused = check_out(seller, status=403)

    assert refused.json["errors"] == {"items": {chair["id"]: ["You cannot buy your own item."]}}


def test_a_banned_buyer_cannot_check_out(add, check_out, ban, buyer, seller, listed_item):
    add(buyer, listed_item(seller))
    ban(buyer)

    check_out(buyer, status=403)


def test_items_gone_or_short_since_they_were_put_in_the_cart_are_a_conflict_naming_them(
        client, session, add, check_out, stock, new_user, ban, buyer, seller, listed_item):
    removed = listed_item(seller)
    short = listed_item(seller, quantity=2)
    banned_seller = new_user(verified=True)
    of_banned = listed_item(banned_seller)
    fine = listed_item(seller)
    for item, quantity in ((removed, 1), (short, 2), (of_banned, 1), (fine, 1)):
        add(buyer, item, quantity)
    client.delete(f"{API}/items/{removed['id']}", headers=seller.headers)
    ban(banned_seller)
    rival = new_user()
    check_out(rival, short, status=201)

    refused = check_out(buyer, status=409)

    assert refused.json["errors"] == {"items": {
        removed["id"]: ["This item is no longer for sale."], of_banned["id"]: ["This item is no longer for sale."],
        short["id"]: ["Only 1 available, your cart wants 2."]}}
    assert stock(fine) == (1, 0, "available")
    assert session.scalar(sa.select(sa.func.count()).where(Order.buyer_id == buyer.user_id)) == 0


def test_a_line_already_in_a_pending_order_of_mine_is_left_out_of_the_next_checkout(client, add, check_out, stock,
                                                                                      buyer, seller, listed_item):
    chair = listed_item(seller, quantity=5)
    lamp = listed_item(seller, quantity=5)
    add(buyer, chair, 2)
    first = check_out(buyer)
    add(buyer, lamp, 1)

    second = check_out(buyer, status=201)
    nothing_left = check_out(buyer, status=409)

    assert [line["item_id"] for line in second.json["lines"]] == [lamp["id"]]
    assert "pending order" in nothing_left.json["detail"]
    assert stock(chair) == (5, 2, "available")
    client.post(f"{API}/orders/{first.json['id']}/cancel", headers=buyer.headers)
    third = check_out(buyer)
    assert [line["item_id"] for line in third.json["lines"]] == [chair["id"]]


def test_buyers_racing_for_the_last_unit_get_exactly_one_order_and_the_others_a_conflict(
        app, session, add, check_out, stock, at_once, new_user, seller, listed_item):
    last = listed_item(seller, quantity=1)
    buyers = [new_user() for _ in range(8)]
    for buyer in buyers:
        add(buyer, last)

    answers = at_once([lambda buyer=buyer: check_out(buyer, status=None, client=app.test_client())
                       for buyer in buyers])

    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 7
    losers = [answer.json for answer in answers if answer.status_code == 409]
    assert all(loser["errors"] == {"items": {last["id"]: ["Only 0 available, your cart wants 1."]}}
               for loser in losers)
    assert stock(last) == (1, 1, "reserved")
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)
                          .where(Order.buyer_id.in_([buyer.user_id for buyer in buyers]))) == 1


def test_concurrent_checkouts_never_reserve_more_units_than_there_are(app, add, check_out, stock, at_once, new_user,
                                                                      seller, listed_item):
    three = listed_item(seller, quantity=3)
    buyers = [new_user() for _ in range(8)]
    for buyer in buyers:
        add(buyer, three)

    answers = at_once([lambda buyer=buyer: check_out(buyer, status=None, client=app.test_client())
                       for buyer in buyers])

    assert sorted(answer.status_code for answer in answers) == [201] * 3 + [409] * 5
    assert stock(three) == (3, 3, "reserved")
