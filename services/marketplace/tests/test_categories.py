"""Categories: a tree staff maintain, listed publicly."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from servicekit.testing import wait_until

from marketplace.categories import TREE_LOCK
from marketplace.models import Category

API = "/api/marketplace"


def create(client, staff, **body):
    return client.post(f"{API}/admin/categories", headers=staff.headers, json=body)


def listed(client) -> dict[str, dict]:
    response = client.get(f"{API}/categories")
    assert response.status_code == 200
    return {category["id"]: category for category in response.json}


def test_anyone_lists_the_tree_depth_first_each_category_after_its_parent(client, category):
    suffix = uuid.uuid4().hex[:6]
    home = category(f"Home {suffix}")
    garden = category(f"Garden {suffix}", parent=home)
    chairs = category(f"Chairs {suffix}", parent=home)
    garden_chairs = category(f"Outdoor {suffix}", parent=garden)

    order = [c["id"] for c in client.get(f"{API}/categories").json]  # no sign-in
    mine = [c for c in order if c in {home["id"], garden["id"], chairs["id"], garden_chairs["id"]}]
    assert mine == [home["id"], chairs["id"], garden["id"], garden_chairs["id"]]
    categories = listed(client)
    assert (categories[home["id"]]["parent_id"], categories[home["id"]]["depth"]) == (None, 0)
    assert (categories[garden_chairs["id"]]["parent_id"], categories[garden_chairs["id"]]["depth"]) == (garden["id"], 2)


def test_staff_create_a_category_with_a_unique_slug(client, staff):
    slug = f"toys-{uuid.uuid4().hex[:6]}"
    created = create(client, staff, name="  Toys  ", slug=slug)
    assert created.status_code == 201
    assert (created.json["name"], created.json["slug"], created.json["parent_id"], created.json["depth"]) == \
        ("Toys", slug, None, 0)

    again = create(client, staff, name="Other toys", slug=slug)
    assert again.status_code == 409
    assert "slug" in again.json["errors"]


@pytest.mark.parametrize("body, field", [
    ({"name": "", "slug": "empty-name"}, "name"),
    ({"name": "Two\nlines", "slug": "two-lines"}, "name"),
    ({"name": "x" * 81, "slug": "long-name"}, "name"),
    ({"name": "Upper", "slug": "Upper-Case"}, "slug"),
    ({"name": "Spaces", "slug": "with space"}, "slug"),
    ({"name": "Hyphens", "slug": "-edge-"}, "slug"),
    ({"name": "Hyphens", "slug": "double--hyphen"}, "slug"),
    ({"name": "Orphan", "slug": "orphan", "parent_id": str(uuid.uuid4())}, "parent_id"),
    ({"slug": "no-name"}, "name"),
])
def test_a_category_with_bad_input_is_refused_naming_the_field(client, staff, body, field):
    response = create(client, staff, **body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


def test_only_staff_maintain_categories(client, new_user, category):
    user = new_user(verified=True)
    existing = category()
    assert client.post(f"{API}/admin/categories", json={"name": "X", "slug": "x"}).status_code == 401
    assert create(client, user, name="Mine", slug=f"mine-{uuid.uuid4().hex[:6]}").status_code == 403
    assert client.patch(f"{API}/admin/categories/{existing['id']}", headers=user.headers,
                        json={"name": "Mine"}).status_code == 403
    assert client.delete(f"{API}/admin/categories/{existing['id']}", headers=user.headers).status_code == 403


def test_staff_rename_and_move_a_category_with_its_sub_categories(client, staff, category):
    home, garden = category(), category()
    tools = category(parent=garden)
    spades = category(parent=tools)

    moved = client.patch(f"{API}/admin/categories/{tools['id']}", headers=staff.headers,
                         json={"name": "Tools", "parent_id": home["id"]})
    assert moved.status_code == 200
    assert (moved.json["name"], moved.json["parent_id"], moved.json["depth"]) == ("Tools", home["id"], 1)
    assert listed(client)[spades["id"]]["depth"] == 2

    to_top = client.patch(f"{API}/admin/categories/{tools['id']}", headers=staff.headers, json={"parent_id": None})
    assert (to_top.json["parent_id"], to_top.json["depth"]) == (None, 0)
    assert listed(client)[spades["id"]]["depth"] == 1


def test_a_category_cannot_be_moved_under_itself_or_its_descendants(client, staff, category):
    top = category()
    middle = category(parent=top)
    bottom = category(parent=middle)
    for new_parent in (top, middle, bottom):
        response = client.patch(f"{API}/admin/categories/{top['id']}", headers=staff.headers,
                                json={"parent_id": new_parent["id"]})
        assert response.status_code == 422
        assert "parent_id" in response.json["errors"]
    assert listed(client)[top["id"]]["parent_id"] is None


def test_a_slug_taken_by_another_category_is_refused_on_change(client, staff, category):
    one, other = category(), category()
    response = client.patch(f"{API}/admin/categories/{one['id']}", headers=staff.headers,
                            json={"slug": other["slug"]})
    assert response.status_code == 409
    same = client.patch(f"{API}/admin/categories/{one['id']}", headers=staff.headers, json={"slug": one["slug"]})
    assert same.status_code == 200


def test_an_unknown_category_is_404_to_staff(client, staff):
    unknown = uuid.uuid4()
    assert client.patch(f"{API}/admin/categories/{unknown}", headers=staff.headers,
                        json={"name": "X"}).status_code == 404
    assert client.delete(f"{API}/admin/categories/{unknown}", headers=staff.headers).status_code == 404


def test_staff_delete_an_empty_category(client, staff, category):
    empty = category()
    assert client.delete(f"{API}/admin/categories/{empty['id']}", headers=staff.headers).status_code == 204
    assert empty["id"] not in listed(client)


def test_a_category_with_sub_categories_is_not_deleted(client, staff, category):
    parent = category()
    category(parent=parent)
    response = client.delete(f"{API}/admin/categories/{parent['id']}", headers=staff.headers)
    assert response.status_code == 409
    assert parent["id"] in listed(client)


def test_a_category_with_items_is_not_deleted_even_removed_ones(client, staff, category, listed_item, seller):
    chairs = category()
    item = listed_item(seller, category_id=chairs["id"])
    assert client.delete(f"{API}/items/{item['id']}", headers=seller.headers).status_code == 204

    response = client.delete(f"{API}/admin/categories/{chairs['id']}", headers=staff.headers)
    assert response.status_code == 409
    assert chairs["id"] in listed(client)


def test_a_move_waits_for_a_concurrent_one_and_then_refuses_the_cycle_they_would_make(app, database, staff,
                                                                                     category):
    one, other = category(), category()
    with database.session() as concurrent:  # a move of `one` under `other`, not yet committed
        concurrent.execute(sa.select(sa.func.pg_advisory_xact_lock(TREE_LOCK)))
        concurrent.execute(sa.update(Category).where(Category.id == one["id"]).values(parent_id=other["id"]))
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(lambda: app.test_client().patch(
                f"{API}/admin/categories/{other['id']}", headers=staff.headers, json={"parent_id": one["id"]}))
            wait_until(lambda: waiting_for_the_tree(database), timeout=10, message="the second move to wait")
            concurrent.commit()
            response = answer.result(timeout=10)
    assert response.status_code == 422
    assert "parent_id" in response.json["errors"]
    categories = listed(app.test_client())
    assert (categories[one["id"]]["parent_id"], categories[other["id"]]["parent_id"]) == (other["id"], None)


def waiting_for_the_tree(database) -> bool:
    with database.session() as session:
        return session.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                                      "AND database = (SELECT oid FROM pg_database WHERE datname = "
                                      "current_database())")) > 0
