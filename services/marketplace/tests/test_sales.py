import datetime as dt

import pytest
import sqlalchemy as sa

from marketplace.models import Order

API = "/api/marketplace"


@pytest.fixture
def buy(add, check_out, pay):
    """`buy(buyer, *lines, paid=True)`: the buyer checked out the (item, quantity) lines, and paid unless told
    otherwise; the order."""
    def order(buyer, *lines, paid=True):
        for item, quantity in lines:
            add(buyer, item, quantity)
        placed = check_out(buyer).json
        if paid:
            pay(buyer, placed)
        return placed
    return order


def sold(client, seller, **query):
    response = client.get(f"{API}/orders/sold", headers=seller.headers, query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def sales_of(client, seller):
    response = client.get(f"{API}/sales", headers=seller.headers)
    assert response.status_code == 200, response.json
    return response.json


def paid_in(session, order, year, month):
    session.execute(sa.update(Order).where(Order.id == order["id"])
                    .values(paid_at=dt.datetime(year, month, 15, 12, tzinfo=dt.UTC)))
    session.commit()


@pytest.fixture
def shop(new_user):
    """A seller of their own (figures are per seller)."""
    return new_user(verified=True)


def test_a_seller_sees_the_lines_of_their_items_in_orders_with_status_and_buyer_and_no_one_elses(
        client, buy, address, new_user, shop, seller, listed_item):
    chair = listed_item(shop, title="Chair", price_minor=1500, quantity=5)
    others = listed_item(seller, title="Someone else's")
    first, second = new_user(), new_user()
    paid = buy(first, (chair, 2), (others, 1))
    pending = buy(second, (chair, 1), paid=False)

    lines = sold(client, shop)["items"]

    assert [(line["order_id"], line["order_status"], line["buyer_id"], line["title"], line["quantity"],
             line["line_total_minor"]) for line in lines] == [
        (pending["id"], "pending", str(second.user_id), "Chair", 1, 1500),
        (paid["id"], "paid", str(first.user_id), "Chair", 2, 3000)]
    assert lines[0]["shipping_address"] is None
    assert lines[1]["shipping_address"]["city"] == address["city"]
    assert [line["order_id"] for line in sold(client, shop, status="paid")["items"]] == [paid["id"]]
    first_page = sold(client, shop, limit=1)
    assert [line["order_id"] for line in first_page["items"] + sold(
        client, shop, limit=1, cursor=first_page["next_cursor"])["items"]] == [pending["id"], paid["id"]]


def test_sales_figures_count_paid_orders_only_per_currency_month_and_item(client, session, buy, new_user, shop,
                                                                          listed_item):
    chair = listed_item(shop, title="Chair", price_minor=1000, currency="EUR", quantity=10)
    lamp = listed_item(shop, title="Lamp", price_minor=250, currency="EUR", quantity=10)
    radio = listed_item(shop, title="Radio", price_minor=4000, currency="USD", quantity=10)
    ann, bob = new_user(), new_user()
    in_may = buy(ann, (chair, 2), (lamp, 1))
    paid_in(session, in_may, 2025, 5)
    buy(bob, (chair, 1))
    buy(ann, (radio, 1))
    buy(ann, (lamp, 1))
    buy(bob, (lamp, 3), paid=False)   # pending: not a sale (yet)
    carol = new_user()
    cancelled = buy(carol, (chair, 4), paid=False)
    assert client.post(f"{API}/orders/{cancelled['id']}/cancel", headers=carol.headers).status_code == 200
    this_month = dt.datetime.now(dt.UTC).strftime("%Y-%m")

    figures = sales_of(client, shop)

    assert figures["revenue"] == [{"currency": "EUR", "revenue_minor": 2250 + 1000 + 250, "units": 5, "orders": 3},
                                  {"currency": "USD", "revenue_minor": 4000, "units": 1, "orders": 1}]
    assert (figures["units"], figures["unique_buyers"]) == (6, 2)
    assert figures["by_month"] == [
        {"month": "2025-05", "currency": "EUR", "revenue_minor": 2250, "units": 3},
        {"month": this_month, "currency": "EUR", "revenue_minor": 1250, "units": 2},
        {"month": this_month, "currency": "USD", "revenue_minor": 4000, "units": 1}]
    assert figures["by_item"] == [
        {"item_id": radio["id"], "title": "Radio", "currency": "USD", "revenue_minor": 4000, "units": 1},
        {"item_id": chair["id"], "title": "Chair", "currency": "EUR", "revenue_minor": 3000, "units": 3},
        {"item_id": lamp["id"], "title": "Lamp", "currency": "EUR", "revenue_minor": 500, "units": 2}]


def test_a_seller_without_sales_has_empty_figures(client, shop):
    assert sales_of(client, shop) == {"revenue": [], "units": 0, "unique_buyers": 0, "by_month": [], "by_item": []}
