"""bench/system.py's load: locust users acting out the mix, each turn of each target, in locust's own venv.

Not a benchmark itself (`make bench` skips bench/ modules whose name starts with "_"). bench/system.py runs it with
.dev/bench-venv's python (locust, pinned by constraints-bench.txt; gevent patches this whole process, which is
one more reason it is a process of its own), once per round:

    python bench/_system_users.py PLAN.json RESULT.json

PLAN (written by bench/system.py): the gateways, the number of users (each a keep-alive connection), the targets
in the order this round takes them, seconds and warm-up per turn, the signed-in members (token, conversations,
the shop item each buys), the search paths, the texts sent, the run's request id (every request's X-Request-ID
starts with it, then names the target and the operation), the /16 of loopback addresses to send from and the groups
of server processes whose CPU to read (by name, their pids). RESULT: for each target, the turn's window, every
successful request's latency by operation, the failures by operation and status (or exception), the CPU this
process spent in the window (the load generator's own share of the machine) and the CPU each of the plan's groups
of server processes spent in it (each pid with its descendants, read from /proc).

Each locust user is one member for the whole round (one member per user, so no two users buy the same item) and
sends from a loopback address of its own, moving to a fresh one every REQUESTS_PER_ADDRESS requests: the gateway
limits request rates per address (100 r/s, burst 200), and the figures are to measure the services, not the
limiter. Users send back to back (no think time): throughput is what the targets are about.

Targets and their operations (weights as in issue #11):
  mix    read conversations 40 (list my conversations, then read one's latest 20 messages: two requests), send
         message 20, notifications unread-count 20, item search 15 (signed in), checkout+pay 5 (put a unit of the
         member's shop item in the cart, check out, pay with the test card: three requests, each checkout and
         payment with a new Idempotency-Key; the flow's latency is reported as "checkout+pay")
  reads  the mix's authenticated reads alone, in the mix's proportions (40:20:15)
  send   message send alone
  hello  GET /api/hello/, the bare Flask app behind the same gateway configuration: the ceiling
A flow cut short (a failed step, or the turn's end) is put right before the member orders again and at the end of
the round (its order cancelled, the item taken out of the cart); those requests are not counted.
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import contextlib  # noqa: E402  (after gevent has patched the standard library)
import glob  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import gevent  # noqa: E402
import requests  # noqa: E402
from locust import HttpUser, constant, task  # noqa: E402
from locust.env import Environment  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402

REQUESTS_PER_ADDRESS = 150          # well inside the gateway's burst of 200 per address
TIMEOUT = 30
PAGE = 20
ADDRESS = {"name": "Load Bench", "line1": "Hauptstrasse 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": time.gmtime().tm_year + 3, "cvc": "123"}

plan: dict = {}


# --- where each connection sends from -------------------------------------------------------------------

class FromAddress(HTTPAdapter):
    """Connects from one loopback address (as servicekit.testing.gateway's adapter, which this venv lacks)."""

    def __init__(self, address: str) -> None:
        self.address = address      # read by init_poolmanager, which __init__ calls
        super().__init__(pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def request_id(target: str, operation: str) -> str:
    """As bench/system.py looks for it: the run's, then the target's and the operation's name."""
    return f"{plan['request_id']}-{target}-{operation.strip('_').replace(' ', '-').replace('+', '-')}"


def loopback_addresses(block: int):
    """127.<block>.x.y, x and y from 1: a range no test and no other bench sends from (tests take 127.16-249.*.*,
    bench/_loadgen.py 127.0.*.*)."""
    return (f"127.{block}.{x}.{y}" for x in range(1, 256) for y in range(1, 255))


# --- what the servers spend -------------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (gone ones left out)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for children in glob.glob(f"/proc/{current}/task/*/children"):
            with contextlib.suppress(OSError), open(children) as listed:
                pending += [int(child) for child in listed.read().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has spent (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_by_group(groups: dict[str, list[int]]) -> dict[str, float]:
    """The CPU seconds spent so far by each group of processes (each pid with its descendants)."""
    return {name: sum(cpu_seconds(member) for pid in pids for member in process_tree(pid))
            for name, pids in groups.items()}


# --- what the window counts -------------------------------------------------------------------------------

class Window:
    """The measured part of a turn: latencies of successful requests and failures, by operation."""

    def __init__(self) -> None:
        self.open = False
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.failures: dict[str, Counter] = defaultdict(Counter)
        self.first_failure: dict[str, str] = {}

    def on_request(self, request_type, name, response_time, response_length, exception=None, response=None,
                   **_kwargs) -> None:
        if not self.open or name.startswith("_"):
            return
        if exception is None:
            self.latencies[name].append(response_time)
            return
        status = getattr(response, "status_code", 0)
        label = str(status) if status else type(exception).__name__
        self.failures[name][label] += 1
        if status:
            self.first_failure.setdefault(f"{name} {label}", response.text[:300])

    def add(self, name: str, milliseconds: float) -> None:
        """An operation of several requests (checkout+pay), timed as a whole."""
        if self.open:
            self.latencies[name].append(milliseconds)

    def fail(self, name: str, label: str) -> None:
        if self.open:
            self.failures[name][label] += 1


window = Window()


# --- the members ------------------------------------------------------------------------------------------

@dataclass
class Member:
    token: str
    conversations: list[str]
    item: str
    order: str | None = None        # an order placed and not paid (a flow cut short)
    # The item may be in the cart, or in an order never heard of (a flow cut short). So it is at first: a round
    # before this one may have been cut short.
    in_cart: bool = True


class Members:
    """Each user of a turn takes the next member: user i is member i in every turn."""

    def __init__(self, members: list[dict]) -> None:
        self.all = [Member(m["token"], m["conversations"], m["item"]) for m in members]
        self.next = itertools.count()

    def take(self) -> Member:
        return self.all[next(self.next) % len(self.all)]

    def turn(self) -> None:
        self.next = itertools.count()


# --- the users --------------------------------------------------------------------------------------------

class Connection(HttpUser):
    """A keep-alive connection to the gateway from an address of its own, moved to a fresh one in time."""

    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        self.sent = 0
        self.move()

    def move(self) -> None:
        old = self.client.adapters.get("http://")
        self.client.mount("http://", FromAddress(next(addresses)))
        if old is not None:
            old.close()
        self.sent = 0

    def send(self, method: str, path: str, name: str, headers: dict | None = None, **kwargs):
        """One request, named for its operation, with an X-Request-ID that names the target and the operation (by
        which bench/system.py finds the services' own durations in their request logs)."""
        if self.sent >= REQUESTS_PER_ADDRESS:
            self.move()
        self.sent += 1
        headers = {**(headers or {}), "X-Request-ID": request_id(self.target, name)}
        return self.client.request(method, path, name=name, headers=headers, timeout=TIMEOUT, **kwargs)


class Signed(Connection):
    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.me = members.take()
        self.headers = {"Authorization": f"Bearer {self.me.token}"}
        self.pick = random.Random()
        self.texts = itertools.cycle(plan["texts"])
        self.searches = itertools.islice(itertools.cycle(plan["searches"]),
                                         self.pick.randrange(len(plan["searches"])), None)

    def get(self, path: str, name: str):
        return self.send("GET", path, name, headers=self.headers)

    def post(self, path: str, body: dict, name: str, idempotent: bool = False):
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex} if idempotent else self.headers
        return self.send("POST", path, name, json=body, headers=headers)

    # the operations

    def read_conversations(self) -> None:
        """My conversations, then one of the latest few: its newest page of messages."""
        listed = self.get(f"/api/messaging/conversations?limit={PAGE}", "conversations list")
        if not listed.ok:
            return
        latest = listed.json()["items"][:5]
        if latest:
            chosen = latest[int(len(latest) * self.pick.random() ** 2)]["id"]
            self.get(f"/api/messaging/conversations/{chosen}/messages?limit={PAGE}", "conversation messages")

    def send_message(self) -> None:
        conversation = self.me.conversations[int(len(self.me.conversations) * self.pick.random() ** 2)]
        self.post(f"/api/messaging/conversations/{conversation}/messages",
                  {"kind": "standard", "body": next(self.texts)}, "send message")

    def unread_count(self) -> None:
        self.get("/api/social/notifications/unread-count", "unread-count")

    def search(self) -> None:
        self.get(next(self.searches), "item search")

    def checkout_and_pay(self) -> None:
        """One unit of my shop item: cart, checkout, payment; the whole flow timed as one operation."""
        self.put_right()
        began = time.perf_counter()
        self.me.in_cart = True
        added = self.post("/api/marketplace/cart/items", {"item_id": self.me.item, "quantity": 1}, "cart add")
        if not added.ok:
            return window.fail("checkout+pay", f"cart {added.status_code}")
        placed = self.post("/api/marketplace/checkout", {"shipping_address": ADDRESS}, "checkout", idempotent=True)
        if not placed.ok:
            return window.fail("checkout+pay", f"checkout {placed.status_code}")
        self.me.order, self.me.in_cart = placed.json()["id"], False
        paid = self.post(f"/api/marketplace/orders/{self.me.order}/pay", {"card": CARD}, "pay", idempotent=True)
        if not paid.ok:
            return window.fail("checkout+pay", f"pay {paid.status_code}")
        self.me.order = None
        window.add("checkout+pay", (time.perf_counter() - began) * 1000)

    def put_right(self) -> None:
        put_right(self.me, lambda method, path, body: self.send(method, path, "_put right", headers=self.headers,
                                                                json=body))


def put_right(member: Member, send) -> None:
    """What a flow cut short left: its order cancelled, the item out of the cart (not counted). A flow cut short
    while its checkout was on the way may have placed an order it never heard of: the member's latest pending
    orders are cancelled then."""
    pending = [member.order] if member.order is not None else []
    if member.in_cart:
        listed = send("GET", "/api/marketplace/orders?limit=5", None)
        if listed.ok:
            pending += [order["id"] for order in listed.json()["items"] if order["status"] == "pending"]
    for order in dict.fromkeys(pending):
        send("POST", f"/api/marketplace/orders/{order}/cancel", {})
    if member.in_cart:
        send("DELETE", f"/api/marketplace/cart/items/{member.item}", None)
    member.order, member.in_cart = None, False


class Mix(Signed):
    target = "mix"
    tasks = {Signed.read_conversations: 40, Signed.send_message: 20, Signed.unread_count: 20, Signed.search: 15,
             Signed.checkout_and_pay: 5}


class Reads(Signed):
    target = "reads"
    tasks = {Signed.read_conversations: 40, Signed.unread_count: 20, Signed.search: 15}


class Send(Signed):
    target = "send"
    tasks = [Signed.send_message]


class Hello(Connection):
    target = "hello"

    @task
    def hello(self) -> None:
        self.send("GET", "/api/hello/", "hello")


TARGETS = {"mix": Mix, "reads": Reads, "send": Send, "hello": Hello}


# --- a round ----------------------------------------------------------------------------------------------

def run_turn(target: str) -> dict:
    """One target under the plan's users for its seconds, after the warm-up; what the window saw."""
    global window
    window = Window()
    members.turn()
    user_class = TARGETS[target]
    user_class.host = plan["hello_gateway"] if target == "hello" else plan["gateway"]
    environment = Environment(user_classes=[user_class], catch_exceptions=True)
    environment.events.request.add_listener(window.on_request)
    runner = environment.create_local_runner()
    users = plan["users"]
    runner.start(users, spawn_rate=min(users, 100))
    gevent.sleep(plan["warmup"])
    cpu, servers, began = time.process_time(), cpu_by_group(plan["cpu_groups"]), time.monotonic()
    window.open = True
    gevent.sleep(plan["seconds"])
    window.open = False
    seconds, cpu = time.monotonic() - began, time.process_time() - cpu
    servers = {name: spent - servers[name] for name, spent in cpu_by_group(plan["cpu_groups"]).items()}
    runner.quit()
    return {"seconds": seconds, "cpu_seconds": cpu, "server_cpu_seconds": servers, "latencies": window.latencies,
            "failures": {name: dict(counts) for name, counts in window.failures.items()},
            "first_failure": window.first_failure}


def put_everything_right() -> None:
    """After the round: every flow the turns' ends cut short, put right."""
    session = requests.Session()
    session.mount("http://", FromAddress(next(addresses)))
    for member in members.all:
        def send(method: str, path: str, body: dict | None, member: Member = member) -> requests.Response:
            return session.request(method, plan["gateway"] + path, json=body, timeout=TIMEOUT,
                                   headers={"Authorization": f"Bearer {member.token}"})
        put_right(member, send)
    session.close()


def main() -> None:
    global plan, members, addresses
    plan_file, result_file = sys.argv[1:3]
    with open(plan_file) as source:
        plan = json.load(source)
    members = Members(plan["members"])
    addresses = loopback_addresses(plan["address_block"])
    results = {target: run_turn(target) for target in plan["targets"]}
    put_everything_right()
    with open(result_file, "w") as sink:
        json.dump(results, sink)


if __name__ == "__main__":
    main()
