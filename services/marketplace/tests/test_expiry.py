import dataclasses
import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from servicekit.context import context_of
from servicekit.tables import outbox
from servicekit.testing import wait_until

from marketplace.models import Order
from marketplace.orders import expire_reservations, expiry_task, release_orders
from marketplace.payments import TestProvider


def let_expire(session, order):
    """The order's reservation ran out a moment ago."""
    session.execute(sa.update(Order).where(Order.id == order["id"])
                    .values(reserved_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    session.commit()


def status_of(session, order):
    return session.scalar(sa.select(Order.status).where(Order.id == order["id"]))


def cancellations(session, order):
    rows = session.execute(sa.select(outbox.c.envelope)
                           .where(outbox.c.event_type == "marketplace.order.cancelled")).scalars()
    return [row["payload"] for row in rows if row["payload"]["order_id"] == order["id"]]


def waiting_for_a_lock(database):
    """How many sessions of the database wait for a lock (asked afresh: a transaction keeps its first look)."""
    with database.engine.connect() as connection:
        return connection.scalar(sa.text("SELECT count(*) FROM pg_stat_activity "
                                         "WHERE datname = current_database() AND wait_event_type = 'Lock'"))


class BlockingProvider(TestProvider):
    """The test provider, holding each charge until the test lets it go."""

    def __init__(self):
        super().__init__(timeout_seconds=10)
        self.charging = threading.Event()
        self.go = threading.Event()
        self.charged: list[str] = []

    def charge(self, amount_minor, currency, card, reference):
        self.charged.append(reference)
        self.charging.set()
        assert self.go.wait(30), "the test never let the charge go"
        return super().charge(amount_minor, currency, card, reference)


@pytest.fixture
def provider(app, monkeypatch):
    blocking = BlockingProvider()
    monkeypatch.setitem(context_of(app).resources, "payments", blocking)
    yield blocking
    blocking.go.set()


def test_an_order_past_its_reservation_cannot_be_paid_and_its_units_are_released(session, check_out, pay, stock,
                                                                                 provider, buyer, seller,
                                                                                 listed_item):
    chair = listed_item(seller)
    order = check_out(buyer, chair).json
    let_expire(session, order)

    refused = pay(buyer, order, status=409)

    assert "expired" in refused.json["detail"]
    assert provider.charged == []
    assert status_of(session, order) == "expired"
    assert stock(chair) == (1, 0, "available")
    assert [event["reason"] for event in cancellations(session, order)] == ["expired"]


def test_the_expiry_releases_every_pending_order_past_its_time_and_no_other(session, database, check_out, pay,
                                                                            stock, provider, new_user, seller,
                                                                            listed_item):
    provider.go.set()
    chair, lamp, desk, shelf = (listed_item(seller, title=title, quantity=2)
                                for title in ("Chair", "Lamp", "Desk", "Shelf"))
    late = [check_out(new_user(), chair, lamp).json, check_out(new_user(), desk).json]
    on_time = check_out(new_user(), shelf).json
    payer = new_user()
    paid_too_late = check_out(payer, chair).json
    for order in (*late, paid_too_late):
        let_expire(session, order)
    pay(payer, paid_too_late, status=409)   # paying found it expired, and released it
    for order in late:
        assert status_of(session, order) == "pending"

    assert expire_reservations(database, batch_size=1) >= 2   # other tests' orders share the database

    assert [status_of(session, order) for order in (*late, on_time)] == ["expired", "expired", "pending"]
    assert [stock(item) for item in (chair, lamp, desk, shelf)] == [
        (2, 0, "available"), (2, 0, "available"), (2, 0, "available"), (2, 1, "available")]
    for order in late:
        [event] = cancellations(session, order)
        assert (event["reason"], event["total_minor"], event["seller_ids"]) == (
            "expired", order["total_minor"], [str(seller.user_id)])
    expire_reservations(database)
    assert [len(cancellations(session, order)) for order in late] == [1, 1]


def test_the_worker_releases_expired_reservations_on_its_own(app, session, settings, check_out, stock, provider,
                                                             handlers, running_worker, buyer, seller, listed_item):
    chair = listed_item(seller)
    order = check_out(buyer, chair).json
    let_expire(session, order)

    running_worker(app, handlers, tasks=[expiry_task(dataclasses.replace(settings, expiry_interval_seconds=0.1))])

    wait_until(lambda: status_of(session, order) == "expired", message="the worker to release the order")
    assert stock(chair) == (1, 0, "available")


def test_a_reservation_that_expires_while_its_payment_is_in_flight_ends_paid_never_released(
        app, session, database, settings, check_out, pay, stock, provider, buyer, seller, listed_item):
    chair = listed_item(seller)
    order = check_out(buyer, chair).json
    answers = []
    payment = threading.Thread(target=lambda: answers.append(pay(buyer, order, status=None,
                                                                 client=app.test_client())))
    payment.start()
    assert provider.charging.wait(30), "the payment never reached the provider"

    long_after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2 * settings.reservation_seconds)
    expire_reservations(database, now=long_after)   # the payment holds the order: skipped
    assert status_of(session, order) == "pending"
    assert stock(chair) == (1, 1, "reserved")
    provider.go.set()
    payment.join(timeout=30)

    assert answers[0].status_code == 200, answers[0].json
    expire_reservations(database, now=long_after)
    assert status_of(session, order) == "paid"
    assert stock(chair) == (0, 0, "sold")
    assert cancellations(session, order) == []


def test_a_payment_arriving_while_the_expiry_releases_the_order_waits_and_finds_it_expired(
        app, session, database, check_out, pay, stock, provider, buyer, seller, listed_item):
    provider.go.set()
    chair = listed_item(seller)
    order = check_out(buyer, chair).json
    answers = []
    with database.transaction() as expiry:   # the expiry task, halfway through releasing the order
        locked = expiry.scalars(sa.select(Order).where(Order.id == order["id"])
                                .with_for_update(skip_locked=True)).all()
        release_orders(expiry, locked, reason="expired", now=dt.datetime.now(dt.UTC))
        payment = threading.Thread(target=lambda: answers.append(pay(buyer, order, status=None,
                                                                     client=app.test_client())))
        payment.start()
        wait_until(lambda: waiting_for_a_lock(database), message="the payment to wait for the order's lock")
    payment.join(timeout=30)

    assert answers[0].status_code == 409
    assert provider.charged == []
    assert status_of(session, order) == "expired"
    assert stock(chair) == (1, 0, "available")
