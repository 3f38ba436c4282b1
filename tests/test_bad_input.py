"""Bad input and guessing, through the gateway: what no client should send gets a 4xx problem, never a
500, an HTML page or a success; guessing passwords and codes is throttled by the gateway (per address)
and by auth (per account, whatever the address).

The operations come from each service's OpenAPI document, so a new endpoint is covered the day it is
added. Each is called as a signed-in user (staff for `/admin/` ones), every request from its own
loopback address: the gateway's strict limit on auth's sign-in paths counts per address, and these
tests are about what the services answer, not about that limit (the tests of guessing are).
tests/test_gateway.py has the gateway's own refusals (request lines, headers, methods, a body over
1 MB to one path); here they are extended to every service.
"""
from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pyotp
import pytest
from servicekit.testing import wait_until

SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")
ONE_MEGABYTE = 1024 * 1024
UPLOAD_LIMIT = 10 * ONE_MEGABYTE  # the gateway's client_max_body_size on upload paths
# auth's defaults (services/auth/auth/config.py and login.py, password_reset.py), which the native stack keeps.
LOGIN_LOCKOUT_AFTER = 10      # counted failures on an account within the window before it is locked
MFA_MAX_FAILED_ATTEMPTS = 5   # wrong codes before a sign-in step is used up
MAX_RESET_CODE_ATTEMPTS = 5   # wrong codes before a password reset is dead


# --- what an answer is ---------------------------------------------------------------------

REFUSED = "a 4xx problem"
SERVED = "a 2xx JSON answer"


def answer(response) -> str:
    """REFUSED or SERVED, when the response is either; else a description of what came instead."""
    content_type = response.headers.get("Content-Type", "")
    try:
        body = response.json()
    except ValueError:
        body = None
    if 400 <= response.status_code < 500 and content_type.startswith("application/problem+json") \
            and isinstance(body, dict) and body.get("status") == response.status_code \
            and body.get("type") and body.get("title") and body.get("detail"):
        return REFUSED
    if 200 <= response.status_code < 300 and (response.status_code == 204 or content_type.startswith("application/json")):
        return SERVED
    return f"{response.status_code} {content_type}: {response.text[:160]!r}"


def assert_only(answers: dict[tuple, str], *allowed: str) -> None:
    """Every answer is one of `allowed`; the message lists each that is not (operation, case: what came)."""
    unexpected = {key: got for key, got in answers.items() if got not in allowed}
    assert not unexpected, f"{len(unexpected)} of {len(answers)} answers were not {' or '.join(allowed)}:\n" + "\n".join(
        f"  {' / '.join(key)}: {got}" for key, got in unexpected.items())


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["type"] and body["title"] and body["detail"]
    return body


# --- the operations, from the OpenAPI documents ---------------------------------------------------

@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str                 # as documented: /api/<service>/things/{thing_id}
    parameters: tuple[dict, ...]
    json_schema: dict | None  # of the JSON request body, if it takes one
    document: dict

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def for_staff(self) -> bool:
        return "/admin/" in self.path

    @property
    def is_upload(self) -> bool:
        return self.method in ("POST", "PUT") and "multipart/form-data" in self.content_types

    @property
    def content_types(self) -> tuple[str, ...]:
        return tuple(self.document["paths"][self.path][self.method.lower()].get("requestBody", {}).get("content", {}))

    def params(self, where: str) -> list[dict]:
        return [parameter for parameter in self.parameters if parameter["in"] == where]

    def url(self, **path_values: str) -> str:
        """The path with an example for each path parameter, or the raw (already encoded) value given."""
        url = self.path
        for parameter in self.params("path"):
            value = path_values.get(parameter["name"])
            url = url.replace("{%s}" % parameter["name"], value if value is not None else quote(
                str(example_of(self.document, parameter["schema"])), safe=""))
        return url

    def with_query(self, name: str, raw_value: str) -> str:
        """The url with one query parameter set to a raw (already encoded) value, and examples of the
        other required ones, so the value under test is what the service has to judge."""
        query = {parameter["name"]: quote(str(example_of(self.document, parameter["schema"])), safe="")
                 for parameter in self.params("query") if parameter.get("required")}
        query[name] = raw_value
        return f"{self.url()}?" + "&".join(f"{key}={value}" for key, value in query.items())

    def example_body(self) -> dict:
        return example_of(self.document, self.json_schema)

    def required_headers(self) -> dict[str, str]:
        return {parameter["name"]: str(uuid.uuid4()) for parameter in self.params("header") if parameter.get("required")}


