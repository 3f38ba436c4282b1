import pytest
import sqlalchemy as sa

from marketplace.models import Order, Payment

SUCCEEDS, DECLINED, TIMES_OUT = "4242424242424242", "4000000000000002", "4000000000000119"


def orders_of(session, buyer):
    return session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.buyer_id == buyer.user_id))


def payments_of(session, order):
    return session.scalar(sa.select(sa.func.count()).select_from(Payment).where(Payment.order_id == order["id"]))


def without_request_id(problem):
    return {key: value for key, value in problem.items() if key != "request_id"}


@pytest.fixture
def order(check_out, buyer, seller, listed_item):
    return check_out(buyer, listed_item(seller)).json


# --- checkout -----------------------------------------------------------------------------------------------------

def test_a_repeated_checkout_gets_the_first_answer_and_places_one_order(session, add, check_out, published, buyer,
                                                                        seller, listed_item):
    add(buyer, listed_item(seller))

    first = check_out(buyer, key="checkout-1", status=None)
    again = check_out(buyer, key="checkout-1", status=None)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    assert orders_of(session, buyer) == 1
    assert len(published("marketplace.order.placed", order_id=first.json["id"])) == 1


def test_the_same_checkout_key_with_another_body_is_refused(session, add, check_out, address, buyer, seller,
                                                            listed_item):
    add(buyer, listed_item(seller))
    check_out(buyer, key="checkout-2")

    refused = check_out(buyer, key="checkout-2", shipping_address={**address, "city": "Cambridge"}, status=422)

    assert "Idempotency-Key" in refused.json["errors"]
    assert orders_of(session, buyer) == 1


def test_checkouts_sent_at_once_with_one_key_place_one_order_and_all_get_it(app, session, add, check_out, at_once,
                                                                            buyer, seller, listed_item):
    add(buyer, listed_item(seller, quantity=10))

    answers = at_once([lambda: check_out(buyer, key="checkout-3", status=None, client=app.test_client())
                       for _ in range(5)])

    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json["id"] for answer in answers}) == 1
    assert orders_of(session, buyer) == 1


def test_keys_belong_to_their_user(add, check_out, new_user, seller, listed_item):
    chair = listed_item(seller, quantity=2)
    one, other = new_user(), new_user()
    add(one, chair)
    add(other, chair)

    first, second = (check_out(one, key="shared-key", status=None),
                     check_out(other, key="shared-key", status=None))

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json["id"] != second.json["id"]


def test_a_refused_checkout_is_not_remembered_so_its_retry_is_judged_afresh(add, check_out, buyer, seller,
                                                                            listed_item):
    check_out(buyer, key="checkout-4", status=409)   # the cart is empty
    add(buyer, listed_item(seller))

    check_out(buyer, key="checkout-4")


def test_a_key_longer_than_255_characters_is_invalid(add, check_out, buyer, seller, listed_item):
    add(buyer, listed_item(seller))

    refused = check_out(buyer, key="k" * 256, status=422)

    assert "Idempotency-Key" in refused.json["errors"]


# --- payment ------------------------------------------------------------------------------------------------------

def test_a_repeated_payment_gets_the_first_answer_and_charges_once(session, pay, provider, buyer, order):
    first = pay(buyer, order, key="pay-1", status=None)
    again = pay(buyer, order, key="pay-1", status=None)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json == first.json
    assert provider.charged == [order["id"]]
    assert payments_of(session, order) == 1


@pytest.mark.parametrize("number", [DECLINED, TIMES_OUT])
def test_a_repeated_failed_payment_gets_the_same_failure_without_a_second_charge(pay, provider, buyer, order,
                                                                                 number):
    first = pay(buyer, order, number, key="pay-2", status=None)
    again = pay(buyer, order, number, key="pay-2", status=None)

    assert (first.status_code, again.status_code) == (402, 402)
    assert without_request_id(again.json) == without_request_id(first.json)
    assert again.headers["Content-Type"] == "application/problem+json"
    assert provider.charged == [order["id"]]
    pay(buyer, order, key="pay-3")   # a new attempt takes a new key
    assert len(provider.charged) == 2


def test_the_same_payment_key_with_another_card_is_refused_without_a_charge(pay, provider, buyer, order):
    pay(buyer, order, DECLINED, key="pay-4", status=402)

    refused = pay(buyer, order, SUCCEEDS, key="pay-4", status=422)

    assert "Idempotency-Key" in refused.json["errors"]
    assert provider.charged == [order["id"]]


def test_payments_sent_at_once_with_one_key_charge_once_and_all_get_the_paid_order(app, session, pay, at_once,
                                                                                   provider, buyer, order):
    answers = at_once([lambda: pay(buyer, order, key="pay-5", status=None, client=app.test_client())
                       for _ in range(5)])

    assert {answer.status_code for answer in answers} == {200}
    assert len({str(answer.json) for answer in answers}) == 1
    assert provider.charged == [order["id"]]
    assert payments_of(session, order) == 1


def test_payments_sent_at_once_with_different_keys_charge_once(app, pay, at_once, provider, buyer, order):
    answers = at_once([lambda key=key: pay(buyer, order, key=key, status=None, client=app.test_client())
                       for key in "abcde"])

    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 4
    assert provider.charged == [order["id"]]
