"""Items: verified sellers list them, anyone sees them, their sellers change or remove them (not while a
pending order holds them)."""
import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from servicekit.testing import wait_until

from marketplace.items import status_of
from marketplace.models import Category, Item, Order, OrderLine

API = "/api/marketplace"
VALID = {"title": "Chair", "description": "", "price_minor": 100, "currency": "EUR", "quantity": 1,
         "condition": "good"}


def page(client, item_id, headers=None):
    return client.get(f"{API}/items/{item_id}", headers=headers or {})


# --- listing -----------------------------------------------------------------------------------

def test_a_verified_user_lists_an_item_and_anyone_sees_its_page(client, seller, category, app, handlers,
                                                                running_worker, event_probe):
    running_worker(app, handlers)  # its relay publishes what the outbox holds
    chairs = category("Chairs")
    response = client.post(f"{API}/items", headers=seller.headers, json={
        "title": "  Oak chair ", "description": "Solid oak.\nLightly used.", "category_id": chairs["id"],
        "price_minor": 4500, "currency": "EUR", "quantity": 3, "condition": "like_new"})
    assert response.status_code == 201, response.json
    item = response.json
    assert (item["title"], item["description"], item["seller_id"], item["seller_username"]) == \
        ("Oak chair", "Solid oak.\nLightly used.", str(seller.user_id), seller.username)
    assert (item["price_minor"], item["currency"], item["quantity"], item["available"], item["status"]) == \
        (4500, "EUR", 3, 3, "available")
    assert (item["category_id"], item["category_name"], item["images"], item["removed_at"]) == \
        (chairs["id"], "Chairs", [], None)

    shown = page(client, item["id"])  # no sign-in
    assert shown.status_code == 200
    assert shown.json == item

    listed = event_probe.wait_for("marketplace.item.listed", lambda e: e.payload["item_id"] == item["id"])
    assert listed.payload == {"item_id": item["id"], "seller_id": str(seller.user_id), "title": "Oak chair",
                              "price_minor": 4500, "currency": "EUR", "listed_at": listed.payload["listed_at"]}


def test_an_item_listed_while_its_category_is_being_deleted_is_refused_as_without_a_category(
        app, database, seller, category):
    doomed = category()
    with database.session() as deletion:  # staff deleting the category, not yet committed
        deletion.execute(sa.select(Category).where(Category.id == doomed["id"]).with_for_update())
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(lambda: app.test_client().post(f"{API}/items", headers=seller.headers, json={
                **VALID, "category_id": doomed["id"]}))
            wait_until(lambda: a_request_waits_for_a_lock(database), timeout=10, message="the listing to wait")
            deletion.execute(sa.delete(Category).where(Category.id == doomed["id"]))
            deletion.commit()
            response = answer.result(timeout=10)
    assert response.status_code == 422
    assert "category_id" in response.json["errors"]


def a_request_waits_for_a_lock(database) -> bool:
    with database.session() as session:
        return session.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND datname = current_database()")) > 0


def test_the_description_may_be_left_out(client, seller, category):
    response = client.post(f"{API}/items", headers=seller.headers, json={
        "title": "Lamp", "category_id": category()["id"], "price_minor": 0, "currency": "JPY", "quantity": 1,
        "condition": "new"})
    assert response.status_code == 201
    assert (response.json["description"], response.json["price_minor"]) == ("", 0)


def test_an_unverified_user_cannot_list_an_item(client, new_user, category):
    newcomer = new_user()
    response = client.post(f"{API}/items", headers=newcomer.headers, json={
        "title": "Chair", "category_id": category()["id"], "price_minor": 100, "currency": "EUR", "quantity": 1,
        "condition": "good"})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert client.get(f"{API}/items/mine", headers=newcomer.headers).json["items"] == []


def test_a_verification_the_token_predates_is_enough_to_list(client, new_user, deliver, listed_item):
    person = new_user()  # the token says unverified
    deliver("auth.user.verified", {"user_id": str(person.user_id), "request_id": str(uuid.uuid4()),
                                   "decided_at": dt.datetime.now(dt.UTC).isoformat()})
    assert listed_item(person)["status"] == "available"