def resolved(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


# Values that match the patterns the documents use (an example is taken first where one is given).
PATTERN_EXAMPLES = {"^[a-z0-9_.]{3,32}$": "someone", r"^\+[1-9][0-9]{6,14}$": "+41791234567",
                    "^[0-9a-f]{64}$": "0" * 64, "^[A-Z]{3}$": "EUR"}
FORMAT_EXAMPLES = {"date-time": "2024-01-01T00:00:00+00:00", "email": "someone@example.test", "ip": "192.0.2.1"}


def example_of(document: dict, schema: dict) -> Any:
    """A value of the schema's shape: what a careless but well-meaning client would send."""
    schema = resolved(document, schema)
    if "example" in schema:
        return schema["example"]
    if schema.get("enum"):
        return next(value for value in schema["enum"] if value is not None)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: example_of(document, field) for name, field in schema.get("properties", {}).items()
                if resolved(document, field).get("format") != "binary"}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if schema.get("format") in FORMAT_EXAMPLES:
        return FORMAT_EXAMPLES[schema["format"]]
    if schema.get("pattern") in PATTERN_EXAMPLES:
        return PATTERN_EXAMPLES[schema["pattern"]]
    return "x" * max(schema.get("minLength", 1), 1)


def operations_of(document: dict, service: str) -> list[Operation]:
    operations = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            operations.append(Operation(
                service, method.upper(), path, tuple(operation.get("parameters", []) + item.get("parameters", [])),
                resolved(document, body["schema"]) if body else None, document))
    return operations


# --- callers: accounts shared by the module, a new address per request ----------------------------

@pytest.fixture(scope="module")
def made_once() -> dict[str, Any]:
    """What the module's tests share, made by the first test that needs it (a registration costs a
    proof of work, a staff account a CLI run)."""
    return {}


@pytest.fixture
def user_headers(made_once, new_account) -> dict[str, str]:
    """A signed-in user's headers, once social has its profile (made from auth's event): a request that
    gets past validation then reaches the user's own data, not a 404 for a user social does not know."""
    if "user" not in made_once:
        account = new_account()
        account.sign_in()
        wait_until(lambda: account.client.get("/api/social/profiles/me", headers=account.headers).status_code == 200,
                   timeout=30, interval=0.1, message="social to know the user")
        made_once["user"] = account.headers
    return made_once["user"]


@pytest.fixture
def staff_headers(made_once, request) -> dict[str, str]:
    if "staff" not in made_once:
        made_once["staff"] = request.getfixturevalue("staff")[1]
    return made_once["staff"]


@pytest.fixture
def call(new_client, user_headers, staff_headers) -> Callable[..., Any]:
    """`call(operation, url=None, headers=None, **request)`: the response to the operation, as the caller it
    is for, from a new address; `headers` are added to the caller's."""
    def send(operation: Operation, url: str | None = None, headers: dict[str, str | None] | None = None,
             **request: Any):
        caller = staff_headers if operation.for_staff else user_headers
        with new_client() as client:
            return client.request(operation.method, url or operation.url(),
                                  headers={**caller, **operation.required_headers(), **(headers or {})}, **request)
    return send


@pytest.fixture
def operations(gateway) -> Callable[[str], list[Operation]]:
    """`operations(service)`: every operation its OpenAPI document describes."""
    def of(service: str) -> list[Operation]:
        response = gateway.get(f"/api/{service}/openapi.json")
        assert response.status_code == 200, response.text
        return operations_of(response.json(), service)
    return of


def json_operations(operations, service: str) -> list[Operation]:
    return [operation for operation in operations(service) if operation.json_schema is not None]


# --- bodies that are not a JSON object ------------------------------------------------------------

