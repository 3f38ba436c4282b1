import datetime as dt

import pytest
from servicekit.errors import Invalid

from marketplace.config import Config
from marketplace.payments import (PaymentTimeout, TestProvider, card_brand, luhn_valid, provider_for,
                                  validated_card)

TODAY = dt.date(2025, 6, 15)


def card(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123"):
    return validated_card(number, exp_month, exp_year, cvc, today=TODAY)


def refused_fields(**fields):
    with pytest.raises(Invalid) as refused:
        card(**fields)
    return set(refused.value.errors["card"])


@pytest.fixture
def provider():
    return TestProvider(timeout_seconds=10)


def test_the_documented_test_cards_pass_the_luhn_check_and_a_mistyped_one_does_not():
    for number in ("4242424242424242", "4000000000000002", "4000000000009995", "4000000000000119",
                   "5555555555554444", "378282246310005"):
        assert luhn_valid(number), number
    assert not luhn_valid("4242424242424241")


@pytest.mark.parametrize(("number", "brand"), [
    ("4242424242424242", "visa"), ("5555555555554444", "mastercard"), ("2223003122003222", "mastercard"),
    ("378282246310005", "amex"), ("340000000000009", "amex"), ("6011111111111117", "card"),
])
def test_a_cards_brand_follows_from_its_number(number, brand):
    assert card_brand(number) == brand


def test_a_valid_card_keeps_only_its_brand_and_last_four_digits_in_its_summary_and_hides_the_rest_from_repr():
    valid = card(number="4242 4242-4242 4242", exp_year=30)
    assert (valid.number, valid.exp_year) == ("4242424242424242", 2030)
    assert (valid.summary.brand, valid.summary.last4) == ("visa", "4242")
    assert "4242424242424242" not in repr(valid) and "123" not in repr(valid)


def test_a_luhn_invalid_or_malformed_number_is_refused():
    assert refused_fields(number="4242424242424241") == {"number"}
    assert refused_fields(number="4242") == {"number"}
    assert refused_fields(number="4242x24242424242") == {"number"}


def test_a_card_is_good_through_its_expiry_month_and_refused_after_it():
    assert card(exp_month=6, exp_year=2025).exp_month == 6
    assert refused_fields(exp_month=5, exp_year=2025) == {"exp_year"}
    assert refused_fields(exp_month=12, exp_year=24) == {"exp_year"}
    assert refused_fields(exp_month=13) == {"exp_month"}
    assert refused_fields(exp_month=0) == {"exp_month"}


def test_a_cvc_is_three_digits_and_four_for_american_express():
    assert card(number="378282246310005", cvc="1234").summary.brand == "amex"
    assert refused_fields(number="378282246310005", cvc="123") == {"cvc"}
    assert refused_fields(cvc="1234") == {"cvc"}
    assert refused_fields(cvc="12a") == {"cvc"}


def test_every_problem_of_a_card_is_named_at_once():
    assert refused_fields(number="1", exp_month=1, exp_year=2020, cvc="") == {"number", "exp_year", "cvc"}


@pytest.mark.parametrize(("number", "outcome"), [
    ("4242424242424242", "succeeded"), ("4000000000000002", "declined"),
    ("4000000000009995", "insufficient_funds"), ("5555555555554444", "declined"),
])
def test_the_test_provider_answers_by_test_card_number(provider, number, outcome):
    charge = provider.charge(1000, "EUR", card(number=number), "order-1")
    assert charge.outcome == outcome
    assert charge.succeeded is (outcome == "succeeded")
    assert charge.provider_reference.startswith("test_")
    assert (charge.reason is None) is charge.succeeded


def test_the_test_provider_names_an_unknown_test_card_as_the_reason_it_declined(provider):
    assert provider.charge(1000, "EUR", card(number="5555555555554444"), "order-1").reason == "Unknown test card."


def test_the_time_out_card_makes_the_test_provider_time_out_at_once(provider):
    started = dt.datetime.now(dt.UTC)
    with pytest.raises(PaymentTimeout):
        provider.charge(1000, "EUR", card(number="4000000000000119"), "order-1")
    assert dt.datetime.now(dt.UTC) - started < dt.timedelta(seconds=1)


def test_each_charge_gets_its_own_provider_reference(provider):
    first, second = (provider.charge(1000, "EUR", card(), "order-1") for _ in range(2))
    assert first.provider_reference != second.provider_reference


def test_the_configured_provider_is_the_test_provider_with_the_configured_timeout():
    settings = Config.load({"DATABASE_URL": "postgresql://unused", "AMQP_URL": "amqp://unused",
                            "PAYMENT_TIMEOUT_SECONDS": "3.5"}, environ={})
    provider = provider_for(settings)
    assert isinstance(provider, TestProvider) and provider.timeout_seconds == 3.5

