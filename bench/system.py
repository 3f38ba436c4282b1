"""Benchmark: the whole system under a realistic mix (issue #11's "Load"), next to a bare Flask hello as the ceiling.

The load generator is locust, headless, driven as a library (bench/_system_users.py) in a virtualenv of its own
(.dev/bench-venv, pinned by constraints-bench.txt, created here on first use). Locust rather than wrk: the gateway
limits request rates per client address (100 r/s, burst 200; 20/min on login), and wrk sends from one address, so
it would measure the limiter; a locust user's client is a requests session, whose connection can be bound to a
loopback address of its own (an HTTPAdapter whose pool manager has source_address), moved to a fresh one every 150
requests. And the mix has flows of several steps that depend on each other's answers (pick a conversation from
my list, then read it; cart, checkout, then pay the order checkout returned), which are plain Python in a locust
user and awkward in wrk's Lua. What it costs: locust spends more CPU per request than wrk, on the same two cores as
the system; the bench prints the load generator's own CPU next to the figures, so a ceiling bound by the load
generator shows as one.

The seed (kept between runs; --remove-seed deletes it): bench/_system_seed.py writes 10,000 users, about 50,000
friendships, 8,500 direct and group conversations and 44,000 messages consistently into every service's tables
(auth's users with one shared argon2id hash, social's profiles and friendships, messaging's read models,
conversations, participants with their read state and the messages encrypted at rest, each announced through
messaging's outbox so that social and the ledger hear of it as of any other, marketplace's users read model),
and bench/_marketplace_seed.py 100,000 items (the same as bench/marketplace.py's). Writing straight into the
tables, rather than through the API, is what makes 10,000 users possible here: registration has a proof of work
and sign-in an argon2 hash by design.

Each run then signs --users of the seeded users in through the gateway (one login each, from addresses of their
own: within the login limit) and measures, through one gateway (gateway/nginx.conf rendered as deploy/dev/up.sh
renders it, on a port of its own, plus a location for the hello app), with --users locust users (one keep-alive
connection each, sending back to back):

  mix    read conversations 40% (list my conversations, read one's latest 20 messages), send message 20%,
         notifications unread-count 20%, item search 15% (signed in), checkout+pay 5% (cart, checkout, pay)
  reads  the mix's authenticated reads alone (read conversations, unread-count, item search; 40:20:15)
  send   message send alone
  hello  bench/hello/hello.py under gunicorn with the services' settings, behind the same gateway configuration

requests/s, p50 and p99 per operation (a checkout+pay flow is timed whole and counted in flows/s), and the ratio of
reads and send to hello (the aims: authenticated reads >= 60%, message send >= 40%), and of the mix. The targets
take turns in --rounds rounds, in a rotating order (one locust process per round), so that whatever else runs on
the machine weighs on each alike; a ratio is the median of the rounds' ratios, with their range. Tokens are renewed
between rounds when they are ten minutes old (they live fifteen).

The compose stack: --compose PROJECT --gateway http://127.0.0.1:PORT measures the services behind the compose
stack's gateway instead. Its databases are seeded exactly as the native ones, through a local port relayed into
its postgres container (`docker compose exec -T postgres`: the container publishes no port), as each service's
role, with the passwords and data keys of the stack's .env; --seed-users scales the seed down for a shorter run
(the seeded messages' events cross the stack's bus like any, and social takes a while over 44,000 of them). The
hello ceiling is behind a native nginx with the same configuration (the compose gateway adds docker's port
forwarding, which the ceiling then does not), and the services' own durations are not shown (their logs are the
containers'). For example, with a stack of its own on port 18092:

    COMPOSE_PROJECT_NAME=beyou-load BEYOU_HTTP_PORT=18092 OFFLINE=1 deploy/compose/up.sh
    .venv/bin/python bench/system.py --compose beyou-load --gateway http://127.0.0.1:18092 --seed-users 2000 \
        --seconds 20 --rounds 2
    COMPOSE_PROJECT_NAME=beyou-load deploy/compose/down.sh --volumes

The services' own view (native stack): the duration_ms each service logged for the load's requests (its request
log, .dev/logs/<service>.log, found by the X-Request-ID the load sends, one per target and operation), next to the
latency through the gateway: the difference is the gateway, the load generator and, mostly, the wait for one of
the service's gunicorn workers. And the server CPU per request of each target, by group of processes (each API,
worker and the stream process with its gunicorn workers, PostgreSQL with its backends, the bench's gateway and hello
app), read from /proc before and after every turn: what an operation costs the machine, next to what hello costs.
Whatever else runs on the machine meanwhile shows in the groups it uses (PostgreSQL's backends are every
database's; natively, other engineers' tests hit the same services).

Options: --seconds S per target in all, in --rounds R rounds, each turn after --warmup S; --users N (locust users:
connections and signed-in members); --items I seeded; --seed-users U seeded; --remove-seed; --compose PROJECT and
--gateway URL.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import _marketplace_seed as items_seed
import _system_seed as seeding
import sqlalchemy as sa
from _loadgen import Gateway, access_token, call, quantile, service_durations
from _ceiling import Children, free_port, start_gateway, start_hello, wait_for

# The service packages are imported by name (the seed announces messages through messaging's declared contracts),
# and this folder, first on sys.path, has a messaging.py of its own (a benchmark): off the path it goes, now that the
# bench's own modules are imported (as bench/marketplace.py does).
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".dev/bench-venv"
CONSTRAINTS = ("constraints-bench.txt", "constraints-dev.txt", "constraints.txt")
USERS_SCRIPT = ROOT / "bench/_system_users.py"

TARGETS = ("mix", "reads", "send", "hello")
OPERATIONS = {   # what each target's table shows, in this order; "checkout+pay" is a flow of the next three
    "mix": ("conversations list", "conversation messages", "send message", "unread-count", "item search",
            "checkout+pay", "cart add", "checkout", "pay"),
    "reads": ("conversations list", "conversation messages", "unread-count", "item search"),
    "send": ("send message",),
    "hello": ("hello",),
}
FLOWS = {"checkout+pay"}                      # timed whole; its steps are counted as requests
SERVED_BY = {"conversations list": "messaging", "conversation messages": "messaging", "send message": "messaging",
             "unread-count": "social", "item search": "marketplace", "cart add": "marketplace",
             "checkout": "marketplace", "pay": "marketplace"}
CREATED = {"send message": 201, "checkout": 201}   # the status of a success where it is not 200
LOGS = ROOT / ".dev/logs"                     # the native services' request logs (servicekit's, a JSON line each)
PROCS = ROOT / ".dev/run/procs"               # the native stack's pid files ("<pid> <start time>", deploy/dev/up.sh)
POSTMASTER = ROOT / ".dev/pgdata/postmaster.pid"
AIMS = {"reads": 0.60, "send": 0.40}          # issue #11: ratio to hello in the same run
TOKEN_RENEWAL = dt.timedelta(minutes=10)      # access tokens live 15 minutes
LOGIN_THREADS = 4
TEXTS = ("ok 👍", "On my way, see you in ten minutes.", "Sounds good, let's do Thursday then.",
         "Did you see the photos from Saturday? The one by the lake came out really well, I'll send the rest tonight.",
         "Can we move tomorrow's call to 3pm? Something came up in the morning and I won't make it before lunch, "
         "sorry for the short notice! Same link as last week.")
SEARCH_WORDS = ("black", "vintage", "leather", "guitar", "lamp", "oak table", "bluetooth headphones", "tweed",
                "sofa", "camera", "wooden chair", "berlin")


# --- the load generator's venv --------------------------------------------------------------------------------

def load_generator_python() -> Path:
    """.dev/bench-venv's python, with locust as constraints-bench.txt pins it: (re)made when the pins changed."""
    python = BENCH_VENV / "bin/python"
    stamp = BENCH_VENV / ".constraints.sha256"
    wanted = hashlib.sha256(b"".join((ROOT / name).read_bytes() for name in CONSTRAINTS)).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    print(f"installing locust into {BENCH_VENV.relative_to(ROOT)} (constraints-bench.txt)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(BENCH_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-qq",
                    "-c", "constraints-bench.txt", "locust"], check=True, cwd=ROOT)
    stamp.write_text(wanted + "\n")
    return python