NOT_AN_OBJECT = {
    "malformed JSON": b'{"name": ',
    "JSON with a trailing comma": b'{"name": "x",}',
    "an array": b"[]",
    "a number": b"42",
    "a string": b'"x"',
    "null": b"null",
    "NaN": b"NaN",
    "arrays nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "objects nested 100,000 deep": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "bytes that are not UTF-8": b'{"name": "\xff\xfe"}',
}


@pytest.mark.parametrize("service", [service for service in SERVICES if service != "ledger"])  # it takes no JSON
def test_a_json_body_that_is_not_a_json_object_is_a_4xx_problem(service, operations, call):
    answers = {(str(operation), case): answer(call(operation, data=body, headers={"Content-Type": "application/json"}))
               for operation in json_operations(operations, service)
               for case, body in {**NOT_AN_OBJECT, "an array of the right object":
                                  json.dumps([operation.example_body()]).encode()}.items()}

    assert_only(answers, REFUSED)


@pytest.mark.parametrize("service", [service for service in SERVICES if service != "ledger"])
def test_a_json_endpoint_refuses_a_body_of_another_content_type(service, operations, call):
    def bodies(operation: Operation) -> dict[str, tuple[bytes, dict[str, str | None]]]:
        example = operation.example_body()
        as_json = json.dumps(example).encode()
        as_form = "&".join(f"{quote(name)}={quote(value if isinstance(value, str) else json.dumps(value))}"
                           for name, value in example.items()).encode()
        return {
            "JSON sent as text/plain": (as_json, {"Content-Type": "text/plain"}),
            "a form": (as_form or b"name=x", {"Content-Type": "application/x-www-form-urlencoded"}),
            "multipart form data": (b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
                                    {"Content-Type": "multipart/form-data; boundary=b"}),
            "JSON without a Content-Type": (as_json, {"Content-Type": None}),  # None: requests sends none
        }

    answers = {(str(operation), case): answer(call(operation, data=body, headers=headers))
               for operation in json_operations(operations, service)
               for case, (body, headers) in bodies(operation).items()}

    assert_only(answers, REFUSED)


# --- absurd values in the fields of a JSON body ----------------------------------------------------

ABSURD_VALUES = {
    "a 100,000-character string": json.dumps("x" * 100_000),
    "a NUL character": json.dumps("a\x00b"),
    "a lone surrogate": json.dumps("\ud800"),
    "an integer of 400 digits": str(10**400),
    "a negative integer of 400 digits": str(-10**400),
    "NaN": "NaN",
    "Infinity": "Infinity",
    "a number beyond a double": "1e400",
    "an object nested 500 deep": '{"a":' * 500 + "1" + "}" * 500,
    "a list of 10,000 strings": json.dumps(["x"] * 10_000),
}


def with_field(example: dict, name: str, raw_value: str) -> bytes:
    """The example body as JSON with one field's value replaced by raw JSON text (NaN included)."""
    marker = f"__absurd_{uuid.uuid4().hex}__"
    return json.dumps({**example, name: marker}).replace(json.dumps(marker), raw_value).encode()


@pytest.mark.parametrize("service", [service for service in SERVICES if service != "ledger"])
def test_an_absurd_value_in_any_field_is_a_4xx_problem(service, operations, call):
    answers = {}
    for operation in json_operations(operations, service):
        example = operation.example_body()
        for field in operation.json_schema.get("properties", {}):
            for case, value in ABSURD_VALUES.items():
                response = call(operation, data=with_field(example, field, value),
                                headers={"Content-Type": "application/json"})
                answers[(str(operation), field, case)] = answer(response)

    assert answers, "no JSON body has fields"
    assert_only(answers, REFUSED)


# --- bodies too large --------------------------------------------------------------------------

def a_body_operation(operations, service: str) -> Operation:
    """The service's first operation that takes a body and is no upload (the ledger's audit takes none, but
    the gateway's limit is on whatever is sent)."""
    return next(operation for operation in operations(service)
                if operation.method in ("POST", "PUT", "PATCH") and not operation.is_upload)


