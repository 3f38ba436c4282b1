"""The marketplace through the gateway, with the other services: a verified seller lists, a buyer pays, the
seller sees the sale and is notified by social; a blocked buyer is refused."""
import io
import uuid

import pytest
import segno
from servicekit.testing import wait_until

BUS_TIMEOUT = 30  # seconds an event may take from one service's commit to another's effect, at most
TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
ADDRESS = {"name": "Bob Buyer", "line1": "1 Market Street", "city": "Zurich", "postal_code": "8001", "country": "CH"}


@pytest.fixture
def member(new_account):
    """`member()`: a new account, signed in, once the marketplace has heard of it."""
    def make():
        user = new_account()
        user.sign_in()
        wait_until(lambda: user.client.get("/api/marketplace/cart", headers=user.headers).status_code == 200,
                   timeout=BUS_TIMEOUT, interval=0.1, message="the account to be signed in")
        return user
    return make


def verified(user, staff) -> None:
    """The user asks to be verified with an ID document, staff approve, and the user signs in again."""
    png = io.BytesIO()
    segno.make("an identity document").save(png, kind="png", scale=4)
    asked = user.client.post("/api/auth/verification", headers=user.headers, data={"reason": "to sell"},
                             files={"document": ("id.png", png.getvalue(), "image/png")})
    assert asked.status_code == 201, asked.text
    staff_client, staff_headers = staff
    approved = staff_client.post(f"/api/auth/admin/verifications/{asked.json()['id']}/approve",
                                 headers=staff_headers, json={"notes": "ok"})
    assert approved.status_code == 200, approved.text
    user.sign_in()   # the new access token says verified


def listed(seller, staff, **fields) -> dict:
    staff_client, staff_headers = staff
    slug = f"c{uuid.uuid4().hex[:10]}"
    category = staff_client.post("/api/marketplace/admin/categories", headers=staff_headers,
                                 json={"name": f"Category {slug}", "slug": slug})
    assert category.status_code == 201, category.text
    item = seller.client.post("/api/marketplace/items", headers=seller.headers, json={
        "title": "A wooden chair", "description": "Oak, sturdy.", "category_id": category.json()["id"],
        "price_minor": 4500, "currency": "EUR", "quantity": 1, "condition": "good", **fields})
    assert item.status_code == 201, item.text
    return item.json()


def test_a_verified_seller_sells_and_is_told(member, staff):
    seller, buyer = member(), member()
    verified(seller, staff)
    item = listed(seller, staff)
    found = buyer.client.get("/api/marketplace/items", headers=buyer.headers, params={"q": "wooden chairs"}).json()
    assert item["id"] in [hit["id"] for hit in found["items"]]
    added = buyer.client.post("/api/marketplace/cart/items", headers=buyer.headers,
                              json={"item_id": item["id"], "quantity": 1})
    assert added.status_code == 200, added.text
    key = {"Idempotency-Key": str(uuid.uuid4())}
    order = buyer.client.post("/api/marketplace/checkout", headers={**buyer.headers, **key},
                              json={"shipping_address": ADDRESS})
    assert order.status_code == 201, order.text
    paid = buyer.client.post(f"/api/marketplace/orders/{order.json()['id']}/pay",
                             headers={**buyer.headers, "Idempotency-Key": str(uuid.uuid4())}, json={"card": TEST_CARD})
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    sales = seller.client.get("/api/marketplace/sales", headers=seller.headers).json()
    assert sales["unique_buyers"] == 1
    assert seller.client.get(f"/api/marketplace/items/{item['id']}").json()["status"] == "sold"

    def told() -> bool:
        kinds = [n["kind"] for n in seller.client.get("/api/social/notifications", headers=seller.headers)
                 .json()["items"]]
        return "item.sold" in kinds
    wait_until(told, timeout=BUS_TIMEOUT, interval=0.2, message="social to tell the seller of the sale")


def test_a_buyer_the_seller_blocked_cannot_buy(member, staff):
    seller, buyer = member(), member()
    verified(seller, staff)
    item = listed(seller, staff)
    blocked = seller.client.post("/api/social/blocks", headers=seller.headers, json={"username": buyer.username})
    assert blocked.status_code in (200, 201), blocked.text

    def refused() -> bool:
        answer = buyer.client.post("/api/marketplace/cart/items", headers=buyer.headers,
                                   json={"item_id": item["id"], "quantity": 1})
        return answer.status_code == 403
    wait_until(refused, timeout=BUS_TIMEOUT, interval=0.2, message="the marketplace to hear of the block")
    found = buyer.client.get("/api/marketplace/items", headers=buyer.headers, params={"seller": seller.id}).json()
    assert found["items"] == []
