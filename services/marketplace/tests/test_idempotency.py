import threading
import uuid

import pytest
import sqlalchemy as sa
from servicekit.context import context_of
from servicekit.tables import outbox

from marketplace.models import Order, Payment
from marketplace.payments import TestProvider

API = "/api/marketplace"
ADDRESS = {"name": "Alan Turing", "line1": "Bletchley Park", "city": "Milton Keynes", "postal_code": "MK3 6EB",
           "country": "GB"}
SUCCEEDS, DECLINED, TIMES_OUT = "4242424242424242", "4000000000000002", "4000000000000119"


def add(client, buyer, item):
    response = client.post(f"{API}/cart/items", headers=buyer.headers, json={"item_id": item["id"]})
    assert response.status_code == 200, response.json


def check_out(client, buyer, key, **address):
    return client.post(f"{API}/checkout", headers={**buyer.headers, "Idempotency-Key": key},
                       json={"shipping_address": {**ADDRESS, **address}})


def pay(client, buyer, order, key, number=SUCCEEDS, cvc="123"):
    return client.post(f"{API}/orders/{order['id']}/pay", headers={**buyer.headers, "Idempotency-Key": key},
                       json={"card": {"number": number, "exp_month": 12, "exp_year": 2099, "cvc": cvc}})


def orders_of(session, buyer):
    return session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.buyer_id == buyer.user_id))


def payments_of(session, order):
    return session.scalar(sa.select(sa.func.count()).select_from(Payment).where(Payment.order_id == order["id"]))


def without_request_id(problem):
    return {key: value for key, value in problem.items() if key != "request_id"}


def at_once(requests):
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


class CountingProvider(TestProvider):
    def __init__(self):
        super().__init__(timeout_seconds=10)
        self.charged: list[str] = []

    def charge(self, amount_minor, currency, card, reference):
        self.charged.append(reference)
        return super().charge(amount_minor, currency, card, reference)


@pytest.fixture
def provider(app, monkeypatch):
    counting = CountingProvider()
    monkeypatch.setitem(context_of(app).resources, "payments", counting)
    return counting


@pytest.fixture
def buyer(new_user):
    return new_user()


@pytest.fixture
def order(client, buyer, seller, listed_item):
    add(client, buyer, listed_item(seller))
    placed = check_out(client, buyer, uuid.uuid4().hex)
    assert placed.status_code == 201, placed.json
    return placed.json


# --- checkout -----------------------------------------------------------------------------------------------------

def test_a_repeated_checkout_gets_the_first_answer_and_places_one_order(client, session, buyer, seller,
                                                                        listed_item):
    add(client, buyer, listed_item(seller))

    first = check_out(client, buyer, "checkout-1")
    again = check_out(client, buyer, "checkout-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    assert orders_of(session, buyer) == 1
    assert len([row for row in session.execute(sa.select(outbox.c.envelope)
                                               .where(outbox.c.event_type == "marketplace.order.placed")).scalars()
                if row["payload"]["order_id"] == first.json["id"]]) == 1


def test_the_same_checkout_key_with_another_body_is_refused(client, session, buyer, seller, listed_item):
    add(client, buyer, listed_item(seller))
    check_out(client, buyer, "checkout-2")

    refused = check_out(client, buyer, "checkout-2", city="Cambridge")

    assert refused.status_code == 422
    assert "Idempotency-Key" in refused.json["errors"]
    assert orders_of(session, buyer) == 1


def test_checkouts_sent_at_once_with_one_key_place_one_order_and_all_get_it(app, session, buyer, seller,
                                                                            listed_item):
    add(app.test_client(), buyer, listed_item(seller, quantity=10))

    answers = at_once([lambda: check_out(app.test_client(), buyer, "checkout-3") for _ in range(5)])

    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json["id"] for answer in answers}) == 1
    assert orders_of(session, buyer) == 1


def test_keys_belong_to_their_user(client, session, new_user, seller, listed_item):
    chair = listed_item(seller, quantity=2)
    one, other = new_user(), new_user()
    add(client, one, chair)
    add(client, other, chair)

    first, second = check_out(client, one, "shared-key"), check_out(client, other, "shared-key")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json["id"] != second.json["id"]


def test_a_refused_checkout_is_not_remembered_so_its_retry_is_judged_afresh(client, buyer, seller, listed_item):
    assert check_out(client, buyer, "checkout-4").status_code == 409   # the cart is empty
    add(client, buyer, listed_item(seller))

    assert check_out(client, buyer, "checkout-4").status_code == 201


def test_a_key_longer_than_255_characters_is_invalid(client, buyer, seller, listed_item):
    add(client, buyer, listed_item(seller))

    refused = check_out(client, buyer, "k" * 256)

    assert refused.status_code == 422
    assert "Idempotency-Key" in refused.json["errors"]


# --- payment ------------------------------------------------------------------------------------------------------

def test_a_repeated_payment_gets_the_first_answer_and_charges_once(client, session, provider, buyer, order):
    first = pay(client, buyer, order, "pay-1")
    again = pay(client, buyer, order, "pay-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json == first.json
    assert provider.charged == [order["id"]]
    assert payments_of(session, order) == 1


@pytest.mark.parametrize("number", [DECLINED, TIMES_OUT])
def test_a_repeated_failed_payment_gets_the_same_failure_without_a_second_charge(client, session, provider, buyer,
                                                                                 order, number):
    first = pay(client, buyer, order, "pay-2", number)
    again = pay(client, buyer, order, "pay-2", number)

    assert (first.status_code, again.status_code) == (402, 402)
    assert without_request_id(again.json) == without_request_id(first.json)
    assert again.headers["Content-Type"] == "application/problem+json"
    assert provider.charged == [order["id"]]
    assert pay(client, buyer, order, "pay-3").status_code == 200   # a new attempt takes a new key
    assert len(provider.charged) == 2


def test_the_same_payment_key_with_another_card_is_refused_without_a_charge(client, session, provider, buyer,
                                                                            order):
    pay(client, buyer, order, "pay-4", DECLINED)

    refused = pay(client, buyer, order, "pay-4", SUCCEEDS)

    assert refused.status_code == 422
    assert "Idempotency-Key" in refused.json["errors"]
    assert provider.charged == [order["id"]]


def test_payments_sent_at_once_with_one_key_charge_once_and_all_get_the_paid_order(app, session, provider, buyer,
                                                                                   order):
    answers = at_once([lambda: pay(app.test_client(), buyer, order, "pay-5") for _ in range(5)])

    assert {answer.status_code for answer in answers} == {200}
    assert len({str(answer.json) for answer in answers}) == 1
    assert provider.charged == [order["id"]]
    assert payments_of(session, order) == 1


def test_payments_sent_at_once_with_different_keys_charge_once(app, session, provider, buyer, order):
    answers = at_once([lambda key=key: pay(app.test_client(), buyer, order, key) for key in "abcde"])

    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 4
    assert provider.charged == [order["id"]]