# --- who signs in, what they buy, what they search ------------------------------------------------------------

def shop_items(engine: sa.Engine, seeded: int, count: int) -> list[uuid.UUID]:
    """Shop items (many units each) for the members, one each while there are enough, from the end of the seed's
    (bench/marketplace.py's buyers take them from its start); topped up to full stock when they run low."""
    ids = [items_seed.item_id(n) for n in range(items_seed.STOCK_EVERY, seeded + 1, items_seed.STOCK_EVERY)][::-1]
    with engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE items SET quantity = reserved + :stock, status = 'available' "
            "WHERE id = ANY(:ids) AND removed_at IS NULL AND quantity - reserved < :stock / 2"),
            {"ids": ids, "stock": items_seed.STOCK_QUANTITY})
        usable = set(connection.scalars(sa.text("SELECT id FROM items WHERE id = ANY(:ids) AND removed_at IS NULL"),
                                        {"ids": ids}))
    ordered = [item for item in ids if item in usable]
    if not ordered:
        raise SystemExit("the item seed has no shop items")
    return [ordered[i % len(ordered)] for i in range(count)]


def search_paths() -> list[str]:
    """What the members search for: words from the item seed's vocabulary, by newest and by relevance, in a top-level
    category with a price range by price, a leaf category, and the newest items with no filter."""
    rows, leaves = items_seed.categories()
    tops = [category for category, parent, _name, _slug in rows if parent is None]
    pick = random.Random(3)
    queries: list[dict] = [{}]
    for i, word in enumerate(SEARCH_WORDS):
        low = pick.choice((500, 1_000, 2_000, 5_000, 10_000))
        queries += [{"q": word}, {"q": word, "sort": "relevance"},
                    {"category": tops[i % len(tops)], "min_price": low, "max_price": 4 * low, "currency": "EUR",
                     "sort": "price_asc"},
                    {"category": leaves[5 * i % len(leaves)][0]}]
    return [f"/api/marketplace/items?{urlencode(query)}" if query else "/api/marketplace/items" for query in queries]


