"""What the event-contract tests need: example payloads built from a producer's schema, the check that
a consumer's schema loads them, and validation of AsyncAPI documents against the official JSON Schema.

    example_payload(UserRegistered)              # every field, with a value of its type (JSON form)
    example_payload(UserRegistered, sparse=True) # required fields only, null wherever null is allowed
    refusals(UserRegistered, ProfileStubSchema)  # [] if the consumer loads both; else one line per field
    asyncapi_errors(document)                    # [] if the document is valid AsyncAPI 3.0.0

`refusals` tries both examples, so it finds a field the consumer needs that the
producer dropped, renamed, made optional or nullable, or sends with another type.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from marshmallow import Schema, fields, validate

# The pinned copy of @asyncapi/specs' schema (see its README): servicekit/tests/data beside this package.
ASYNCAPI_SCHEMA = Path(__file__).resolve().parents[2] / "tests" / "data" / "asyncapi-3.0.0.schema.json"

EXAMPLE_TIME = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def example_payload(schema: type[Schema] | Schema, *, sparse: bool = False) -> dict[str, Any]:
    """A payload in its JSON form that `schema` declares: every field with a value, or (`sparse`) only the
    required fields, with null wherever the field allows it."""
    instance = schema() if isinstance(schema, type) else schema
    payload: dict[str, Any] = {}
    for name, field in instance.load_fields.items():
        if sparse and not field.required:
            continue
        key = field.data_key or name
        payload[key] = None if sparse and field.allow_none else _example(field, key, sparse)
    return payload


def refusals(producer: type[Schema], consumer: type[Schema]) -> list[str]:
    """How `consumer` refuses payloads `producer` declares: "field: message (example)" lines, none if it loads them."""
    found = []
    for label, sparse in (("every field", False), ("required fields only, nulls where allowed", True)):
        errors = consumer().validate(example_payload(producer, sparse=sparse))
        found += [f"{path}: {message} ({label})" for path, message in _flatten(errors)]
    return found


def asyncapi_errors(document: Mapping[str, Any]) -> list[str]:
    """Where `document` breaks the AsyncAPI 3.0.0 JSON Schema: "path: message" lines, none if it is valid."""
    # The schema is mostly oneOf(Reference, Object): the most relevant of each error's causes says what is wrong.
    causes = (jsonschema.exceptions.best_match([error]) for error in _asyncapi_validator().iter_errors(document))
    return sorted(f"{cause.json_path}: {cause.message}" for cause in causes)


@cache
def _asyncapi_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    return jsonschema.Draft7Validator(schema)


def _flatten(errors: Mapping[Any, Any], prefix: str = "") -> list[tuple[str, str]]:
    flat = []
    for key, value in errors.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat += _flatten(value, f"{path}.")
        else:
            flat += [(path, message) for message in value]
    return flat


def _example(field: fields.Field, name: str, sparse: bool) -> Any:
    """A JSON value `field` loads: its declared `metadata={"example": ...}` (a pattern needs one), else one
    made for its type. A field type without an example fails loudly: add one here."""
    if "example" in field.metadata:
        return field.metadata["example"]
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return next(iter(validator.choices))
        if isinstance(validator, validate.Equal):
            return validator.comparable
    for kind in type(field).__mro__:
        if kind in _MAKERS:
            return _MAKERS[kind](field, name, sparse)
    raise TypeError(f"no example for {type(field).__name__} (field {name!r}): add one to {__name__}")


def _string(field: fields.String, name: str, _sparse: bool) -> str:
    minimum = next((v.min for v in field.validators if isinstance(v, validate.Length) and v.min), 0)
    return f"example {name}".ljust(minimum, "x")


def _number(field: fields.Number, _name: str, _sparse: bool) -> int | float:
    minimum = next((v.min for v in field.validators if isinstance(v, validate.Range) and v.min is not None), None)
    if isinstance(field, fields.Integer):
        return 1 if minimum is None else int(minimum)
    return 1.5 if minimum is None else float(minimum)


def _nested(field: fields.Nested, _name: str, sparse: bool) -> Any:
    example = example_payload(field.schema, sparse=sparse)
    return [example] if field.many else example


def _pluck(field: fields.Pluck, name: str, sparse: bool) -> Any:
    inner = field.schema.fields[field.field_name]
    example = _example(inner, name, sparse)
    return [example] if field.many else example


def _dict(field: fields.Dict, name: str, sparse: bool) -> dict[str, Any]:
    key = _example(field.key_field, name, sparse) if field.key_field else "key"
    return {key: _example(field.value_field, name, sparse) if field.value_field else "value"}


def _enum(field: fields.Enum, _name: str, _sparse: bool) -> Any:
    member = next(iter(field.enum))
    return member.value if field.by_value else member.name


_MAKERS = {
    fields.UUID: lambda _f, name, _s: str(uuid.uuid5(uuid.NAMESPACE_URL, f"example:{name}")),
    fields.Email: lambda _f, _n, _s: "someone@example.org",
    fields.Url: lambda _f, _n, _s: "https://example.org/",
    fields.IPv6: lambda _f, _n, _s: "2001:db8::1",
    fields.IP: lambda _f, _n, _s: "192.0.2.1",
    fields.String: _string,
    fields.NaiveDateTime: lambda _f, _n, _s: EXAMPLE_TIME.replace(tzinfo=None).isoformat(),
    fields.DateTime: lambda _f, _n, _s: EXAMPLE_TIME.isoformat(),
    fields.Date: lambda _f, _n, _s: EXAMPLE_TIME.date().isoformat(),
    fields.Time: lambda _f, _n, _s: EXAMPLE_TIME.time().isoformat(),
    fields.TimeDelta: lambda _f, _n, _s: 60,
    fields.Boolean: lambda _f, _n, _s: True,
    fields.Integer: _number,
    fields.Number: _number,
    fields.Nested: _nested,
    fields.Pluck: _pluck,
    fields.List: lambda f, name, sparse: [_example(f.inner, name, sparse)],
    fields.Tuple: lambda f, name, sparse: [_example(inner, name, sparse) for inner in f.tuple_fields],
    fields.Dict: _dict,
    fields.Enum: _enum,
    fields.Constant: lambda f, _n, _s: f.constant,
    fields.Raw: lambda _f, name, _s: f"example {name}",
}
