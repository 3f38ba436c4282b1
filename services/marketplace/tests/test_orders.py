import uuid

import pytest
import sqlalchemy as sa

from marketplace.models import Payment

API = "/api/marketplace"
SUCCEEDS, DECLINED, INSUFFICIENT_FUNDS, TIMES_OUT = ("4242424242424242", "4000000000000002", "4000000000009995",
                                                     "4000000000000119")


def order_of(client, buyer, order):
    response = client.get(f"{API}/orders/{order['id']}", headers=buyer.headers)
    assert response.status_code == 200, response.json
    return response.json


# --- paying -------------------------------------------------------------------------------------------------------

def test_a_paid_order_sells_its_units_empties_those_cart_lines_and_tells_the_sellers(
        client, add, check_out, pay, stock, published, provider, new_user, buyer, seller, listed_item):
    other_seller = new_user(verified=True)
    chair = listed_item(seller, title="Chair", quantity=3, price_minor=1000)
    lamp = listed_item(other_seller, title="Lamp", quantity=1, price_minor=250)
    add(buyer, chair, 2)
    order = check_out(buyer, lamp).json
    later = listed_item(seller, title="Later")
    add(buyer, later)

    paid = pay(buyer, order)

    assert (paid.json["status"], paid.json["failure_reason"]) == ("paid", None)
    assert paid.json["paid_at"] is not None
    assert [(p["outcome"], p["amount_minor"], p["currency"], p["card_brand"], p["card_last4"])
            for p in paid.json["payments"]] == [("succeeded", 2250, "EUR", "visa", "4242")]
    assert paid.json == order_of(client, buyer, order)
    assert stock(chair) == (1, 0, "available")
    assert stock(lamp) == (0, 0, "sold")
    assert [line["item_id"] for line in client.get(f"{API}/cart", headers=buyer.headers).json["lines"]] == [
        later["id"]]
    assert provider.charged == [order["id"]]
    [event] = published("marketplace.order.paid", order_id=order["id"])
    assert (event["total_minor"], sorted(event["seller_ids"])) == (2250, sorted([str(seller.user_id),
                                                                                 str(other_seller.user_id)]))
    sold = {payload["item_id"]: payload for payload in published("marketplace.item.sold",
                                                                   order_id=order["id"])}
    assert {item_id: (p["seller_id"], p["buyer_id"], p["quantity"]) for item_id, p in sold.items()} == {
        chair["id"]: (str(seller.user_id), str(buyer.user_id), 2),
        lamp["id"]: (str(other_seller.user_id), str(buyer.user_id), 1)}


@pytest.mark.parametrize(("number", "outcome", "reason"), [
    (DECLINED, "declined", "The card was declined."),
    (INSUFFICIENT_FUNDS, "insufficient_funds", "The card has insufficient funds."),
    (TIMES_OUT, "timeout", "The payment provider did not answer in time."),
    ("5555555555554444", "declined", "Unknown test card."),
])
def test_a_failed_payment_leaves_the_order_pending_with_its_reason_and_it_can_be_paid_again(
        client, check_out, pay, stock, published, provider, buyer, seller, listed_item, number, outcome, reason):
    chair = listed_item(seller, quantity=1)
    order = check_out(buyer, chair).json

    failed = pay(buyer, order, number, status=402)

    assert failed.json["type"] == f"urn:beyou:problem:payment-{outcome.replace('_', '-')}"
    assert failed.json["detail"].startswith(reason)
    pending = order_of(client, buyer, order)
    assert (pending["status"], pending["failure_reason"]) == ("pending", reason)
    assert [(p["outcome"], p["reason"]) for p in pending["payments"]] == [(outcome, reason)]
    assert stock(chair) == (1, 1, "reserved")
    assert published("marketplace.order.paid", order_id=order["id"]) == []

    paid = pay(buyer, order, SUCCEEDS)

    assert (paid.json["status"], paid.json["failure_reason"]) == ("paid", None)
    assert [p["outcome"] for p in paid.json["payments"]] == [outcome, "succeeded"]
    assert stock(chair) == (0, 0, "sold")
    assert len(provider.charged) == 2


@pytest.mark.parametrize(("card", "field"), [
    ({"number": "4242424242424241"}, "number"),
    ({"exp_month": 1, "exp_year": 2020}, "exp_year"),
    ({"cvc": "12"}, "cvc"),
    ({"cvc": "1234"}, "cvc"),
])
def test_a_card_that_cannot_be_charged_is_refused_before_any_charge(session, check_out, pay, provider, buyer,
                                                                    seller, listed_item, card, field):
    order = check_out(buyer, listed_item(seller)).json

    refused = pay(buyer, order, **card, status=422)

    assert field in refused.json["errors"]["card"]
    assert provider.charged == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Payment)
                          .where(Payment.order_id == order["id"])) == 0


def test_paying_requires_an_idempotency_key(client, check_out, provider, buyer, seller, listed_item):
    order = check_out(buyer, listed_item(seller)).json

    refused = client.post(f"{API}/orders/{order['id']}/pay", headers=buyer.headers,
                          json={"card": {"number": SUCCEEDS, "exp_month": 12, "exp_year": 2099, "cvc": "123"}})

    assert refused.status_code == 422
    assert "Idempotency-Key" in refused.json["errors"]
    assert provider.charged == []


