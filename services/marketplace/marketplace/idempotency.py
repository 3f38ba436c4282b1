"""Idempotency keys: a retried unsafe request gets the first answer instead of doing the work again.

Checkout and pay require an `Idempotency-Key`. The key is the client's, per user and operation ("checkout",
"pay:<order id>"). A command that did something (an order placed, a payment attempted, whatever its outcome)
remembers its answer under the key in the same transaction as the work, so the work and the answer are on record
together or not at all. A repeat with the same key and the same request gets that answer again (same status,
same body); with another request it is a 422. A request refused before anything happened (invalid input, a
missing order, a state conflict) leaves nothing on record: its repeat is judged afresh.

Two requests with the same key at the same moment run one after the other: the first takes a transaction-scoped
advisory lock on the key, the second waits for it and then finds the first's answer.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.errors import DomainError, Invalid
from sqlalchemy.orm import Session

from marketplace.models import IdempotentRequest

HEADER = "Idempotency-Key"
KEY_MAX_CHARS = 255


@dataclasses.dataclass(frozen=True)
class Answer:
    """An answer as sent: its status and its JSON body (a problem's body without its per-request fields)."""

    status: int
    body: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Request:
    """Who asked what: the user, the operation, the client's key and a fingerprint of the request."""

    user_id: uuid.UUID
    operation: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, user_id: uuid.UUID, operation: str, key: str, content: Any) -> Request:
        """`content` is what makes two requests the same (JSON-able; never a card number: see checkout.pay_order)."""
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        return cls(user_id, operation, key, hashlib.sha256(canonical.encode()).hexdigest())


def first_answer(session: Session, request: Request) -> Answer | None:
    """The answer already given under this key, or None (the caller does the work, then `remember`s).

    Holds the key's advisory lock until the caller's transaction ends. `Invalid` when the key was used for
    another request.
    """
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_id(request))))
    earlier = session.get(IdempotentRequest, (request.user_id, request.operation, request.key))
    if earlier is None:
        return None
    if earlier.request_hash != request.fingerprint:
        raise Invalid("this Idempotency-Key was used for another request", errors={
            HEADER: ["Already used for a different request; use a new key for a new request."]})
    return Answer(earlier.status_code, earlier.response)


def remember(session: Session, request: Request, answer: Answer) -> Answer:
    """Keep `answer` as the key's (in the caller's transaction, which commits it with the work)."""
    session.add(IdempotentRequest(user_id=request.user_id, operation=request.operation, key=request.key,
                                  request_hash=request.fingerprint, status_code=answer.status,
                                  response=answer.body))
    return answer


def problem(error: DomainError) -> Answer:
    """A refusal's answer, to remember before raising it: what the problem+json body says of every request."""
    body: dict[str, Any] = {"type": f"urn:beyou:problem:{error.code}", "title": error.title,
                            "status": error.status, "detail": error.detail}
    if error.errors:
        body["errors"] = error.errors
    return Answer(error.status, body)


def replayed(answer: Answer) -> Answer:
    """The remembered answer again: returned if it was a success, raised (the same problem) if it was not."""
    if answer.status < 400:
        return answer
    body = answer.body
    error = DomainError(body["detail"], errors=body.get("errors"))
    error.status, error.code, error.title = body["status"], body["type"].rpartition(":")[2], body["title"]
    raise error


def _lock_id(request: Request) -> int:
    digest = hashlib.sha256(f"{request.user_id}/{request.operation}/{request.key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
