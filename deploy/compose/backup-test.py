"""The data side of the backup test (#12), run by deploy/compose/backup-test.sh against the stack it brought up.

    backup-test.py make  --gateway URL --state FILE   before the backup: two users (proof of work), friends, a
                                                     direct conversation with a message the ledger has recorded,
                                                     and an identity document uploaded for verification; what
                                                     was made is written to FILE
    backup-test.py check --gateway URL --state FILE   after the restore into a fresh stack: both users log in,
                                                     the message is in the conversation and in the ledger, the
                                                     document reads back byte for byte (it lives in the
                                                     auth-data volume, encrypted), and the ledger's full audit,
                                                     asked for by staff made the operator's way, is clean

Exits 1 on the first failed check, saying which.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path

# faults.py's clients of the gateway and compose commands: addresses, setup calls with a 429's back-off, the proof
# of work, users, pairs of friends, staff made with `flask --app auth create-staff`.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import Gateway, Pair, Stack, User, befriend_and_converse, call, new_details, register, solve  # noqa: E402

# The smallest PNG header auth accepts as an identity document, and bytes that make it this run's own.
DOCUMENT = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
RETRIED = (502, 503, 504)


def make(gateway: Gateway) -> dict:
    pair = Pair(register(gateway, solve), register(gateway, solve))
    befriend_and_converse(pair)
    message_id = str(uuid.uuid4())
    call(pair.a.client, "POST", f"/api/messaging/conversations/{pair.conversation_id}/messages", expect=(201,),
         headers=pair.a.headers, json={"kind": "standard", "message_id": message_id, "body": "kept in the backup"})
    # The backup is taken once the ledger has the message's leaf (its event went through the bus).
    call(pair.a.client, "GET", f"/api/ledger/entries/{message_id}", expect=(200,), retry_on=(404, *RETRIED),
         timeout=120)
    request_id = call(pair.a.client, "POST", "/api/auth/verification", expect=(201,), headers=pair.a.headers,
                      files={"document": ("id.png", DOCUMENT, "image/png")},
                      data={"reason": "selling in the marketplace"}).json()["id"]
    return {"users": [pair.a.details, pair.b.details], "conversation_id": pair.conversation_id,
            "message_id": message_id, "verification_id": request_id, "document": DOCUMENT.hex()}


def check(gateway: Gateway, state: dict) -> None:
    a, b = (User(gateway.client(), details) for details in state["users"])
    for user in (a, b):
        user.sign_in()
        print(f"ok    {user.username} logs in")
    messages = call(b.client, "GET", f"/api/messaging/conversations/{state['conversation_id']}/messages",
                    expect=(200,), headers=b.headers).json()["items"]
    assert any(m["id"] == state["message_id"] for m in messages), f"message {state['message_id']} not in {messages}"
    print("ok    the message is in the conversation")
    call(a.client, "GET", f"/api/ledger/entries/{state['message_id']}", expect=(200,))
    print("ok    the message is in the ledger")
    document = call(a.client, "GET", f"/api/auth/verification/{state['verification_id']}/document", expect=(200,),
                    headers=a.headers).content
    assert document == bytes.fromhex(state["document"]), "the identity document reads back different"
    print("ok    the identity document reads back byte for byte")
    audit(gateway)


def audit(gateway: Gateway) -> None:
    """The ledger's full audit, asked for by a staff account made the operator's way."""
    staff = User(gateway.client(), new_details("s"))
    Stack().create_staff(staff.details)
    staff.sign_in()
    report = call(staff.client, "POST", "/api/ledger/admin/audit", expect=(200,), params={"mode": "full"},
                  headers=staff.headers).json()
    for _ in range(10):  # an audit stopped for time (`complete` false) is continued by an incremental one
        if report["complete"]:
            break
        report = call(staff.client, "POST", "/api/ledger/admin/audit", expect=(200,), headers=staff.headers).json()
    assert report["status"] == "ok" and report["complete"] and report["leaves_checked"] >= 1, f"the ledger's audit: {report}"
    print(f"ok    the ledger's full audit is clean ({report['leaves_checked']} leaves, "
          f"{report['blocks_checked']} blocks)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("make", "check"))
    parser.add_argument("--gateway", required=True, help="the stack's gateway, e.g. http://127.0.0.1:18094")
    parser.add_argument("--state", type=Path, required=True, help="what `make` made, for `check`")
    args = parser.parse_args(argv)
    gateway = Gateway(args.gateway)
    try:
        if args.step == "make":
            args.state.write_text(json.dumps(make(gateway)))
            print("ok    two users, a message in the ledger and an identity document made")
        else:
            check(gateway, json.loads(args.state.read_text()))
    except AssertionError as failure:
        print(f"FAIL  {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