@pytest.mark.parametrize("service", SERVICES)
def test_a_body_over_one_megabyte_is_a_413_problem_from_the_gateway(service, operations, call):
    operation = a_body_operation(operations, service)
    oversized = b"[" + b"1," * (ONE_MEGABYTE // 2) + b"1]"

    response = call(operation, data=oversized, headers={"Content-Type": "application/json"})

    assert assert_problem(response, 413)["type"] == "urn:beyou:problem:payload-too-large"


@pytest.mark.parametrize("service", SERVICES)
def test_a_chunked_body_over_one_megabyte_is_a_413_problem_too(service, operations, call):
    operation = a_body_operation(operations, service)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the gateway counts as it reads
        for _ in range(17):
            yield b" " * (64 * 1024)

    response = call(operation, data=chunks(), headers={"Content-Type": "application/json"})

    assert_problem(response, 413)


@pytest.mark.parametrize("service", [service for service in SERVICES if service != "ledger"])  # no uploads
def test_an_upload_over_ten_megabytes_is_a_413_problem(service, operations, call):
    uploads = [operation for operation in operations(service) if operation.is_upload]
    assert uploads

    responses = {str(operation): call(operation, data=b"x" * (UPLOAD_LIMIT + 1),
                                      headers={"Content-Type": "multipart/form-data; boundary=b"})
                 for operation in uploads}

    assert {path: (response.status_code, answer(response)) for path, response in responses.items()} == dict.fromkeys(
        responses, (413, REFUSED))


# --- paths and queries ---------------------------------------------------------------------------

# Raw (percent-encoded where needed) values no path parameter accepts, by the parameter's kind.
BAD_PATH_VALUES = {
    "uuid": {"not a UUID": "not-a-uuid", "a number": "1", "a UUID with a g": "00000000-0000-0000-0000-00000000000g",
             "a lone surrogate": "%ED%A0%80", "2,000 characters": "a" * 2000, "SQL": "%27%20OR%20%271%27%3D%271",
             "a NUL": "%00", "a way up": "..%2F..%2F..%2Fetc%2Fpasswd"},
    "integer": {"negative": "-1", "not a number": "abc", "of 30 digits": str(10**30), "a lone surrogate": "%ED%A0%80",
                "a NUL": "%00"},
    "string": {"2,000 characters": "a" * 2000, "a lone surrogate": "%ED%A0%80", "a NUL": "%00",
               "a way up": "..%2F..%2F..%2Fetc%2Fpasswd"},
}


def kind_of(parameter: dict) -> str:
    schema = parameter.get("schema", {})
    return "uuid" if schema.get("format") == "uuid" else "integer" if schema.get("type") == "integer" else "string"


def json_kwargs(operation: Operation) -> dict[str, Any]:
    return {"json": operation.example_body()} if operation.json_schema is not None else {}


@pytest.mark.parametrize("service", SERVICES)
def test_an_invalid_id_in_a_path_is_a_4xx_problem(service, operations, call):
    answers = {}
    for operation in operations(service):
        for parameter in operation.params("path"):
            for case, value in BAD_PATH_VALUES[kind_of(parameter)].items():
                response = call(operation, url=operation.url(**{parameter["name"]: value}), **json_kwargs(operation))
                answers[(str(operation), parameter["name"], case)] = answer(response)

    assert_only(answers, REFUSED)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_of(*values: Any) -> str:
    return b64url(json.dumps(list(values)).encode())


# A cursor no list can take: it does not decode, holds no list of scalars, or holds what no key is.
UNUSABLE_CURSORS = {
    "not base64url": "not a cursor!",
    "base64url of no JSON": b64url(b"not json"),
    "an object": b64url(b"{}"),
    "an empty list": cursor_of(),
    "a list of lists": cursor_of([1], [2]),
    "nulls": cursor_of(None, None),
    "NaN": b64url(b"[NaN, NaN]"),
    "a number beyond a double": b64url(b"[1e400, 1e400]"),
    "600 characters": "A" * 600,
    **{f"{n} lone surrogates": b64url(json.dumps(["\ud800"] * n).encode()) for n in (1, 2, 3)},
    **{f"{n} integers of 30 digits": cursor_of(*[10**30] * n) for n in (1, 2, 3)},
}
# A cursor some list could take (a string key takes any text): never a 500 either way.
ODD_CURSORS = {
    "a time 20 hours east of UTC and an id": cursor_of("2024-01-01T00:00:00+20:00", str(uuid.uuid4())),
    "a time 20 hours east of UTC": cursor_of("2024-01-01T00:00:00+20:00"),
    "the first day of the calendar, east of UTC, and an id": cursor_of("0001-01-01T00:00:00+15:00", str(uuid.uuid4())),
    "a number and an id": cursor_of(5, str(uuid.uuid4())),
    "two strings": cursor_of("a", "b"),
}


def bad_query_values(parameter: dict) -> dict[str, str]:
    """Raw values the parameter must refuse, by its schema."""
    schema = parameter.get("schema", {})
    values = {"a NUL": "%00"}
    if parameter["name"] == "cursor":
        values.update(UNUSABLE_CURSORS)
    elif schema.get("format") == "uuid":
        values.update({"not a UUID": "not-a-uuid", "a UUID with a g": "00000000-0000-0000-0000-00000000000g"})
    elif schema.get("type") == "integer":
        values.update({"not a number": "abc", "a fraction": "1.5", "NaN": "NaN", "of 30 digits": str(10**30)})
        if "minimum" in schema:
            values["below the minimum"] = str(schema["minimum"] - 1)
        if "maximum" in schema:
            values["above the maximum"] = str(schema["maximum"] + 1)
    elif schema.get("format") == "date-time":
        values.update({"the 45th of the 13th month": "2024-13-45T00:00:00Z",
                       "23 hours east of UTC": quote("2024-01-01T00:00:00+23:00"), "year 10000": "10000-01-01T00:00:00Z"})
    elif schema.get("type") == "boolean":
        values["neither true nor false"] = "maybe"
    elif [value for value in schema.get("enum", []) if value is not None]:
        values["none of the choices"] = "none-of-them"
    return values


def odd_query_values(parameter: dict) -> dict[str, str]:
    """Raw values the parameter may take or refuse, but that must not break it."""
    values = {"3,000 characters": "a" * 3000, "a lone surrogate": "%ED%A0%80", "Latin-1, not UTF-8": "%E9",
              "empty": ""}
    if parameter["name"] == "cursor":
        values.update(ODD_CURSORS)
    return values


def queried(operations, service: str) -> Iterator[tuple[Operation, dict]]:
    for operation in operations(service):
        if operation.path.endswith("/stream"):  # the live stream answers a valid request by staying open
            continue
        for parameter in operation.params("query"):
            yield operation, parameter


@pytest.mark.parametrize("service", SERVICES)
def test_an_invalid_query_value_is_a_4xx_problem(service, operations, call):
    answers = {(str(operation), parameter["name"], case): answer(call(
                   operation, url=operation.with_query(parameter["name"], value), **json_kwargs(operation)))
               for operation, parameter in queried(operations, service)
               for case, value in bad_query_values(parameter).items()}

    assert answers, "no query parameters"
    assert_only(answers, REFUSED)


@pytest.mark.parametrize("service", SERVICES)
def test_an_odd_query_value_is_served_or_refused_but_never_breaks_anything(service, operations, call):
    answers = {(str(operation), parameter["name"], case): answer(call(
                   operation, url=operation.with_query(parameter["name"], value), **json_kwargs(operation)))
               for operation, parameter in queried(operations, service)
               for case, value in odd_query_values(parameter).items()}

    assert_only(answers, REFUSED, SERVED)


@pytest.mark.parametrize("service", SERVICES)
def test_a_request_line_the_gateway_accepts_is_answered_in_json_by_the_service(service, call, operations):
    # Up to 8 KB passes the gateway (beyond, tests/test_gateway.py: a 414 problem); whatever the service
    # makes of it, the client gets JSON, never a server's HTML page.
    operation = next(operation for operation in operations(service) if operation.path.endswith("/healthz"))
    answers = {length: answer(call(operation, url=f"{operation.path}?padding={'a' * length}"))
               for length in (3_000, 5_000, 7_500)}

    assert answers == dict.fromkeys(answers, SERVED)


@pytest.mark.parametrize("service", SERVICES)
def test_many_small_headers_are_answered_in_json_by_the_service(service, call, operations):
    operation = next(operation for operation in operations(service) if operation.path.endswith("/healthz"))

    response = call(operation, headers={f"X-Padding-{n}": "x" for n in range(150)})

    assert answer(response) == SERVED


# --- guessing: the gateway's limit per address ------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/api/auth/login/2fa",
    "/api/auth/password-reset",
    f"/api/auth/password-reset/{uuid.uuid4()}/verify",
    f"/api/auth/password-reset/{uuid.uuid4()}/confirm",
])
def test_one_address_guessing_codes_gets_429_problems_on_every_sign_in_path(new_client, path):
    attacker, bystander = new_client(), new_client()

    for _ in range(60):  # the strict zone lets a short burst through, then refuses
        response = attacker.post(path, json={})
        if response.status_code == 429:
            break

    body = assert_problem(response, 429)
    assert body["type"] == "urn:beyou:problem:too-many-requests"
    assert response.headers["Retry-After"]
    # One budget for all the sign-in paths: switching to another is no way around it.
    assert attacker.post("/api/auth/login", json={}).status_code == 429
    assert bystander.post(path, json={}).status_code != 429


