"""The one way to page a list: keyset pagination with an opaque cursor.

A list endpoint takes `PageArgs` (or a subclass adding filters) as its query,
calls `keyset_page` from its domain function, and answers with `page_of(ItemSchema)`:

    class NoteQuery(PageArgs):
        author = fields.UUID(load_default=None)

    @blp.arguments(NoteQuery, location="query")
    @blp.response(200, page_of(NoteSchema))
    def get(self, query): ...

    def list_notes(session, *, author, limit, cursor):
        query = select(Note).where(...)
        return keyset_page(session, query, keys=[Note.created_at, Note.id], descending=True,
                           limit=limit, cursor=cursor)

The cursor is the sort-key values of the last item of a page, as base64url (no
padding) of a JSON array. Clients must treat it as opaque. Nothing in it is trusted:
a cursor that does not decode, or whose values do not fit the key columns, is a 422
with `errors.cursor`, never a database error.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session

from servicekit.errors import Invalid
from servicekit.storable import storable_moment, storable_text

NOT_A_CURSOR = "Not a valid cursor."
MAX_CURSOR_CHARS = 512  # far more than any key needs; bounds the work spent on a forged one
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_JSON_SCALARS = (str, int, float, bool)
_INT64 = 2**63


class Cursor(fields.String):
    """An opaque page cursor: the sort-key values of the last item of a page.

    Serialises a tuple or list of datetimes (timezone-aware), UUIDs, ints and strings;
    deserialises to the list of JSON scalars it holds (`keyset_page` types them).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"description": "The next_cursor of the previous page (opaque)."})
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        raw = json.dumps([_jsonable(item) for item in value], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list:
        if not isinstance(value, str) or len(value) > MAX_CURSOR_CHARS or not _BASE64URL.fullmatch(value):
            raise ValidationError(NOT_A_CURSOR)
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            values = json.loads(raw, parse_constant=_refuse_constant)
        except (binascii.Error, ValueError, RecursionError):
            raise ValidationError(NOT_A_CURSOR) from None
        if not isinstance(values, list) or not values or not all(isinstance(v, _JSON_SCALARS) for v in values):
            raise ValidationError(NOT_A_CURSOR)
        return values


def _jsonable(value: Any) -> str | int:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("cursor datetimes must be timezone-aware")
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    raise TypeError(f"a cursor cannot hold a {type(value).__name__}")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a cursor value")  # json.loads would otherwise accept NaN and Infinity


class PageArgs(Schema):
    """The query of a list: `limit` and `cursor`. Subclass it to add filters."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200),
                           metadata={"description": "Items per page (1 to 200)."})
    cursor = Cursor(load_default=None)


class PageSchema(Schema):
    """A page of a list: `items` and the cursor of the next page (null on the last page)."""

    next_cursor = Cursor(dump_only=True, allow_none=True, metadata={
        "description": "Pass as `cursor` to get the next page; null on the last page."})


@functools.cache
def page_of(item_schema: type[Schema]) -> type[PageSchema]:
    """The page schema of `item_schema`: `FooSchema` gives `FooPageSchema` (OpenAPI component `FooPage`).

    One class per item schema (the same one on every call), so each gets its own
    OpenAPI component; item schemas of lists must therefore have distinct class names.
    """
    name = f"{item_schema.__name__.removesuffix('Schema')}PageSchema"
    return type(name, (PageSchema,), {
        "__module__": item_schema.__module__,
        "__qualname__": name,
        "__doc__": f"A page of {item_schema.__name__.removesuffix('Schema')} items.",
        "items": fields.Nested(item_schema, many=True, dump_only=True),
    })


def keyset_page(session: Session, query: sa.Select, *, keys: Sequence[Any], descending: bool, limit: int,
                cursor: list | None) -> dict[str, Any]:
    """One page of `query` ordered by `keys`, starting after `cursor`: {"items": ..., "next_cursor": ...}.

    `keys` are columns (or ORM attributes) that together are unique, e.g. (created_at, id);
    all are sorted ascending, or all descending. `query` must not be ordered or limited.
    A select of one ORM entity (`select(Model)`) gives the entities; any other select
    gives its rows, which must carry the key columns under their `.key` names.
    `next_cursor` is the key values of the last item, or None on the last page.
    A cursor whose values do not fit `keys` is `Invalid` (422 with `errors.cursor`).
    """
    python_types = [_supported_type(key) for key in keys]
    if cursor is not None:
        values = _typed(python_types, cursor)
        position = sa.tuple_(*keys)
        after = sa.tuple_(*(sa.literal(value, type_=key.type) for key, value in zip(keys, values)))
        query = query.where(position < after if descending else position > after)
    query = query.order_by(*(key.desc() if descending else key.asc() for key in keys)).limit(limit + 1)
    result = session.execute(query)
    rows = list(result.scalars() if _selects_one_entity(query) else result)
    items = rows[:limit]
    more = len(rows) > limit
    return {"items": items, "next_cursor": tuple(getattr(items[-1], key.key) for key in keys) if more else None}


def _selects_one_entity(query: sa.Select) -> bool:
    descriptions = query.column_descriptions
    if len(descriptions) != 1:
        return False
    inspected = sa.inspect(descriptions[0]["expr"], raiseerr=False)
    return bool(getattr(inspected, "is_mapper", False) or getattr(inspected, "is_aliased_class", False))


def _supported_type(key: Any) -> type:
    python_type = key.type.python_type
    if python_type not in (dt.datetime, uuid.UUID, int, str):
        raise TypeError(f"keyset_page cannot page by {key.key!r}, a {python_type.__name__}")
    return python_type


def _typed(python_types: list[type], cursor: list) -> list[Any]:
    """The cursor's values as the keys' Python types; `Invalid` if they do not fit."""
    if len(cursor) != len(python_types):
        raise _bad_cursor()
    return [_as_type(value, python_type) for python_type, value in zip(python_types, cursor)]


def _as_type(value: Any, python_type: type) -> Any:
    if python_type is dt.datetime and isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _bad_cursor() from None
        if moment.tzinfo is None or not storable_moment(moment):
            raise _bad_cursor()
        return moment
    if python_type is uuid.UUID and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            raise _bad_cursor() from None
    if python_type is int and isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64:
        return value
    if python_type is str and isinstance(value, str) and storable_text(value):
        return value
    raise _bad_cursor()


def _bad_cursor() -> Invalid:
    return Invalid("bad cursor", errors={"cursor": [NOT_A_CURSOR]})