def test_a_banned_user_cannot_list_an_item_whatever_their_token_says(client, new_user, category):
    banned = new_user(verified=True, banned=True)
    response = client.post(f"{API}/items", headers=banned.headers, json={
        "title": "Chair", "category_id": category()["id"], "price_minor": 100, "currency": "EUR", "quantity": 1,
        "condition": "good"})
    assert response.status_code == 403


def test_listing_needs_a_signed_in_user(client, category):
    response = client.post(f"{API}/items", json={"title": "Chair", "category_id": category()["id"], "price_minor": 1,
                                                 "currency": "EUR", "quantity": 1, "condition": "good"})
    assert response.status_code == 401


@pytest.mark.parametrize("change, field", [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 121}, "title"),
    ({"title": "Two\nlines"}, "title"),
    ({"title": "Bidi \u202e trick"}, "title"),
    ({"title": None}, "title"),
    ({"description": "x" * 5001}, "description"),
    ({"description": "bell \x07"}, "description"),
    ({"price_minor": -1}, "price_minor"),
    ({"price_minor": 12.5}, "price_minor"),
    ({"price_minor": "100"}, "price_minor"),
    ({"price_minor": 10**12}, "price_minor"),
    ({"currency": "eur"}, "currency"),
    ({"currency": "EURO"}, "currency"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": 100_001}, "quantity"),
    ({"condition": "mint"}, "condition"),
    ({"category_id": "not-an-id"}, "category_id"),
    ({"category_id": str(uuid.uuid4())}, "category_id"),
    ({"colour": "red"}, "colour"),
])
def test_an_item_with_bad_input_is_refused_naming_the_field(client, seller, category, change, field):
    body = {**VALID, "category_id": category()["id"], **change}
    response = client.post(f"{API}/items", headers=seller.headers, json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


@pytest.mark.parametrize("missing", ["title", "category_id", "price_minor", "currency", "quantity", "condition"])
def test_an_item_missing_a_required_field_is_refused(client, seller, category, missing):
    body = {**VALID, "category_id": category()["id"]}
    del body[missing]
    response = client.post(f"{API}/items", headers=seller.headers, json=body)
    assert response.status_code == 422
    assert missing in response.json["errors"]


# --- seeing --------------------------------------------------------------------------------------

def test_an_unknown_item_is_404(client):
    response = page(client, uuid.uuid4())
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_a_banned_sellers_items_are_404_until_the_ban_is_lifted(client, seller, listed_item, ban, unban):
    item = listed_item(seller)
    ban(seller)
    assert page(client, item["id"]).status_code == 404
    unban(seller)
    assert page(client, item["id"]).status_code == 200


def test_the_item_page_follows_the_stock(client, seller, listed_item, pending_order, close_order, new_user):
    item = listed_item(seller, quantity=2)
    buyer = new_user(verified=True)
    first = pending_order(item, buyer.user_id)
    assert (page(client, item["id"]).json["available"], page(client, item["id"]).json["status"]) == (1, "available")
    second = pending_order(item, buyer.user_id)
    assert (page(client, item["id"]).json["available"], page(client, item["id"]).json["status"]) == (0, "reserved")
    close_order(first, "paid")
    close_order(second, "paid")
    shown = page(client, item["id"]).json
    assert (shown["quantity"], shown["available"], shown["status"]) == (0, 0, "sold")


def test_status_follows_stock_and_removal():
    assert status_of(quantity=2, reserved=1, removed=False) == "available"
    assert status_of(quantity=2, reserved=2, removed=False) == "reserved"
    assert status_of(quantity=0, reserved=0, removed=False) == "sold"
    assert status_of(quantity=2, reserved=0, removed=True) == "removed"
    assert status_of(quantity=2, reserved=2, removed=True) == "removed"


# --- changing and removing ---------------------------------------------------------------------------

def test_the_seller_changes_their_item(client, seller, listed_item, category):
    item = listed_item(seller)
    lamps = category("Lamps")
    response = client.patch(f"{API}/items/{item['id']}", headers=seller.headers, json={
        "title": "Brass lamp", "price_minor": 2500, "quantity": 4, "category_id": lamps["id"], "condition": "fair"})
    assert response.status_code == 200, response.json
    assert (response.json["title"], response.json["price_minor"], response.json["available"],
            response.json["category_name"], response.json["condition"], response.json["description"]) == \
        ("Brass lamp", 2500, 4, "Lamps", "fair", item["description"])
    assert response.json["updated_at"] > item["updated_at"]
    assert page(client, item["id"]).json["title"] == "Brass lamp"


def test_a_sold_out_item_is_available_again_when_restocked(client, seller, listed_item, pending_order, close_order,
                                                           new_user):
    item = listed_item(seller)
    close_order(pending_order(item, new_user().user_id), "paid")
    assert page(client, item["id"]).json["status"] == "sold"
    restocked = client.patch(f"{API}/items/{item['id']}", headers=seller.headers, json={"quantity": 2})
    assert (restocked.json["status"], restocked.json["available"]) == ("available", 2)


def test_a_seller_cannot_change_or_remove_another_sellers_item(client, seller, new_user, listed_item):
    item = listed_item(seller)
    other = new_user(verified=True)
    edit = client.patch(f"{API}/items/{item['id']}", headers=other.headers, json={"price_minor": 1})
    assert edit.status_code == 403
    assert edit.mimetype == "application/problem+json"
    assert client.delete(f"{API}/items/{item['id']}", headers=other.headers).status_code == 403
    assert page(client, item["id"]).json["price_minor"] == item["price_minor"]


def test_a_banned_sellers_item_is_404_to_others_who_try_to_change_it(client, seller, new_user, listed_item, ban):
    item = listed_item(seller)
    ban(seller)
    other = new_user(verified=True)
    assert client.patch(f"{API}/items/{item['id']}", headers=other.headers, json={"price_minor": 1}).status_code \
        == 404


def test_a_banned_seller_cannot_change_or_remove_their_item(client, seller, listed_item, ban):
    item = listed_item(seller)
    ban(seller)
    assert client.patch(f"{API}/items/{item['id']}", headers=seller.headers, json={"price_minor": 1}).status_code \
        == 403
    assert client.delete(f"{API}/items/{item['id']}", headers=seller.headers).status_code == 403


def test_an_item_in_a_pending_order_cannot_be_changed_or_removed_until_the_order_closes(
        client, seller, listed_item, pending_order, close_order, new_user):
    item = listed_item(seller, quantity=5)
    order_id = pending_order(item, new_user().user_id)

    edit = client.patch(f"{API}/items/{item['id']}", headers=seller.headers, json={"price_minor": 1})
    assert edit.status_code == 409
    assert edit.mimetype == "application/problem+json"
    assert client.delete(f"{API}/items/{item['id']}", headers=seller.headers).status_code == 409

    close_order(order_id, "cancelled")
    assert client.patch(f"{API}/items/{item['id']}", headers=seller.headers,
                        json={"price_minor": 1}).status_code == 200


def test_a_change_racing_a_checkout_of_the_item_waits_for_it_and_is_then_refused(
        app, database, seller, listed_item, new_user):
    item = listed_item(seller, quantity=2)
    buyer = new_user(verified=True)
    with database.session() as checkout:  # holds the item's row while it reserves it, as checkout does
        stock = checkout.get(Item, uuid.UUID(item["id"]), with_for_update=True)
        order = Order(id=uuid.uuid4(), buyer_id=buyer.user_id, total_minor=item["price_minor"],
                      currency=item["currency"], shipping_address={"name": "B"},
                      reserved_until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15))
        checkout.add(order)
        checkout.flush()
        checkout.add(OrderLine(order_id=order.id, item_id=stock.id, seller_id=stock.seller_id, title=stock.title,
                               unit_price_minor=stock.price_minor, currency=stock.currency, quantity=1))
        stock.reserved = 1
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(lambda: app.test_client().patch(f"{API}/items/{item['id']}", headers=seller.headers,
                                                                 json={"price_minor": 1}))
            wait_until(lambda: a_request_waits_for_a_lock(database), timeout=10, message="the change to wait")
            checkout.commit()
            response = answer.result(timeout=10)
    assert response.status_code == 409
    assert page(app.test_client(), item["id"]).json["price_minor"] == item["price_minor"]


