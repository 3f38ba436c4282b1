"""flask-smorest's Blueprint and Api as every service uses them, and the problem schema.

- Errors are documented as they are sent: `application/problem+json` with `ProblemSchema`
  (every 4xx/5xx `alt_response`, the default error and the 422 of invalid arguments).
- One guard for all input parsed by `@blp.arguments` (JSON, query, form, files,
  headers): a NUL character or an unpaired UTF-16 surrogate (JSON's "\ud800") anywhere
  is a 422 naming the field (PostgreSQL cannot store either, UTF-8 cannot even encode
  the second, and no legitimate text contains them), a time whose UTC offset PostgreSQL
  cannot store (16 hours or more; Python allows up to 24) is a 422 naming the field,
  and JSON nested too deeply to parse is a 400, like any other unreadable body.
"""
from __future__ import annotations

import datetime as dt
import functools
import http
import json
import re
from collections.abc import Mapping
from typing import Any

import flask_smorest
import marshmallow as ma
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields
from webargs.core import is_json
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import UnsupportedMediaType

from servicekit import tokens
from servicekit.problems import PROBLEM_JSON, handle_http_exception

NUL = "\x00"
NUL_MESSAGE = "must not contain a NUL character or an unpaired surrogate"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and surrogates (in a str, only unpaired ones exist)
# How a response that carries Retry-After documents it: `alt_response(503, ..., headers=RETRY_AFTER)`.
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "required": True,
                               "schema": {"type": "integer", "minimum": 0}}}
# How an operation that the gateway holds to a few requests a minute per address (gateway/nginx.conf's
# `auth_strict`: sign-in, registration, password reset) documents the gateway's 429:
# `alt_response(429, description=GATEWAY_THROTTLED, headers=RETRY_AFTER)`.
GATEWAY_THROTTLED = "Too many requests from this address (the gateway's limit); retry after Retry-After"
MAX_UTC_OFFSET = dt.timedelta(hours=16)  # exclusive: PostgreSQL refuses a displacement of 16 hours or more
OFFSET_MESSAGE = "must have a UTC offset between -15:59 and +15:59"


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    errors = fields.Dict()


class ArgumentsParser(FlaskParser):
    """webargs' Flask parser with the input guards every service needs."""

    def _raw_load_json(self, req) -> Any:
        # webargs reads a body of another type as no body at all: an endpoint whose fields are all optional
        # would then act on a form or text as on `{}` (and answer 2xx, having ignored what was sent).
        if not is_json(req.mimetype) and req.get_data(cache=True):
            raise UnsupportedMediaType("The body must be JSON, sent as Content-Type: application/json.")
        try:
            return super()._raw_load_json(req)
        except RecursionError:  # a body like [[[[…]]]] 100,000 levels deep
            self._handle_invalid_json_error(json.JSONDecodeError("nested too deeply", "", 0), req)

    def pre_load(self, location_data, *, schema, req, location):
        refused = _fields_unstorable(location_data)
        if refused:
            raise ma.ValidationError({name: [NUL_MESSAGE] for name in refused})
        return location_data

    def parse(self, argmap, req=None, *, validate=None, **kwargs):
        """As webargs' parse, and the loaded arguments hold no time PostgreSQL cannot store."""
        schema = argmap() if isinstance(argmap, type) and issubclass(argmap, Schema) else argmap
        validators = list(validate) if isinstance(validate, (list, tuple)) else [validate] if validate else []
        validators.append(functools.partial(_refuse_unstorable_offsets, schema=schema))
        return super().parse(schema, req, validate=validators, **kwargs)


def _fields_unstorable(data: Any) -> list[str]:
    """The top-level names under which a NUL or a lone surrogate hides (in a key, a value or a file name)."""
    data = getattr(data, "data", data)  # webargs' MultiDictProxy wraps the request's MultiDict
    if isinstance(data, MultiDict):
        items = data.items(multi=True)
    elif isinstance(data, Mapping):
        items = data.items()
    elif isinstance(data, list):
        return ["_schema"] if any(_contains_unstorable(item) for item in data) else []
    else:
        return ["_schema"] if _contains_unstorable(data) else []
    return sorted({str(key).replace(NUL, "\\0") for key, value in items if _contains_unstorable(key) or _contains_unstorable(value)})


def _contains_unstorable(value: Any) -> bool:
    # Iterative: the JSON may be as deep as the parser allowed.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, FileStorage):
            pending.append(item.filename or "")
    return False


