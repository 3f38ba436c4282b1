"""The fuzzer's identities (deploy/dev/fuzz.sh), made the way a client and an operator make them.

    python tests/fuzz/tokens.py sign-up STATE     a user (registered through the gateway with the proof of
                                                  work solved, then verified by staff) and a staff member
                                                  (`flask --app auth create-staff`), both signed in
    python tests/fuzz/tokens.py refresh STATE     new access tokens for both, printed as shell assignments
                                                  FUZZ_USER_TOKEN=... and FUZZ_STAFF_TOKEN=...

schemathesis cannot sign up by itself (the proof of work), so it is given these tokens. Access tokens live
15 minutes, so fuzz.sh refreshes them before each run; a refresh that fails means a run signed its caller
out. STATE (JSON, 0600) holds the sessions, refresh tokens included. Runs with the project's .venv (the
client library, servicekit's gateway helpers); FUZZ_SOURCE_ADDRESS is the loopback address to leave from.
"""
from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import requests
from beyou.api import Client, ProblemError, Session
from servicekit.testing.config import gateway_url
from servicekit.testing.gateway import GatewayClient, create_staff

ROOT = Path(__file__).resolve().parents[2]
# What auth accepts as an identity document is judged by content: this is a PDF as far as it cares.
DOCUMENT = b"%PDF-1.4\n% the fuzzer's identity document\n%%EOF\n"


def client(session: Session | None = None) -> Client:
    http = GatewayClient(gateway_url(), os.environ.get("FUZZ_SOURCE_ADDRESS"))
    return Client(gateway_url(), session=session, http=http)


def new_details(role: str) -> dict[str, str]:
    tag = uuid.uuid4()
    username = f"fuzz{role}{tag.hex[:10]}"
    return {"username": username, "email": f"{username}@fuzz.test", "phone": f"+4420{tag.int % 10**8:08d}",
            "password": f"Fuzz-{tag.hex[10:30]}"}


def sign_up(state: Path) -> None:
    user_details, staff_details = new_details("user"), new_details("staff")
    user = client()
    user.register(**user_details)
    user.login(user_details["username"], user_details["password"])
    create_staff(ROOT, staff_details)
    staff = client()
    staff.login(staff_details["username"], staff_details["password"])
    # Verified, the user reaches what only verified users may do (groups, attachments, selling).
    asked = user.request_verification(DOCUMENT, filename="id.pdf", content_type="application/pdf",
                                      reason="the fuzzer's account")
    staff.call("POST", f"/api/auth/admin/verifications/{asked['id']}/approve", json={"notes": "fuzzing"})
    user.refresh()  # the new access token says verified
    save(state, user.session, staff.session)


def refresh(state: Path) -> None:
    saved = json.loads(state.read_text())
    user, staff = client(Session(**saved["user"])), client(Session(**saved["staff"]))
    user.refresh()
    staff.refresh()
    save(state, user.session, staff.session)  # each refresh token works once: keep the new ones
    print(f"FUZZ_USER_TOKEN={user.session.access_token}")
    print(f"FUZZ_STAFF_TOKEN={staff.session.access_token}")


def save(state: Path, user: Session, staff: Session) -> None:
    state.touch(mode=0o600)
    state.write_text(json.dumps({"user": user.as_dict(), "staff": staff.as_dict()}))


if __name__ == "__main__":
    commands = {"sign-up": sign_up, "refresh": refresh}
    if len(sys.argv) != 3 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {{sign-up|refresh}} STATE")
    try:
        commands[sys.argv[1]](Path(sys.argv[2]))
    except (ProblemError, requests.RequestException) as error:  # the answer says it all; no traceback
        sys.exit(f"{sys.argv[1]}: {error}")
