"""Does a service answer as its OpenAPI document says? schemathesis sends generated requests and checks.

For every operation of the document (loaded from the app in-process), requests generated
from its parameters and body are sent without a valid token and, where the operation needs
one, with the caller's token. Every answer must conform: no 5xx, a documented status, the
documented content type (errors are application/problem+json), a body that fits the
documented schema, and the documented headers. An operation that needs a token must refuse
a request without one with its documented 401.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import hypothesis
import schemathesis
from flask import Flask
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)


def status_documented_by_the_operation(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                                       case: schemathesis.Case) -> None:
    """The status is one the operation documents itself, not only through the `default` error.

    flask-smorest gives every operation a `default` error response (for what any operation may
    answer: 503 while the database is away, 405, 413), and schemathesis' status_code_conformance
    accepts any status where `default` is documented; this check does not.
    """
    documented = set(case.operation.definition.raw.get("responses", {})) - {"default"}
    status = response.status_code
    if str(status) not in documented and f"{status // 100}XX" not in documented:
        raise AssertionError(f"Undocumented status {status}: the operation documents {', '.join(sorted(documented))}")


CONFORMANCE_CHECKS = [not_a_server_error, status_code_conformance, status_documented_by_the_operation,
                      content_type_conformance, response_schema_conformance, response_headers_conformance]
# Enough to reach the documented answers of a thin route (success, 404, 409, 422) while a whole
# document stays within seconds. Without a token every request gets the same 401, so fewer do.
EXAMPLES = 8
EXAMPLES_WITHOUT_A_TOKEN = 2


def nonconforming_answers(app: Flask, service: str, caller_headers: Mapping[str, str], *,
                          session_ending: Collection[str] = ()) -> list[str]:
    """A report of each operation (and caller) whose answers do not conform, or [] if all do.

    `session_ending` are operation labels ("POST /api/<service>/logout") not tried with the
    caller's token, because one such call would sign out the caller every other operation uses.
    """
    schema = schemathesis.openapi.from_wsgi(f"/api/{service}/openapi.json", app)
    reports = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.definition.raw.get("security"):
            reports += _failures(operation, "", EXAMPLES, _conforms)
            continue
        reports += _failures(operation, "without a valid token", EXAMPLES_WITHOUT_A_TOKEN, _is_refused)
        if operation.label in session_ending:
            continue
        reports += _failures(operation, "with the caller's token", EXAMPLES,
                             lambda case: _is_accepted(case, caller_headers))
        whoami = app.test_client().get(f"/api/{service}/whoami", headers=dict(caller_headers))
        if whoami.status_code != 200:
            reports.append(f"{operation.label} signed the caller out ({whoami.json}), so nothing after it was "
                           "tried: declare it as ending the caller's session")
            break
    return reports


def _conforms(case: schemathesis.Case, **kwargs) -> schemathesis.Response:
    if _streams_events(case.operation):  # an event stream never ends by itself: read a second of it
        kwargs.setdefault("timeout", 1.0)
    return case.call_and_validate(checks=CONFORMANCE_CHECKS, **kwargs)


def _streams_events(operation: schemathesis.APIOperation) -> bool:
    ok = operation.definition.raw.get("responses", {}).get("200", {})
    return "text/event-stream" in ok.get("content", {})


def _is_accepted(case: schemathesis.Case, caller_headers: Mapping[str, str]) -> None:
    response = _conforms(case, headers=dict(caller_headers))
    assert response.status_code != 401, \
        f"refused the caller's token: {response.text}\n\n    {case.as_curl_command()}"


def _is_refused(case: schemathesis.Case) -> None:
    response = _conforms(case)
    assert response.status_code == 401, \
        f"answered {response.status_code} without a valid token:\n\n    {case.as_curl_command()}"


def _failures(operation: schemathesis.APIOperation, caller: str, examples: int,
              send: Callable[[schemathesis.Case], object]) -> list[str]:
    """The first generated request whose answer fails a check, as a report; [] if every answer passed.

    The same requests every run (derandomized), so a failure reproduces; not shrunk, since
    schemathesis reports the request as a curl command and the answer it got.
    """
    @hypothesis.settings(max_examples=examples, deadline=None, database=None, derandomize=True, print_blob=False,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        send(case)

    try:
        run()
    except (FailureGroup, Exception) as failure:  # noqa: BLE001 - failed checks or an error while sending: reported
        return [" ".join(filter(None, [operation.label, caller])) + f":\n{failure}"]
    return []
