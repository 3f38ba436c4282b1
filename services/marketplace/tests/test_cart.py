import uuid

import pytest

API = "/api/marketplace"


def cart_of(client, buyer):
    response = client.get(f"{API}/cart", headers=buyer.headers)
    assert response.status_code == 200, response.json
    return response.json


def line_of(cart, item):
    return next(line for line in cart["lines"] if line["item_id"] == item["id"])


def test_a_buyer_sees_their_cart_priced_now_with_a_total_per_currency(client, add, buyer, seller, listed_item):
    chair = listed_item(seller, title="Chair", price_minor=1250, currency="EUR", quantity=5)
    table = listed_item(seller, title="Table", price_minor=9900, currency="EUR", quantity=1)
    lamp = listed_item(seller, title="Lamp", price_minor=700, currency="USD", quantity=2)

    for item, quantity in ((chair, 3), (table, 1), (lamp, 2)):
        add(buyer, item, quantity)

    cart = cart_of(client, buyer)
    assert [(line["title"], line["quantity"], line["unit_price_minor"], line["line_total_minor"], line["currency"],
             line["availability"], line["available_quantity"]) for line in cart["lines"]] == [
        ("Chair", 3, 1250, 3750, "EUR", "available", 5), ("Table", 1, 9900, 9900, "EUR", "available", 1),
        ("Lamp", 2, 700, 1400, "USD", "available", 2)]
    assert cart["totals"] == [{"currency": "EUR", "total_minor": 13650, "units": 4},
                              {"currency": "USD", "total_minor": 1400, "units": 2}]


def test_adding_an_item_already_in_the_cart_adds_to_its_quantity(add, buyer, seller, listed_item):
    chair = listed_item(seller, quantity=5)
    add(buyer, chair, 2)

    added = add(buyer, chair, 3)

    assert [line["quantity"] for line in added.json["lines"]] == [5]


def test_a_line_can_be_changed_and_removed(client, add, buyer, seller, listed_item):
    chair = listed_item(seller, quantity=5, price_minor=100)
    add(buyer, chair, 1)

    changed = client.patch(f"{API}/cart/items/{chair['id']}", headers=buyer.headers, json={"quantity": 4})
    assert changed.status_code == 200, changed.json
    assert (line_of(changed.json, chair)["quantity"], changed.json["totals"][0]["total_minor"]) == (4, 400)

    removed = client.delete(f"{API}/cart/items/{chair['id']}", headers=buyer.headers)
    assert removed.status_code == 204
    assert cart_of(client, buyer) == {"lines": [], "totals": []}


def test_changing_or_removing_an_item_not_in_my_cart_is_not_found(client, buyer, seller, listed_item):
    chair = listed_item(seller)
    assert client.patch(f"{API}/cart/items/{chair['id']}", headers=buyer.headers,
                        json={"quantity": 1}).status_code == 404
    assert client.delete(f"{API}/cart/items/{chair['id']}", headers=buyer.headers).status_code == 404


def test_a_seller_cannot_put_their_own_item_in_their_cart(client, add, seller, listed_item):
    chair = listed_item(seller)

    refused = add(seller, chair, status=403)

    assert refused.json["detail"] == "You cannot buy your own item."
    assert cart_of(client, seller)["lines"] == []


@pytest.mark.parametrize("who_blocks", ["buyer", "seller"])
def test_no_cart_addition_between_a_blocker_and_the_blocked_either_way(add, block, buyer, seller, listed_item,
                                                                       who_blocks):
    chair = listed_item(seller)
    block(*((buyer, seller) if who_blocks == "buyer" else (seller, buyer)))

    refused = add(buyer, chair, status=403)

    assert refused.json["detail"] == "You cannot buy from this seller."


def test_more_units_than_are_available_are_refused_whether_added_at_once_or_in_steps(client, add, buyer, seller,
                                                                                     listed_item):
    chair = listed_item(seller, quantity=3)

    add(buyer, chair, 4, status=409)
    add(buyer, chair, 2)
    too_many = add(buyer, chair, 2, status=409)
    assert too_many.json["errors"] == {"quantity": ["At most 3 available."]}
    assert client.patch(f"{API}/cart/items/{chair['id']}", headers=buyer.headers,
                        json={"quantity": 4}).status_code == 409
    assert line_of(cart_of(client, buyer), chair)["quantity"] == 2


def test_an_item_removed_by_its_seller_or_of_a_banned_seller_is_not_found(client, add, new_user, ban, buyer,
                                                                          seller, listed_item):
    removed = listed_item(seller)
    assert client.delete(f"{API}/items/{removed['id']}", headers=seller.headers).status_code == 204
    banned_seller = new_user(verified=True)
    of_banned = listed_item(banned_seller)
    ban(banned_seller)

    add(buyer, removed, status=404)
    add(buyer, of_banned, status=404)
    add(buyer, uuid.uuid4(), status=404)


def test_a_banned_buyer_cannot_fill_a_cart(add, new_user, seller, listed_item):
    banned = new_user(banned=True)

    add(banned, listed_item(seller), status=403)


def test_lines_that_cannot_be_bought_any_more_say_so_and_leave_the_totals(client, add, check_out, block, ban,
                                                                          new_user, buyer, seller, listed_item):
    kept = listed_item(seller, title="Kept", quantity=2, price_minor=500)
    short = listed_item(seller, title="Short", quantity=3, price_minor=100)
    other_seller = new_user(verified=True)
    blocked = listed_item(other_seller, title="Blocked")
    banned_seller = new_user(verified=True)
    banned = listed_item(banned_seller, title="Banned")
    for item, quantity in ((kept, 2), (short, 3), (blocked, 1), (banned, 1)):
        add(buyer, item, quantity)

    rival = new_user()
    add(rival, short, 2)
    check_out(rival)
    block(other_seller, buyer)
    ban(banned_seller)

    cart = cart_of(client, buyer)
    assert [(line["title"], line["availability"], line["available_quantity"]) for line in cart["lines"]] == [
        ("Kept", "available", 2), ("Short", "insufficient", 1), ("Blocked", "unavailable", 0),
        ("Banned", "unavailable", 0)]
    assert cart["totals"] == [{"currency": "EUR", "total_minor": 1000, "units": 2}]