def test_an_item_in_a_paid_order_may_still_be_changed(client, seller, listed_item, pending_order, close_order,
                                                      new_user):
    item = listed_item(seller, quantity=5)
    close_order(pending_order(item, new_user().user_id), "paid")
    assert client.patch(f"{API}/items/{item['id']}", headers=seller.headers, json={"title": "New"}).status_code == 200


@pytest.mark.parametrize("change, field", [
    ({"title": None}, "title"), ({"price_minor": -5}, "price_minor"), ({"quantity": 0}, "quantity"),
    ({"category_id": str(uuid.uuid4())}, "category_id"), ({"currency": "E1R"}, "currency"),
    ({"seller_id": str(uuid.uuid4())}, "seller_id"), ({"status": "sold"}, "status"),
])
def test_a_change_with_bad_input_is_refused_naming_the_field(client, seller, listed_item, change, field):
    item = listed_item(seller)
    response = client.patch(f"{API}/items/{item['id']}", headers=seller.headers, json=change)
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_the_seller_removes_their_item_which_leaves_its_page_but_not_their_list(client, seller, listed_item):
    item = listed_item(seller)
    assert client.delete(f"{API}/items/{item['id']}", headers=seller.headers).status_code == 204
    assert page(client, item["id"]).status_code == 404
    assert page(client, item["id"], seller.headers).status_code == 404
    mine = client.get(f"{API}/items/mine", headers=seller.headers).json["items"]
    assert [(i["id"], i["status"]) for i in mine] == [(item["id"], "removed")]
    assert mine[0]["removed_at"] is not None
    # gone for good: neither changed nor removed again
    assert client.patch(f"{API}/items/{item['id']}", headers=seller.headers, json={"title": "X"}).status_code == 404
    assert client.delete(f"{API}/items/{item['id']}", headers=seller.headers).status_code == 404


