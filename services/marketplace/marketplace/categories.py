"""Categories: a tree staff maintain; every item is in one, and search by a category includes its descendants.

Changes to the tree run one at a time (a transaction-scoped advisory lock): two moves that are each fine
alone could otherwise make a cycle together (A under B while B goes under A), and a slug checked free
could be taken meanwhile. A category is deleted only while it has no sub-category and no item (sold and
removed items too: orders keep them, and they keep their category).
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from servicekit.errors import Conflict, Invalid, NotFound
from sqlalchemy.orm import Session

from marketplace.models import Category, Item

TREE_LOCK = 7_301_522_018  # pg_advisory_xact_lock key of the category tree (any fixed number of this service's)
NO_SUCH_CATEGORY = "no such category"


def list_categories(session: Session) -> list[dict[str, Any]]:
    """The whole tree, depth first: each category right after its parent, siblings by name, with its depth
    (0 for a top-level category)."""
    categories = session.scalars(sa.select(Category).order_by(sa.func.lower(Category.name), Category.id)).all()
    children: dict[uuid.UUID | None, list[Category]] = defaultdict(list)
    for category in categories:
        children[category.parent_id].append(category)
    listed: list[dict[str, Any]] = []
    pending = [(category, 0) for category in reversed(children[None])]
    while pending:
        category, depth = pending.pop()
        listed.append(_view(category, depth))
        pending.extend((child, depth + 1) for child in reversed(children[category.id]))
    return listed


def create_category(session: Session, *, name: str, slug: str, parent_id: uuid.UUID | None) -> dict[str, Any]:
    """A new category, at the top or under `parent_id`; `Conflict` if the slug is taken."""
    _lock_tree(session)
    if parent_id is not None and session.get(Category, parent_id) is None:
        raise Invalid("no such parent category", errors={"parent_id": ["No such category."]})
    _refuse_taken_slug(session, slug)
    category = Category(id=uuid.uuid4(), name=name, slug=slug, parent_id=parent_id)
    session.add(category)
    session.commit()
    return _view(category, _depth(session, category))


def update_category(session: Session, category_id: uuid.UUID, changes: dict[str, Any]) -> dict[str, Any]:
    """Rename, re-slug or move a category (with its sub-categories); a move under itself or one of its
    descendants is `Invalid`."""
    _lock_tree(session)
    category = session.get(Category, category_id, populate_existing=True)
    if category is None:
        raise NotFound(NO_SUCH_CATEGORY)
    if "slug" in changes and changes["slug"] != category.slug:
        _refuse_taken_slug(session, changes["slug"])
    if changes.get("parent_id") is not None:
        _refuse_as_parent(session, category_id, changes["parent_id"])
    for name in ("name", "slug", "parent_id"):
        if name in changes:
            setattr(category, name, changes[name])
    session.commit()
    return _view(category, _depth(session, category))


def delete_category(session: Session, category_id: uuid.UUID) -> None:
    """Delete a category that has no sub-category and no item (`Conflict` otherwise)."""
    _lock_tree(session)
    # Locked: an item being listed in it holds it (key share) until committed, so it is seen below.
    category = session.get(Category, category_id, with_for_update=True)
    if category is None:
        raise NotFound(NO_SUCH_CATEGORY)
    if session.scalar(sa.select(sa.exists().where(Category.parent_id == category_id))):
        raise Conflict("the category has sub-categories; move or delete them first")
    if session.scalar(sa.select(sa.exists().where(Item.category_id == category_id))):
        raise Conflict("the category has items (sold or removed ones count: orders keep them)")
    session.delete(category)
    session.commit()


def subtree(category_id: uuid.UUID) -> sa.CTE:
    """The ids (column `id`) of the category and all its descendants, as a recursive CTE."""
    tree = sa.select(Category.id).where(Category.id == category_id).cte("subtree", recursive=True)
    children = sa.select(Category.id).join(tree, Category.parent_id == tree.c.id)
    return tree.union_all(children)


def _refuse_as_parent(session: Session, category_id: uuid.UUID, parent_id: uuid.UUID) -> None:
    if session.get(Category, parent_id) is None:
        raise Invalid("no such parent category", errors={"parent_id": ["No such category."]})
    tree = subtree(category_id)
    if session.scalar(sa.select(sa.exists().where(tree.c.id == parent_id))):
        message = "A category cannot be moved under itself or one of its sub-categories."
        raise Invalid(message, errors={"parent_id": [message]})


def _refuse_taken_slug(session: Session, slug: str) -> None:
    if session.scalar(sa.select(sa.exists().where(Category.slug == slug))):
        raise Conflict("this slug is taken", errors={"slug": ["Another category has this slug."]})


def _depth(session: Session, category: Category) -> int:
    """How many ancestors the category has (a tree is a few levels deep)."""
    depth, parent_id = 0, category.parent_id
    while parent_id is not None:
        depth += 1
        parent_id = session.get(Category, parent_id).parent_id
    return depth


def _lock_tree(session: Session) -> None:
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(TREE_LOCK)))


def _view(category: Category, depth: int) -> dict[str, Any]:
    return {"id": category.id, "name": category.name, "slug": category.slug, "parent_id": category.parent_id,
            "depth": depth, "created_at": category.created_at}
