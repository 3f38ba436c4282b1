"""Charging cards: the payment-provider interface, card validation, and the built-in test provider.

A card is validated here (Luhn, expiry, CVC) before any provider sees it; a refused card is a 422 and nothing is
charged. The card's number and CVC live only in the request that carries them: what is kept, logged or
published is the brand and the last four digits (`CardSummary`).

The test provider follows documented test numbers (README, Payments):

    4242424242424242  succeeds
    4000000000000002  declined
    4000000000009995  insufficient funds
    4000000000000119  times out (the provider does not answer in PAYMENT_TIMEOUT_SECONDS)
    any other Luhn-valid number is declined as an unknown test card
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from typing import Literal, Protocol

from servicekit.errors import Invalid

from marketplace.config import Config

Outcome = Literal["succeeded", "declined", "insufficient_funds", "timeout", "error"]


@dataclasses.dataclass(frozen=True)
class Card:
    """A card as the buyer typed it; never stored, logged or published (its repr hides the number and CVC)."""

    number: str = dataclasses.field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = dataclasses.field(repr=False)

    @property
    def summary(self) -> CardSummary:
        return CardSummary(brand=card_brand(self.number), last4=self.number[-4:])


@dataclasses.dataclass(frozen=True)
class CardSummary:
    """What the marketplace keeps of a card."""

    brand: str
    last4: str


@dataclasses.dataclass(frozen=True)
class Charge:
    """A provider's answer: `succeeded`, or why not (`reason` for the buyer), with the provider's own id."""

    outcome: Outcome
    reason: str | None = None
    provider_reference: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"


class PaymentTimeout(Exception):
    """The provider did not answer within the timeout: whether it charged is unknown to us."""


class PaymentError(Exception):
    """The provider failed with an error of its own (unreachable, refusing the request), not a decision on the
    card."""


class PaymentProvider(Protocol):
    """Who charges cards. `charge` answers a `Charge` (succeeded, declined, insufficient_funds), or raises
    `PaymentTimeout` when the provider does not answer within PAYMENT_TIMEOUT_SECONDS and `PaymentError` when it
    fails (the caller records those as outcomes `timeout` and `error`). `reference` is the order's id, which a real
    provider keeps with the charge (and may use to refuse charging an order twice)."""

    def charge(self, amount_minor: int, currency: str, card: Card, reference: str) -> Charge: ...


# --- card validation -------------------------------------------------------------------------------------------

def card_brand(number: str) -> str:
    """The brand a card number's prefix names: visa, mastercard, amex, or card."""
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if 51 <= int(number[:2] or 0) <= 55 or 2221 <= int(number[:4] or 0) <= 2720:
        return "mastercard"
    return "card"


def luhn_valid(number: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def validated_card(number: str, exp_month: int, exp_year: int, cvc: str, *, today: dt.date) -> Card:
    """The card, or Invalid (422, errors by field) when it cannot be charged: number not 12-19 digits or failing
    Luhn, an expiry month in the past (a card is good through the last day of its month; a two-digit year is
    20YY), a CVC not 3 digits (4 for Amex)."""
    number = re.sub(r"[ -]", "", number)
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"\d{12,19}", number) or not luhn_valid(number):
        errors["number"] = ["Not a valid card number."]
    year = exp_year + 2000 if 0 <= exp_year < 100 else exp_year
    if not 1 <= exp_month <= 12:
        errors["exp_month"] = ["Must be between 1 and 12."]
    elif (year, exp_month) < (today.year, today.month):
        errors["exp_year"] = ["The card has expired."]
    cvc_digits = 4 if "number" not in errors and card_brand(number) == "amex" else 3
    if not re.fullmatch(rf"\d{{{cvc_digits}}}", cvc):
        errors["cvc"] = [f"Must be {cvc_digits} digits."]
    if errors:
        raise Invalid("The card cannot be charged", errors={"card": errors})
    return Card(number=number, exp_month=exp_month, exp_year=year, cvc=cvc)


# --- the built-in test provider ----------------------------------------------------------------------------------

TEST_CARDS: dict[str, Charge | None] = {
    "4242424242424242": Charge("succeeded"),
    "4000000000000002": Charge("declined", "The card was declined."),
    "4000000000009995": Charge("insufficient_funds", "The card has insufficient funds."),
    "4000000000000119": None,   # times out
}
UNKNOWN_TEST_CARD = Charge("declined", "Unknown test card.")


class TestProvider:
    """The built-in provider: answers by test card number, at once. The time-out card raises PaymentTimeout
    immediately, standing for a provider that stayed silent for the whole timeout."""

    __test__ = False   # not a pytest class, despite its name

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds

    def charge(self, amount_minor: int, currency: str, card: Card, reference: str) -> Charge:
        answer = TEST_CARDS.get(card.number, UNKNOWN_TEST_CARD)
        if answer is None:
            raise PaymentTimeout(f"no answer within {self.timeout_seconds:g} s")
        return dataclasses.replace(answer, provider_reference=f"test_{secrets.token_hex(12)}")


def provider_for(settings: Config) -> PaymentProvider:
    """The provider PAYMENT_PROVIDER names (config refuses any other)."""
    if settings.payment_provider == "test":
        return TestProvider(settings.payment_timeout_seconds)
    raise ValueError(f"unknown payment provider {settings.payment_provider!r}")