class SignedIn:
    """The members' tokens, renewed when they are TOKEN_RENEWAL old."""

    def __init__(self, gateway: Gateway, members: list[seeding.Member]) -> None:
        self.gateway, self.members = gateway, members
        self.tokens: list[str] = []
        self.at = dt.datetime.min.replace(tzinfo=dt.UTC)

    def fresh(self) -> list[str]:
        if dt.datetime.now(dt.UTC) - self.at > TOKEN_RENEWAL:
            began = time.monotonic()
            with ThreadPoolExecutor(LOGIN_THREADS) as pool:
                self.tokens = list(pool.map(lambda member: access_token(
                    self.gateway, {"username": member.username, "password": seeding.PASSWORD}), self.members))
            self.at = dt.datetime.now(dt.UTC)
            print(f"signed in {len(self.members)} seeded users through the gateway in {time.monotonic() - began:.1f}s "
                  f"({LOGIN_THREADS} at a time, each from an address of its own)", flush=True)
        return self.tokens


def check_paths(gateway: Gateway, token: str, paths: list[str]) -> None:
    """Every path the load reads answers 200 before any load (an API that changed shows here, not as errors)."""
    for path in paths:
        status, body = call(gateway, "GET", path, token=token)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {body}")


# --- the rounds -------------------------------------------------------------------------------------------------

