import datetime as dt
import types
import uuid

import pytest
import sqlalchemy as sa

from servicekit.context import context_of

from auth import create_app
from auth.login_activity import pause_after, standing
from auth.models import LoginAttempt, User

# Small thresholds, so a few attempts show throttling and locks (the shared app throttles per account only).
LIMITS = {"LOGIN_SLOWDOWN_AFTER": 3, "LOGIN_LOCKOUT_AFTER": 3, "LOGIN_SOURCE_LOCKOUT_AFTER": 5,
          "LOGIN_FAILURE_WINDOW_SECONDS": 900, "LOGIN_LOCKOUT_SECONDS": 600}


@pytest.fixture(scope="module")
def strict_app(migrated_app, app):
    settings = context_of(app).settings
    return migrated_app(create_app, SECRET_KEY=settings.secret_key, DATA_KEYS=",".join(settings.data_keys), **LIMITS)


@pytest.fixture
def strict(strict_app):
    return strict_app.test_client()


@pytest.fixture(scope="module")
def account(strict_app, solve_challenge):
    """`account(staff=False)`: a registered account on the strict app (username, password, id)."""
    def make(staff=False):
        client = strict_app.test_client()
        name = f"u{uuid.uuid4().hex[:12]}"
        body = {"username": name, "email": f"{name}@example.test", "phone": f"+33{uuid.uuid4().int % 10**9:09d}",
                "password": f"Pw-{uuid.uuid4().hex}",
                "challenge": solve_challenge(client.post("/api/auth/challenge").json)}
        created = client.post("/api/auth/register", json=body)
        assert created.status_code == 201, created.json
        if staff:
            with context_of(strict_app).db.transaction() as session:
                session.execute(sa.update(User).where(User.id == uuid.UUID(created.json["id"]))
                                .values(roles=["user", "staff"]))
        return types.SimpleNamespace(id=created.json["id"], username=name, password=body["password"])
    return make