# --- guessing: auth's limits per account, from many addresses ---------------------------------------

def sign_in_attempt(new_client, username: str, password: str):
    return new_client().post("/api/auth/login", json={"username": username, "password": password})


class LoginActivity:
    """The login activity of one account, as staff see it."""

    def __init__(self, staff, username: str) -> None:
        self.client, self.headers = staff
        self.username = username

    def reasons(self) -> list[str | None]:
        """Failure reasons of the account's attempts, newest first (None: a success)."""
        page = self.client.get("/api/auth/admin/login-activity", headers=self.headers,
                               params={"username": self.username, "limit": 200})
        assert page.status_code == 200, page.text
        return [attempt["failure_reason"] for attempt in page.json()["items"]]

    def count(self, reason: str) -> int:
        return self.reasons().count(reason)


def guess_until_counted(new_client, activity: LoginActivity, failures: int) -> None:
    """Guess a wrong password from a new address each time until `failures` wrong guesses are on record:
    a guess too soon after the last failure is refused unchecked (throttled) and counts for nothing."""
    def counted() -> bool:
        assert sign_in_attempt(new_client, activity.username, "not-the-password").status_code == 401
        return activity.count("bad_password") >= failures
    wait_until(counted, timeout=30, interval=0.2, message=f"{failures} wrong passwords on record")