def cpu_groups(children: Children, native: bool) -> dict[str, list[int]]:
    """The server processes whose CPU each turn reads, in groups (each pid with its descendants): the bench's own
    gateway and hello app, and natively every API, worker and the stream process of the stack (.dev/run/procs) and
    PostgreSQL (every database's backends: whatever else uses them meanwhile counts too)."""
    groups = {f"bench {name}": [process.pid] for name, process in children.started}
    if native:
        for pid_file in sorted(PROCS.glob("*.pid")):
            if pid_file.stem != "gateway":   # the stack's own, which the bench's requests do not pass
                groups[pid_file.stem.replace("-", " ")] = [int(pid_file.read_text().split()[0])]
        if POSTMASTER.exists():
            groups["postgres"] = [int(POSTMASTER.read_text().split()[0])]
    return groups


def run_round(python: Path, plan: dict, turn: int) -> dict:
    """One locust process: each target for its turn, in this round's order; what each turn's window saw."""
    order = list(TARGETS[turn % len(TARGETS):] + TARGETS[:turn % len(TARGETS)])
    with tempfile.TemporaryDirectory(prefix="beyou-bench-system-") as tmp:
        plan_file, result_file = Path(tmp) / "plan.json", Path(tmp) / "result.json"
        # Each round sends from a /16 of its own: no address carries the last round's rate-limit state.
        plan_file.write_text(json.dumps({**plan, "targets": order, "address_block": 1 + turn % 15}))
        subprocess.run([str(python), str(USERS_SCRIPT), str(plan_file), str(result_file)], check=True, cwd=ROOT)
        return json.loads(result_file.read_text())