@pytest.fixture(scope="module")
def staff_headers(strict_app, account):
    staff = account(staff=True)
    response = strict_app.test_client().post("/api/auth/login", json={"username": staff.username,
                                                                      "password": staff.password},
                                             environ_base={"REMOTE_ADDR": "10.255.255.1"})
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def new_ip():
    return f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def log_in(client, username, password, ip, agent="pytest-agent/1.0"):
    return client.post("/api/auth/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip, "HTTP_USER_AGENT": agent})


def answer(response):
    return response.status_code, {k: v for k, v in response.json.items() if k != "request_id"}


def activity(client, headers, **query):
    response = client.get("/api/auth/admin/login-activity", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


# --- every attempt is recorded ---------------------------------------------------------------

def test_every_attempt_is_recorded_with_address_agent_and_reason(strict, account, staff_headers):
    user, ip = account(), new_ip()
    unknown = f"ghost{uuid.uuid4().hex[:8]}"

    log_in(strict, unknown, "some password", ip)
    log_in(strict, user.username, "wrong password", ip)
    signed_in = log_in(strict, user.username, user.password, ip, agent="BeYou-Web/5")

    items = activity(strict, staff_headers, ip=ip)["items"]
    assert [(i["username"], i["success"], i["failure_reason"]) for i in items] == [
        (user.username, True, None), (user.username, False, "bad_password"), (unknown, False, "unknown_user")]
    assert all(i["ip"] == ip and i["kind"] == "login" for i in items)
    assert items[0]["user_agent"] == "BeYou-Web/5"
    assert items[0]["session_id"] == signed_in.json["session_id"]
    assert items[0]["user_id"] == items[1]["user_id"] == user.id
    assert items[2]["user_id"] is None


# --- lockout ---------------------------------------------------------------------------------

def test_an_account_locks_after_repeated_failures_and_the_answer_does_not_say_so(strict, account, staff_headers):
    user, ip = account(), new_ip()
    bad = [log_in(strict, user.username, "wrong password", ip) for _ in range(LIMITS["LOGIN_LOCKOUT_AFTER"])]

    with_the_right_password = log_in(strict, user.username, user.password, ip)
    from_elsewhere = log_in(strict, user.username, user.password, new_ip())

    assert answer(with_the_right_password) == answer(bad[-1])
    assert answer(from_elsewhere) == answer(bad[-1])
    assert with_the_right_password.status_code == 401
    reasons = [i["failure_reason"] for i in activity(strict, staff_headers, username=user.username)["items"]]
    assert reasons == ["locked", "locked", "bad_password", "bad_password", "bad_password"]


def test_a_lock_ends_after_the_lockout_period(strict, strict_app, account):
    user, ip = account(), new_ip()
    for _ in range(LIMITS["LOGIN_LOCKOUT_AFTER"]):
        log_in(strict, user.username, "wrong password", ip)
    assert log_in(strict, user.username, user.password, ip).status_code == 401
    with context_of(strict_app).db.transaction() as session:  # let the lockout period pass
        session.execute(sa.update(LoginAttempt).where(LoginAttempt.user_id == uuid.UUID(user.id)).values(
            occurred_at=LoginAttempt.occurred_at - dt.timedelta(seconds=LIMITS["LOGIN_LOCKOUT_SECONDS"] + 1)))

    assert log_in(strict, user.username, user.password, ip).status_code == 200


def test_unknown_usernames_lock_like_real_ones(strict, account):
    user, ip = account(), new_ip()
    unknown = f"ghost{uuid.uuid4().hex[:8]}"
    real = [log_in(strict, user.username, "wrong password", ip) for _ in range(LIMITS["LOGIN_LOCKOUT_AFTER"] + 1)]
    made_up = [log_in(strict, unknown, "wrong password", new_ip()) for _ in range(LIMITS["LOGIN_LOCKOUT_AFTER"] + 1)]

    assert [answer(r) for r in real] == [answer(r) for r in made_up]


def test_a_source_address_locks_after_failures_across_accounts(strict, account, staff_headers):
    user, ip = account(), new_ip()
    for _ in range(LIMITS["LOGIN_SOURCE_LOCKOUT_AFTER"]):
        log_in(strict, f"ghost{uuid.uuid4().hex[:8]}", "guess", ip)

    from_that_address = log_in(strict, user.username, user.password, ip)
    from_another = log_in(strict, user.username, user.password, new_ip())

    assert from_that_address.status_code == 401
    assert from_another.status_code == 200
    assert activity(strict, staff_headers, ip=ip)["items"][0]["failure_reason"] == "locked"


# --- throttling: refusal, not waiting ---------------------------------------------------------

@pytest.fixture(scope="module")
def throttling_app(migrated_app, app):
    """Throttles after one failure for a minute, long before any lock."""
    settings = context_of(app).settings
    return migrated_app(create_app, SECRET_KEY=settings.secret_key, DATA_KEYS=",".join(settings.data_keys),
                        LOGIN_SLOWDOWN_AFTER=1, LOGIN_THROTTLE_STEP_SECONDS=60, LOGIN_THROTTLE_MAX_SECONDS=60,
                        LOGIN_LOCKOUT_AFTER=100, LOGIN_SOURCE_LOCKOUT_AFTER=100)


def test_an_attempt_too_soon_after_a_failure_is_refused_at_once_without_a_check(throttling_app, solve_challenge):
    client = throttling_app.test_client()
    name = f"u{uuid.uuid4().hex[:12]}"
    password = f"Pw-{uuid.uuid4().hex}"
    body = {"username": name, "email": f"{name}@example.test", "phone": f"+33{uuid.uuid4().int % 10**9:09d}",
            "password": password, "challenge": solve_challenge(client.post("/api/auth/challenge").json)}
    assert client.post("/api/auth/register", json=body).status_code == 201
    failed = log_in(client, name, "wrong password", new_ip())

    throttled = log_in(client, name, password, new_ip())  # the right password, but within the pause

    assert answer(throttled) == answer(failed)  # the same answer as a bad password, given at once
    with context_of(throttling_app).db.session() as session:
        reasons = session.scalars(sa.select(LoginAttempt.failure_reason).where(LoginAttempt.username == name)
                                  .order_by(LoginAttempt.id)).all()
    assert reasons == ["bad_password", "throttled"]


def test_the_pause_grows_with_failures_up_to_a_bound(strict_app):
    settings = context_of(strict_app).settings

    pauses = [pause_after(settings, failures) for failures in (0, 2, 3, 4, 100)]

    assert pauses == [0.0, 0.0, 0.2, 0.4, 2.0]


def test_many_failures_lock_an_account_typed_by_name(strict_app):
    name = f"ghost{uuid.uuid4().hex[:8]}"
    with context_of(strict_app).db.transaction() as session:
        session.add_all([LoginAttempt(username=name, success=False, failure_reason="unknown_user")
                         for _ in range(100)])
        session.flush()
        verdict = standing(session, context_of(strict_app).settings, username=name, user_id=None, ip=None)

    assert verdict.locked is True
    assert verdict.refusal == "locked"


# --- the staff's view ------------------------------------------------------------------------

def test_staff_filter_activity_by_success_and_time_and_page_through_it(strict, account, staff_headers):
    user, ip = account(), new_ip()
    since = dt.datetime.now(dt.UTC).isoformat()
    log_in(strict, user.username, "wrong password", ip)
    log_in(strict, user.username, user.password, ip)
    log_in(strict, user.username, user.password, ip)
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()

    successes = activity(strict, staff_headers, username=user.username.upper(), success="true")["items"]
    failures = activity(strict, staff_headers, username=user.username, success="false")["items"]
    in_period = activity(strict, staff_headers, ip=ip, **{"from": since, "to": until})["items"]
    before = activity(strict, staff_headers, ip=ip, to=since)["items"]
    first = activity(strict, staff_headers, ip=ip, limit=2)
    rest = activity(strict, staff_headers, ip=ip, limit=2, cursor=first["next_cursor"])

    assert (len(successes), len(failures), len(in_period), len(before)) == (2, 1, 3, 0)
    assert [i["id"] for i in first["items"] + rest["items"]] == [i["id"] for i in in_period]
    assert rest["next_cursor"] is None
    assert in_period[0]["id"] > in_period[1]["id"] > in_period[2]["id"]  # newest first


def test_staff_see_statistics_of_a_period(strict, account, staff_headers):
    alice, bob = account(), account()
    since = dt.datetime.now(dt.UTC).isoformat()
    attacker, alice_ip = new_ip(), new_ip()
    for _ in range(2):
        log_in(strict, bob.username, "guess", attacker)
    log_in(strict, "nobody-at-all", "guess", attacker)
    log_in(strict, alice.username, alice.password, alice_ip)

    response = strict.get("/api/auth/admin/login-activity/stats", query_string={"from": since},
                          headers=staff_headers)

    assert response.status_code == 200, response.json
    stats = response.json
    assert (stats["total"], stats["successes"], stats["failures"]) == (4, 1, 3)
    assert (stats["unique_users"], stats["unique_ips"]) == (2, 2)
    assert stats["most_failed_usernames"][0] == {"username": bob.username, "failures": 2}
    assert stats["most_failed_ips"] == [{"ip": attacker, "failures": 3}]
    assert [f["username"] for f in stats["recent_failures"]] == ["nobody-at-all", bob.username, bob.username]


@pytest.mark.parametrize("path", ["/api/auth/admin/login-activity", "/api/auth/admin/login-activity/stats"])
def test_non_staff_are_refused_the_activity(client, new_user, path):
    user = new_user()

    assert client.get(path, headers=user.headers).status_code == 403
    assert client.get(path).status_code == 401


@pytest.mark.parametrize("query", [{"ip": "not-an-address"}, {"from": "yesterday"}, {"cursor": "abc"},
                                   {"limit": 0}])
def test_bad_activity_filters_are_a_422(strict, staff_headers, query):
    response = strict.get("/api/auth/admin/login-activity", query_string=query, headers=staff_headers)

    assert response.status_code == 422
    assert set(query) <= set(response.json["errors"])
