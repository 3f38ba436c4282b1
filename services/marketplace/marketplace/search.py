"""Item search: full text on title and description, filters, four orders, a page at a time.

`q` is read by PostgreSQL's `websearch_to_tsquery('english', q)` (words, "quoted phrases", `or`, `-word`;
stemmed, so "chairs" finds "chair") and matched against `Item.search`, the weighted title (A) and
description (B) vector, on its GIN index. Filters: a category with all its sub-categories, a price range
(minor units, compared as numbers: give `currency` too to compare like with like), currency, condition,
seller, and `available` (only items with units one can buy now; otherwise sold and reserved ones are found
too, with their status).

Never found: removed items, banned sellers' items, and, for a signed-in viewer, the items of sellers who
blocked the viewer or whom the viewer blocked (an anonymous search sees every other item).

Orders, each a keyset (servicekit.pagination) on an index: newest (created_at, id, descending),
price_asc / price_desc (price_minor, id); these stop reading at the page's end. With `q`, relevance ranks
the newest RELEVANCE_WINDOW matches (ts_rank of the weighted vector as an integer, rank x 10^9 so that it can
be a cursor key, then id), best first, and ends there: ranking every match of a word found in most of 100k
items would cost tens of milliseconds per page, the window costs the same whatever the word. All matches
stay reachable in the other orders.
"""
from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.errors import Invalid
from servicekit.pagination import keyset_page
from sqlalchemy.orm import Session

from marketplace import categories, items, read_models
from marketplace.models import Item, User

SORTS = ("newest", "price_asc", "price_desc", "relevance")
QUERY_MAX_CHARS = 200
RANK_SCALE = 1_000_000_000
RELEVANCE_WINDOW = 1000  # relevance ranks at most this many matches, the newest
# A literal, not a bound value: the partial indexes' predicate (status <> 'removed') must be provable
# from the query's own text for the planner to use them, prepared statement or not.
NOT_REMOVED = sa.text("items.status <> 'removed'")
ENGLISH = sa.literal_column("'english'")  # the text search configuration Item.search is made with


def search_items(session: Session, viewer_id: uuid.UUID | None, *, q: str | None = None,
                 category: uuid.UUID | None = None, min_price: int | None = None, max_price: int | None = None,
                 currency: str | None = None, condition: str | None = None, seller: uuid.UUID | None = None,
                 available: bool = False, sort: str = "newest", limit: int, cursor: list | None) -> dict[str, Any]:
    """A page of the items `viewer_id` (None: anonymous) finds, in `sort` order."""
    if sort == "relevance" and not q:
        raise Invalid("relevance needs a query", errors={"sort": ["relevance orders the matches of q: give q."]})
    query = items.summary_query().where(NOT_REMOVED, sa.or_(User.banned.is_(None), ~User.banned))
    if viewer_id is not None:
        query = query.where(read_models.no_block_between(viewer_id, Item.seller_id))
    tsquery = sa.func.websearch_to_tsquery(ENGLISH, q) if q else None
    if tsquery is not None:
        query = query.where(Item.search.bool_op("@@")(tsquery))
    if category is not None:
        # The subtree's ids as values, not a subquery: the planner then knows from the column's statistics
        # how many items they hold, and picks the category index for a small one rather than walking every
        # item newest first to find its few.
        subtree = session.scalars(sa.select(categories.subtree(category).c.id)).all()
        query = query.where(Item.category_id.in_(subtree))
    query = _filtered(query, min_price=min_price, max_price=max_price, currency=currency, condition=condition,
                      seller=seller, available=available)
    if sort == "relevance":
        window = (query.with_only_columns(Item.id).order_by(Item.created_at.desc(), Item.id.desc())
                  .limit(RELEVANCE_WINDOW).scalar_subquery())
        rank = sa.cast(sa.func.ts_rank(Item.search, tsquery) * RANK_SCALE, sa.BigInteger).label("rank")
        ranked = items.summary_query().where(Item.id.in_(window)).add_columns(rank)
        return keyset_page(session, ranked, keys=[rank, Item.id], descending=True, limit=limit, cursor=cursor)
    keys = [Item.created_at, Item.id] if sort == "newest" else [Item.price_minor, Item.id]
    return keyset_page(session, query, keys=keys, descending=sort != "price_asc", limit=limit, cursor=cursor)


def _filtered(query: sa.Select, *, min_price, max_price, currency, condition, seller, available) -> sa.Select:
    if min_price is not None:
        query = query.where(Item.price_minor >= min_price)
    if max_price is not None:
        query = query.where(Item.price_minor <= max_price)
    if currency is not None:
        query = query.where(Item.currency == currency)
    if condition is not None:
        query = query.where(Item.condition == condition)
    if seller is not None:
        query = query.where(Item.seller_id == seller)
    if available:
        query = query.where(Item.status == "available")
    return query