def test_wrong_passwords_from_many_addresses_slow_down_then_lock_the_account(new_account, new_client, staff):
    account = new_account()
    activity = LoginActivity(staff, account.username)
    wrong = sign_in_attempt(new_client, account.username, "not-the-password")
    guess_until_counted(new_client, activity, LOGIN_LOCKOUT_AFTER - 1)

    # Right after a failure the account waits a while (1.4 s after nine): the right password is refused unchecked.
    too_soon = sign_in_attempt(new_client, account.username, account.details["password"])
    assert activity.reasons()[0] == "throttled"
    guess_until_counted(new_client, activity, LOGIN_LOCKOUT_AFTER)
    # Locked: the right password, from an address never seen, is refused as a wrong one is.
    locked = sign_in_attempt(new_client, account.username, account.details["password"])

    assert activity.reasons()[0] == "locked"
    for refused in (too_soon, locked):
        assert (refused.status_code, refused.json()["type"]) == (wrong.status_code, wrong.json()["type"]) == (
            401, "urn:beyou:problem:invalid-credentials")


@dataclass
class TwoFactorAccount:
    username: str
    password: str
    recovery_codes: list[str]


@pytest.fixture
def two_factor_account(new_account) -> TwoFactorAccount:
    """A new account with 2FA on (its recovery codes are right codes no time step has used)."""
    account = new_account()
    account.sign_in()
    setup = account.client.post("/api/auth/2fa/setup", headers=account.headers,
                                json={"password": account.details["password"]})
    assert setup.status_code == 200, setup.text
    confirmed = account.client.post("/api/auth/2fa/confirm", headers=account.headers,
                                    json={"code": pyotp.TOTP(setup.json()["secret"]).now()})
    assert confirmed.status_code == 200, confirmed.text
    return TwoFactorAccount(account.username, account.details["password"], confirmed.json()["recovery_codes"])