def _refuse_unstorable_offsets(data: Any, *, schema: Any) -> None:
    """A 422 naming each top-level field under which a datetime has a UTC offset of 16 hours or more."""
    if not isinstance(data, Mapping):
        data = {"_schema": data}
    names = {name: field.data_key or name for name, field in schema.fields.items()} if isinstance(schema, Schema) else {}
    refused = sorted(names.get(key, key) for key, value in data.items() if _has_unstorable_offset(value))
    if refused:
        raise ma.ValidationError({name: [OFFSET_MESSAGE] for name in refused})


def _has_unstorable_offset(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dt.datetime):
            offset = item.utcoffset()
            if offset is not None and abs(offset) >= MAX_UTC_OFFSET:
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return False


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint: auth decorators that document the bearer requirement, errors
    documented as problem+json, and the guarded arguments parser.

    A blueprint is named after its module and has no url_prefix: the app mounts every
    blueprint at /api/<service>, and routes give the resource's path.
    """

    ARGUMENTS_PARSER = ArgumentsParser()

    def arguments(self, schema, *, location="json", **kwargs):
        """As flask-smorest's; where a JSON body is read, the 400 of one that cannot be read and the 415 of one
        sent as another type are documented (flask-smorest documents only the 422 of one that can be read but
        is invalid)."""
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse
        unreadable = self.alt_response(400, description="The body is not JSON, or is nested too deeply to read")
        other_type = self.alt_response(415, description="A body that is not sent as application/json")
        return lambda view: other_type(unreadable(parse(view)))

    def alt_response(self, status_code, *, schema=None, content_type=None, **kwargs):
        """As flask-smorest's; an error status is documented as a problem+json `ProblemSchema`."""
        if _is_error(status_code) and kwargs.get("response") is None:
            schema = schema or ProblemSchema
            content_type = content_type or PROBLEM_JSON
        return super().alt_response(status_code, schema=schema, content_type=content_type, **kwargs)

    def login_required(self, view):
        """The caller must present a valid access token (401 otherwise)."""
        documented = self.doc(security=[{"bearerAuth": []}])(view)
        return self.alt_response(401, description="Not signed in")(tokens.login_required(documented))

    def staff_required(self, view):
        """The caller must be signed in with the staff role (401/403 otherwise)."""
        documented = self.doc(security=[{"bearerAuth": []}])(view)
        return self.alt_response(403, description="Staff only")(
            self.alt_response(401, description="Not signed in")(tokens.staff_required(documented)))


def _is_error(status_code) -> bool:
    try:
        return int(status_code) >= 400
    except (TypeError, ValueError):
        return status_code == "default"


class Api(flask_smorest.Api):
    """flask-smorest's Api with errors answered and documented as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return handle_http_exception(error)

    def _register_responses(self):
        """flask-smorest's shared responses (one per status, and the default error), as problem+json."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


# --- serving stored image renditions (social's avatars, the marketplace's item images) -----------------

# The bytes behind a rendition's id never change (a new upload is a new id), so caches may keep them a year.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
# Served bytes are our own re-encoded WebP, but a browser told to render nothing but the image is safe whatever.
IMAGE_CSP = "default-src 'none'"


def _required_header(description: str) -> dict:
    return {"description": description, "required": True, "schema": {"type": "string"}}


RENDITION_RESPONSE = {200: {
    "description": "The rendition, WebP.",
    "content": {"image/webp": {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        "Cache-Control": _required_header(IMMUTABLE_CACHE),
        "ETag": _required_header("The rendition's entity tag (If-None-Match gets a 304)."),
        "X-Content-Type-Options": _required_header("nosniff"),
        "Content-Disposition": _required_header("inline"),
        "Content-Security-Policy": _required_header(IMAGE_CSP),
    }}}
"""The OpenAPI responses of a rendition route: `@blp.doc(responses=RENDITION_RESPONSE)`."""


def rendition_response(data: bytes, content_type: str, etag: str):
    """A stored image rendition as served: immutable caching, an ETag (a 304 for If-None-Match), nosniff,
    inline, a CSP that lets nothing run."""
    from flask import Response, request

    response = Response(data, mimetype=content_type)
    response.set_etag(etag)
    response.headers["Cache-Control"] = IMMUTABLE_CACHE
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    response.headers["Content-Security-Policy"] = IMAGE_CSP
    return response.make_conditional(request)