def test_a_removed_item_stays_in_the_orders_that_hold_it(client, seller, listed_item, pending_order, close_order,
                                                        new_user, session):
    item = listed_item(seller, quantity=2)
    order_id = pending_order(item, new_user().user_id)
    close_order(order_id, "paid")
    assert client.delete(f"{API}/items/{item['id']}", headers=seller.headers).status_code == 204
    line = session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order_id)).one()
    assert (str(line.item_id), line.title) == (item["id"], item["title"])


def test_changing_or_removing_needs_a_signed_in_user(client, seller, listed_item):
    item = listed_item(seller)
    assert client.patch(f"{API}/items/{item['id']}", json={"title": "X"}).status_code == 401
    assert client.delete(f"{API}/items/{item['id']}").status_code == 401


# --- my items -------------------------------------------------------------------------------------

def test_my_items_are_all_mine_newest_first_a_page_at_a_time(client, new_user, listed_item, pending_order,
                                                             close_order):
    me, other = new_user(verified=True), new_user(verified=True)
    listed = [listed_item(me, title=f"Thing {n}") for n in range(5)]
    listed_item(other)
    client.delete(f"{API}/items/{listed[1]['id']}", headers=me.headers)
    close_order(pending_order(listed[2], other.user_id), "paid")

    first = client.get(f"{API}/items/mine", headers=me.headers, query_string={"limit": 3})
    assert first.status_code == 200
    rest = client.get(f"{API}/items/mine", headers=me.headers,
                      query_string={"limit": 3, "cursor": first.json["next_cursor"]})
    assert rest.json["next_cursor"] is None
    items = first.json["items"] + rest.json["items"]
    assert [i["title"] for i in items] == [f"Thing {n}" for n in reversed(range(5))]
    assert {i["title"]: i["status"] for i in items} == {
        "Thing 0": "available", "Thing 1": "removed", "Thing 2": "sold", "Thing 3": "available",
        "Thing 4": "available"}


def test_my_items_need_a_signed_in_user_and_a_good_cursor(client, seller):
    assert client.get(f"{API}/items/mine").status_code == 401
    response = client.get(f"{API}/items/mine", headers=seller.headers, query_string={"cursor": "!!"})
    assert response.status_code == 422
    assert "cursor" in response.json["errors"]