WRONG_CODE = "AAAAA-AAAAA"  # shaped like a recovery code, and none (they are random)


def sign_in_step(new_client, account: TwoFactorAccount) -> str:
    """The MFA token of a password sign-in, once auth lets the password be checked (failures throttle it)."""
    def password_accepted() -> str | None:
        response = sign_in_attempt(new_client, account.username, account.password)
        return response.json()["mfa_token"] if response.status_code == 200 else None
    return wait_until(password_accepted, timeout=30, interval=0.3, message="the password step to be checked")


def second_factor(new_client, mfa_token: str, code: str):
    return new_client().post("/api/auth/login/2fa", json={"mfa_token": mfa_token, "code": code})


def test_a_sign_in_step_is_used_up_by_five_wrong_codes_even_for_the_right_one(two_factor_account, new_client):
    step = sign_in_step(new_client, two_factor_account)
    for _ in range(MFA_MAX_FAILED_ATTEMPTS):
        assert_problem(second_factor(new_client, step, WRONG_CODE), 401)

    assert_problem(second_factor(new_client, step, two_factor_account.recovery_codes[0]), 401)
    # A new step takes the same code: the refusal above was the used-up step's.
    next_step = sign_in_step(new_client, two_factor_account)
    assert second_factor(new_client, next_step, two_factor_account.recovery_codes[0]).status_code == 200


def test_wrong_codes_over_several_sign_in_steps_lock_the_account(two_factor_account, new_client, staff):
    activity = LoginActivity(staff, two_factor_account.username)
    wrong_codes = 0
    while wrong_codes < LOGIN_LOCKOUT_AFTER:
        step = sign_in_step(new_client, two_factor_account)
        for _ in range(MFA_MAX_FAILED_ATTEMPTS):
            assert_problem(second_factor(new_client, step, WRONG_CODE), 401)
            wrong_codes += 1
    assert activity.count("bad_2fa_code") == LOGIN_LOCKOUT_AFTER

    refused = sign_in_attempt(new_client, two_factor_account.username, two_factor_account.password)

    assert assert_problem(refused, 401)["type"] == "urn:beyou:problem:invalid-credentials"
    assert activity.reasons()[0] == "locked"


def start_reset(new_client, username: str):
    return new_client().post("/api/auth/password-reset", json={"username_or_email": username})


def verify_reset(new_client, reset_id: str, code: str):
    return new_client().post(f"/api/auth/password-reset/{reset_id}/verify", json={"code": code})


def test_a_password_reset_dies_after_five_wrong_codes_even_for_the_right_one(two_factor_account, new_client):
    started = start_reset(new_client, two_factor_account.username)
    assert started.status_code == 202, started.text
    reset_id = started.json()["reset_id"]
    for _ in range(MAX_RESET_CODE_ATTEMPTS):
        assert_problem(verify_reset(new_client, reset_id, WRONG_CODE), 422)

    assert_problem(verify_reset(new_client, reset_id, two_factor_account.recovery_codes[0]), 410)


def test_password_reset_attempts_on_one_account_are_throttled_whatever_the_address(new_account, new_client):
    account = new_account()
    attempts = 0

    def attempted(response, status: int):
        nonlocal attempts
        attempts += 1
        assert response.status_code == status, response.text
        return response

    while attempts < LOGIN_LOCKOUT_AFTER:  # every start and every code counts, each from another address
        reset_id = attempted(start_reset(new_client, account.username), 202).json()["reset_id"]
        for _ in range(min(MAX_RESET_CODE_ATTEMPTS, LOGIN_LOCKOUT_AFTER - attempts)):
            attempted(verify_reset(new_client, reset_id, "00000000-not-the-code"), 422)

    refused_code = verify_reset(new_client, reset_id, "00000000-not-the-code")
    refused_start = start_reset(new_client, account.username)

    for refused in (refused_code, refused_start):
        assert_problem(refused, 429)
        assert int(refused.headers["Retry-After"]) > 0