class Figures:
    """Every round's windows, by target: rates, latencies and failures by operation, and locust's CPU."""

    def __init__(self) -> None:
        self.rounds: list[dict] = []

    def add(self, result: dict) -> None:
        self.rounds.append(result)

    def seconds(self, target: str) -> float:
        return sum(r[target]["seconds"] for r in self.rounds)

    def latencies(self, target: str, operation: str) -> list[float]:
        return [v for r in self.rounds for v in r[target]["latencies"].get(operation, ())]

    def failures(self, target: str, operation: str) -> Counter:
        return sum((Counter(r[target]["failures"].get(operation, {})) for r in self.rounds), Counter())

    def requests(self, round_result: dict, target: str) -> int:
        """Requests answered with success in one window (a flow's steps counted, not the flow)."""
        window = round_result[target]
        return sum(len(values) for name, values in window["latencies"].items() if name not in FLOWS)

    def round_rate(self, round_result: dict, target: str) -> float:
        return self.requests(round_result, target) / round_result[target]["seconds"]

    def rate(self, target: str) -> float:
        return sum(self.requests(r, target) for r in self.rounds) / self.seconds(target)

    def ratio(self, target: str) -> tuple[float, float, float]:
        """The median of the rounds' request-rate ratios to hello, and their range."""
        ratios = sorted(self.round_rate(r, target) / self.round_rate(r, "hello")
                        for r in self.rounds if self.requests(r, "hello"))
        return (statistics.median(ratios), ratios[0], ratios[-1]) if ratios else (float("nan"),) * 3

    def cpu_share(self, target: str) -> float:
        return sum(r[target]["cpu_seconds"] for r in self.rounds) / self.seconds(target)

    def server_cpu_ms(self, target: str) -> dict[str, float]:
        """Each group of server processes' CPU per request of the target (a flow's steps counted), in ms."""
        requests = sum(self.requests(r, target) for r in self.rounds)
        spent: Counter = sum((Counter(r[target]["server_cpu_seconds"]) for r in self.rounds), Counter())
        return {name: 1000 * seconds / requests for name, seconds in spent.items()} if requests else {}

    def first_failures(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for r in self.rounds:
            for target in TARGETS:
                for key, text in r[target].get("first_failure", {}).items():
                    found.setdefault(f"{target}: {key}", text)
        return found


class ServiceView:
    """What the services themselves spent on the load's requests: the duration_ms of each in their request logs
    (native stack only), found by the X-Request-ID the load sends (the run's, the target's, the operation's)."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.offsets = {service: (LOGS / f"{service}.log").stat().st_size
                        for service in set(SERVED_BY.values()) if (LOGS / f"{service}.log").exists()}
        self.durations: dict[str, list[float]] = {}

    def read(self) -> None:
        for service, offset in self.offsets.items():
            mine = [(target, operation) for target in TARGETS for operation in OPERATIONS[target]
                    if SERVED_BY.get(operation) == service]
            self.durations |= service_durations(
                LOGS / f"{service}.log", offset,
                {f"{target}/{operation}": request_id(self.run, target, operation) for target, operation in mine},
                ok_status={f"{target}/{operation}": CREATED.get(operation, 200) for target, operation in mine})

    def cell(self, target: str, operation: str) -> str:
        values = self.durations.get(f"{target}/{operation}")
        return f"{quantile(values, 50):9.1f}{quantile(values, 99):9.1f}" if values else f"{'':>18}"


def request_id(run: str, target: str, operation: str) -> str:
    """The X-Request-ID of an operation's requests (as bench/_system_users.py sends it)."""
    return f"{run}-{target}-{operation.replace(' ', '-').replace('+', '-')}"


def print_table(figures: Figures, service: ServiceView | None, users: int) -> None:
    at_service = (f"{'at the service':>18}", f"{'p50 ms':>9}{'p99 ms':>9}") if service else ("", "")
    print(f"\n{'':<26}{'through the gateway':>27}{at_service[0]}\n"
          f"{'target / operation':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{at_service[1]}   errors", flush=True)
    for target in TARGETS:
        print(f"{target:<26}{figures.rate(target):>9,.0f}{'':>{18 + len(at_service[1])}}   (all requests; load "
              f"generator CPU {figures.cpu_share(target):.0%} of a core)", flush=True)
        for operation in OPERATIONS[target]:
            values = figures.latencies(target, operation)
            errors = ", ".join(f"{label}: {n}" for label, n in sorted(figures.failures(target, operation).items()))
            unit = " (flows/s)" if operation in FLOWS else ""
            indent = "    " if target == "mix" and operation in ("cart add", "checkout", "pay") else "  "
            print(f"{indent + operation + unit:<26}{len(values) / figures.seconds(target):>9,.1f}"
                  f"{quantile(values, 50):>9.1f}{quantile(values, 99):>9.1f}"
                  f"{service.cell(target, operation) if service else ''}   {errors or '0'}", flush=True)
    print(f"\nratio to hello (requests/s, same run, {users} connections; median of the rounds, range):", flush=True)
    for target in ("reads", "send", "mix"):
        median, low, high = figures.ratio(target)
        aim = AIMS.get(target)
        verdict = f"   aim >= {aim:.0%}: {'met' if median >= aim else 'NOT met'}" if aim else ""
        print(f"  {target:<6} {median:6.0%} ({low:.0%}–{high:.0%}){verdict}", flush=True)
    if figures.cpu_share("hello") > 0.5:
        print(f"  note: the load generator took {figures.cpu_share('hello'):.0%} of a core during hello, CPU the hello "
              "app could not use: the ceiling is partly locust's, and the ratios above overstate the services' share "
              "of the machine's", flush=True)
    print("\nserver CPU per request, ms (by process group, each with its children; the largest first):", flush=True)
    for target in TARGETS:
        spent = sorted(figures.server_cpu_ms(target).items(), key=lambda item: -item[1])
        print(f"  {target:<6} {sum(ms for _, ms in spent):5.2f} in all: "
              + ", ".join(f"{name} {ms:.2f}" for name, ms in spent if ms >= 0.05), flush=True)
    for key, text in figures.first_failures().items():
        print(f"  first {key}: {text}", flush=True)


# --- main -------------------------------------------------------------------------------------------------------

def start_gateways(children: Children, prefix: Path, services: str | None) -> tuple[Gateway, Gateway]:
    """The bench's own gateway (gateway/nginx.conf plus /api/hello/), with the hello app behind it; and the gateway
    of the services: `services`, or the bench's own (natively). Both answering."""
    hello_port, gateway_port = free_port(), free_port()
    start_hello(children, hello_port)
    start_gateway(children, prefix, gateway_port, hello_port)
    ours = Gateway(f"http://127.0.0.1:{gateway_port}")
    gateway = Gateway(services) if services else ours
    wait_for(children, ours, "/api/hello/")
    for service in ("auth", "social", "messaging", "marketplace"):
        wait_for(children, gateway, f"/api/{service}/readyz")
    return gateway, ours


def measure(args: argparse.Namespace, children: Children, gateway: Gateway, ours: Gateway,
            members: list[seeding.Member], items: list[uuid.UUID], python: Path) -> None:
    """Every round, then the table."""
    searches = search_paths()
    signed_in = SignedIn(gateway, members)
    check_paths(gateway, signed_in.fresh()[0], [*searches, "/api/messaging/conversations?limit=20",
                                                "/api/social/notifications/unread-count"])
    where = f"compose stack {args.compose}" if args.compose else "native stack, 2 gunicorn workers per app"
    if gateway is not ours:
        where += f"; hello through {ours.url}"
    print(f"system benchmark through {gateway.url} ({where}): {args.users} locust users (one connection and one "
          f"signed-in member each), {args.seconds:g}s per target in {args.rounds} rounds, on {os.cpu_count()} cores "
          f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    run = f"bench-system-{uuid.uuid4().hex[:8]}"
    service = None if args.compose else ServiceView(run)
    figures = Figures()
    for turn in range(args.rounds):
        plan = {"gateway": gateway.url, "hello_gateway": ours.url, "users": args.users,
                "seconds": args.seconds / args.rounds, "warmup": args.warmup, "texts": TEXTS, "searches": searches,
                "request_id": run, "cpu_groups": cpu_groups(children, native=not args.compose),
                "members": [{"token": token, "conversations": [str(c) for c in member.conversations],
                             "item": str(item)} for token, member, item in zip(signed_in.fresh(), members, items)]}
        figures.add(run_round(python, plan, turn))
        children.check_alive()
    if service:
        service.read()
    print_table(figures, service, args.users)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="per target, in all rounds together")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--users", type=int, default=32, help="locust users: connections and signed-in members")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed-users", type=int, default=seeding.USERS,
                        help="users seeded (the rest of the seed scales with them); one size at a time")
    parser.add_argument("--remove-seed", action="store_true", help="delete the seed and stop")
    parser.add_argument("--compose", metavar="PROJECT", help="seed and measure this compose stack")
    parser.add_argument("--gateway", help="the services' gateway (with --compose; natively the bench runs its own)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # stopped, still stop what was started

    started = time.monotonic()
    with seeding.compose_databases(args.compose) if args.compose else seeding.native_databases() as databases:
        if args.remove_seed:
            seeding.remove_seed(databases, args.seed_users)
            items_seed.remove_seed(databases["marketplace"])
            return
        items_seed.seed(databases["marketplace"], args.items)
        seeding.seed(databases, args.seed_users)
        members = seeding.members(args.users, args.seed_users)
        items = shop_items(databases["marketplace"], args.items, args.users)
    python = load_generator_python()
    print(f"seed and load generator ready in {time.monotonic() - started:.0f}s", flush=True)

    with tempfile.TemporaryDirectory(prefix="beyou-bench-system-") as tmp, Children(Path(tmp)) as children:
        Path(tmp).chmod(0o755)  # nginx's unprivileged workers use its temp directories
        gateway, ours = start_gateways(children, Path(tmp), args.gateway)
        measure(args, children, gateway, ours, members, items, python)
    print(f"run took {time.monotonic() - started:.0f}s", flush=True)


if __name__ == "__main__":
    main()
