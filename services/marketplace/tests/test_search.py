"""Item search: full text, filters, orders and pages; never removed items, banned sellers' items, or (for a
signed-in viewer) items of sellers either side blocked."""
import uuid

import pytest

from marketplace import search as search_module

API = "/api/marketplace"


def search(client, viewer=None, **query):
    response = client.get(f"{API}/items", headers=viewer.headers if viewer else {}, query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def titles(client, viewer=None, **query) -> list[str]:
    return [item["title"] for item in search(client, viewer, **query)["items"]]


def every_page(client, viewer=None, **query) -> tuple[list[str], int]:
    """The titles of every page, in order, and how many pages there were."""
    found, pages, cursor = [], 0, None
    while True:
        page = search(client, viewer, **query, **({"cursor": cursor} if cursor else {}))
        found += [item["title"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return found, pages


@pytest.fixture
def word():
    """A word no other test's items have."""
    return f"zq{uuid.uuid4().hex[:10]}"


def test_words_are_found_in_titles_and_descriptions_stemmed(client, seller, listed_item, word):
    listed_item(seller, title=f"Oak chairs {word}")
    listed_item(seller, title=f"Lamp {word}", description="Goes well with a chair.")
    listed_item(seller, title=f"Table {word}")

    assert sorted(titles(client, q=f"{word} chair")) == [f"Lamp {word}", f"Oak chairs {word}"]
    assert titles(client, q=f'"oak chair" {word}') == [f"Oak chairs {word}"]
    assert sorted(titles(client, q=f"{word} -chair")) == [f"Table {word}"]
    assert titles(client, q=f"{word} sofa") == []


def test_a_found_item_shows_its_seller_price_status_and_first_image(client, seller, listed_item, word):
    item = listed_item(seller, title=f"Chair {word}", price_minor=1234, currency="GBP", quantity=2)
    [found] = search(client, q=word)["items"]
    assert found == {
        "id": item["id"], "title": f"Chair {word}", "seller_id": str(seller.user_id),
        "seller_username": seller.username, "category_id": item["category_id"], "price_minor": 1234,
        "currency": "GBP", "condition": "good", "quantity": 2, "available": 2, "status": "available", "image": None,
        "created_at": item["created_at"]}


def test_a_category_finds_the_items_of_its_sub_categories_too(client, seller, listed_item, category):
    home = category()
    garden = category(parent=home)
    tools = category(parent=garden)
    elsewhere = category()
    listed_item(seller, title="Sofa", category_id=home["id"])
    listed_item(seller, title="Bench", category_id=garden["id"])
    listed_item(seller, title="Spade", category_id=tools["id"])
    listed_item(seller, title="Bike", category_id=elsewhere["id"])

    assert sorted(titles(client, category=home["id"])) == ["Bench", "Sofa", "Spade"]
    assert sorted(titles(client, category=garden["id"])) == ["Bench", "Spade"]
    assert titles(client, category=tools["id"]) == ["Spade"]
    assert titles(client, category=str(uuid.uuid4())) == []


def test_price_currency_condition_seller_and_availability_filter_the_items(client, new_user, listed_item, category,
                                                                    pending_order, close_order):
    shop = category()
    me, other = new_user(verified=True), new_user(verified=True)
    listed_item(me, title="Cheap", price_minor=100, category_id=shop["id"])
    listed_item(me, title="Middle", price_minor=500, category_id=shop["id"], condition="new")
    listed_item(me, title="Dear", price_minor=900, category_id=shop["id"])
    listed_item(me, title="Yen", price_minor=500, currency="JPY", category_id=shop["id"])
    theirs = listed_item(other, title="Theirs", price_minor=500, category_id=shop["id"])
    close_order(pending_order(theirs, me.user_id), "paid")

    def found(**query):
        return sorted(titles(client, category=shop["id"], **query))

    assert found(min_price=500) == ["Dear", "Middle", "Theirs", "Yen"]
    assert found(max_price=500) == ["Cheap", "Middle", "Theirs", "Yen"]
    assert found(min_price=200, max_price=600, currency="EUR") == ["Middle", "Theirs"]
    assert found(currency="JPY") == ["Yen"]
    assert found(condition="new") == ["Middle"]
    assert found(seller=str(other.user_id)) == ["Theirs"]
    assert found(available="true") == ["Cheap", "Dear", "Middle", "Yen"]
    assert found(available="false") == ["Cheap", "Dear", "Middle", "Theirs", "Yen"]  # the sold one too


def test_newest_first_by_default_a_page_at_a_time(client, seller, listed_item, category):
    shop = category()
    for n in range(7):
        listed_item(seller, title=f"Item {n}", category_id=shop["id"])
    found, pages = every_page(client, category=shop["id"], limit=3)
    assert found == [f"Item {n}" for n in reversed(range(7))]
    assert pages == 3
    assert titles(client, category=shop["id"], sort="newest") == found


def test_by_price_both_ways_a_page_at_a_time_equal_prices_included(client, seller, listed_item, category):
    shop = category()
    prices = {"A": 300, "B": 100, "C": 200, "D": 200, "E": 200, "F": 0}
    for title, price in prices.items():
        listed_item(seller, title=title, price_minor=price, category_id=shop["id"])

    ascending, pages = every_page(client, category=shop["id"], sort="price_asc", limit=2)
    assert [prices[t] for t in ascending] == sorted(prices.values())
    assert sorted(ascending) == sorted(prices) and pages == 3
    descending, _ = every_page(client, category=shop["id"], sort="price_desc", limit=2)
    assert [prices[t] for t in descending] == sorted(prices.values(), reverse=True)
    assert sorted(descending) == sorted(prices)


def test_relevance_puts_title_matches_first_and_pages(client, seller, listed_item, word):
    listed_item(seller, title="In the description", description=f"A {word} somewhere.")
    listed_item(seller, title=f"{word} in the title")
    listed_item(seller, title=f"{word} {word} twice in the title")

    found, pages = every_page(client, q=word, sort="relevance", limit=1)
    assert found[-1] == "In the description"
    assert sorted(found[:2]) == sorted([f"{word} in the title", f"{word} {word} twice in the title"])
    assert pages == 3


def test_relevance_ranks_only_the_newest_window_of_matches(client, seller, listed_item, word, monkeypatch):
    monkeypatch.setattr(search_module, "RELEVANCE_WINDOW", 2)
    listed_item(seller, title=f"{word} oldest, best match", description=f"{word} {word}")
    listed_item(seller, title="Newer", description=f"A {word}.")
    listed_item(seller, title="Newest", description=f"A {word} again.")

    ranked, _ = every_page(client, q=word, sort="relevance", limit=1)
    assert sorted(ranked) == ["Newer", "Newest"]
    everything, _ = every_page(client, q=word, sort="newest", limit=1)
    assert everything == ["Newest", "Newer", f"{word} oldest, best match"]


def test_relevance_needs_a_query(client):
    response = client.get(f"{API}/items", query_string={"sort": "relevance"})
    assert response.status_code == 422
    assert "sort" in response.json["errors"]


def test_removed_items_are_never_found(client, seller, listed_item, word):
    item = listed_item(seller, title=f"Chair {word}")
    client.delete(f"{API}/items/{item['id']}", headers=seller.headers)
    assert titles(client, q=word) == []
    assert titles(client, seller=str(seller.user_id)) == []


def test_a_banned_sellers_items_are_not_found_until_the_ban_is_lifted(client, seller, listed_item, ban, unban, word):
    listed_item(seller, title=f"Chair {word}")
    ban(seller)
    assert titles(client, q=word) == []
    unban(seller)
    assert titles(client, q=word) == [f"Chair {word}"]


@pytest.mark.parametrize("who_blocks", ["viewer", "seller"])
def test_items_of_a_seller_either_side_blocked_are_hidden_from_the_viewer_only(client, new_user, seller,
                                                                               listed_item, block, unblock, word,
                                                                               who_blocks):
    viewer, bystander = new_user(), new_user()
    listed_item(seller, title=f"Chair {word}")
    blocker, blocked = (viewer, seller) if who_blocks == "viewer" else (seller, viewer)
    block(blocker, blocked)

    assert titles(client, viewer, q=word) == []
    assert titles(client, viewer, seller=str(seller.user_id)) == []
    assert titles(client, bystander, q=word) == [f"Chair {word}"]
    assert titles(client, q=word) == [f"Chair {word}"]  # anonymous

    unblock(blocker, blocked)
    assert titles(client, viewer, q=word) == [f"Chair {word}"]


def test_a_seller_finds_their_own_items(client, seller, listed_item, word):
    listed_item(seller, title=f"Chair {word}")
    assert titles(client, seller, q=word) == [f"Chair {word}"]


def test_an_invalid_token_is_refused_rather_than_searching_anonymously(client):
    response = client.get(f"{API}/items", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("query, field", [
    ({"limit": 0}, "limit"),
    ({"limit": 201}, "limit"),
    ({"sort": "cheapest"}, "sort"),
    ({"min_price": -1}, "min_price"),
    ({"max_price": "ten"}, "max_price"),
    ({"currency": "eur"}, "currency"),
    ({"condition": "mint"}, "condition"),
    ({"available": "maybe"}, "available"),
    ({"category": "garden"}, "category"),
    ({"seller": "someone"}, "seller"),
    ({"q": ""}, "q"),
    ({"q": "x" * 201}, "q"),
    ({"cursor": "not a cursor"}, "cursor"),
    ({"cursor": "WyJub3QtYS1kYXRlIiwibm90LWFuLWlkIl0"}, "cursor"),  # ["not-a-date","not-an-id"]
])
def test_a_search_with_bad_input_is_refused_naming_the_field(client, query, field):
    response = client.get(f"{API}/items", query_string=query)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


def test_a_query_of_stop_words_or_signs_only_finds_nothing_rather_than_failing(client):
    assert search(client, q="the and of")["items"] == []
    assert search(client, q="!!! & | :*")["items"] == []