def test_another_users_order_is_not_found_to_pay_see_or_cancel(client, check_out, pay, provider, new_user, buyer,
                                                                seller, listed_item):
    order = check_out(buyer, listed_item(seller)).json
    stranger = new_user()

    pay(stranger, order, status=404)
    assert client.get(f"{API}/orders/{order['id']}", headers=stranger.headers).status_code == 404
    assert client.post(f"{API}/orders/{order['id']}/cancel", headers=stranger.headers).status_code == 404
    pay(buyer, {"id": str(uuid.uuid4())}, status=404)
    assert provider.charged == []
    assert order_of(client, buyer, order)["status"] == "pending"


def test_a_paid_or_cancelled_order_cannot_be_paid_again(client, check_out, pay, provider, buyer, seller,
                                                        listed_item):
    paid = check_out(buyer, listed_item(seller)).json
    pay(buyer, paid)
    cancelled = check_out(buyer, listed_item(seller)).json
    assert client.post(f"{API}/orders/{cancelled['id']}/cancel", headers=buyer.headers).status_code == 200

    pay(buyer, paid, status=409)
    pay(buyer, cancelled, status=409)
    assert provider.charged == [paid["id"]]


@pytest.mark.parametrize("who_blocks", ["buyer", "seller"])
def test_a_block_since_checkout_stops_the_payment_either_way(check_out, pay, provider, block, buyer, seller,
                                                             listed_item, who_blocks):
    order = check_out(buyer, listed_item(seller)).json
    block(*((buyer, seller) if who_blocks == "buyer" else (seller, buyer)))

    pay(buyer, order, status=403)
    assert provider.charged == []


def test_a_ban_since_checkout_stops_the_payment(client, check_out, pay, provider, ban, new_user, buyer, seller,
                                                listed_item):
    order = check_out(buyer, listed_item(seller)).json
    other_buyer = new_user()
    other_order = check_out(other_buyer, listed_item(seller)).json
    ban(seller)
    ban(other_buyer)

    pay(buyer, order, status=409)
    pay(other_buyer, other_order, status=403)
    assert provider.charged == []
    assert client.post(f"{API}/orders/{order['id']}/cancel", headers=buyer.headers).status_code == 200


# --- cancelling ---------------------------------------------------------------------------------------------------

def test_a_cancelled_order_releases_its_units_and_says_so(client, add, check_out, stock, published, buyer, seller,
                                                          listed_item):
    chair = listed_item(seller, quantity=2)
    add(buyer, chair)
    order = check_out(buyer).json
    assert stock(chair) == (2, 1, "available")

    cancelled = client.post(f"{API}/orders/{order['id']}/cancel", headers=buyer.headers)

    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["status"] == "cancelled"
    assert cancelled.json["closed_at"] is not None
    assert stock(chair) == (2, 0, "available")
    [event] = published("marketplace.order.cancelled", order_id=order["id"])
    assert (event["reason"], event["buyer_id"], event["seller_ids"], event["total_minor"]) == (
        "cancelled", str(buyer.user_id), [str(seller.user_id)], 1000)
    assert [line["availability"] for line in client.get(f"{API}/cart", headers=buyer.headers).json["lines"]] == [
        "available"]
    assert client.post(f"{API}/orders/{order['id']}/cancel", headers=buyer.headers).status_code == 409


def test_a_paid_order_cannot_be_cancelled(client, check_out, pay, provider, buyer, seller, listed_item):
    order = check_out(buyer, listed_item(seller)).json
    pay(buyer, order)

    assert client.post(f"{API}/orders/{order['id']}/cancel", headers=buyer.headers).status_code == 409


# --- my orders ----------------------------------------------------------------------------------------------------

def test_my_orders_come_newest_first_page_by_page_with_lines_and_statuses(client, check_out, pay, provider, buyer,
                                                                          seller, listed_item):
    first = check_out(buyer, listed_item(seller, title="First")).json
    pay(buyer, first)
    second = check_out(buyer, listed_item(seller, title="Second")).json
    client.post(f"{API}/orders/{second['id']}/cancel", headers=buyer.headers)
    third = check_out(buyer, listed_item(seller, title="Third")).json

    page = client.get(f"{API}/orders?limit=2", headers=buyer.headers).json
    rest = client.get(f"{API}/orders", headers=buyer.headers, query_string={"limit": 2,
                                                                            "cursor": page["next_cursor"]}).json

    # A cancelled order's items stay in the cart: the third checkout took "Second" again.
    assert [(order["id"], order["status"], [line["title"] for line in order["lines"]])
            for order in page["items"] + rest["items"]] == [
        (third["id"], "pending", ["Second", "Third"]), (second["id"], "cancelled", ["Second"]),
        (first["id"], "paid", ["First"])]
    assert rest["next_cursor"] is None


def test_nobody_else_sees_my_orders(client, check_out, new_user, buyer, seller, listed_item):
    check_out(buyer, listed_item(seller))

    assert client.get(f"{API}/orders", headers=new_user().headers).json["items"] == []
