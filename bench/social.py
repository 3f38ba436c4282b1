"""Benchmark: social through the gateway — user search and the unread count, next to social's healthz.

Seeds the native stack's social database (`make bench` starts the stack when it is not running)
with --profiles profiles (100k by default: names made of syllables, so trigram selectivity is
like real names'; most with a display name; some verified, a few banned) and a few notifications
each, in single INSERT ... SELECT statements, once: they are kept for the next run (their ids are
derived from their number), and `--remove-seed` deletes them. It then registers --users accounts
through auth, gives each blocks both ways, friends and notifications (50 unread), and measures,
through the gateway at BEYOU_GATEWAY_URL, requests/s, p50 and p99 of:

  search         users/search?q=... cycling through a mix of queries made from the seeded names:
                 username prefixes (two characters among them), substrings of usernames and display
                 names, misspellings (a letter swapped, dropped or changed) and exact usernames
  unread-count   notifications/unread-count
  healthz        /api/social/healthz: the ceiling, servicekit's request plumbing without a token

and prints each as a share of the ceiling. The targets take turns in short rounds (in a rotating
order), so whatever else runs on the machine weighs on each alike; the ratio printed is the median
of the rounds' ratios, with their range. The bar for search is a p99 under 50 ms at the service, so
the bench also prints the service's own view: the duration_ms of every search and unread-count
request in social's request log (.dev/logs/social.log), found by the X-Request-ID the bench sends.

The gateway limits request rates per client address, so each connection sends from a loopback
address of its own (127.0.x.y) and moves to a fresh one long before the burst allowance is spent:
the figures measure the service, not the rate limiter. The load generator (bench/_loadgen.py) shares this machine's
cores with the gateway, the services and PostgreSQL, equally for every target.

Options: --seconds S per target and load, in --rounds R turns, each after --warmup S; --connections
N[,N...] the loads; --profiles P seeded; --users U signed-in searchers; --remove-seed.
"""
from __future__ import annotations

import argparse
import itertools
import os
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from _loadgen import (
    Gateway,
    access_token,
    add_round_options,
    call,
    get_request,
    measure_in_rounds,
    service_durations,
    quantile,
    ratio,
    register,
)

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = Gateway.from_environment()
SOCIAL_ENV = ROOT / ".dev/env/social.env"   # the native stack's social settings (deploy/dev/infra.sh)
SOCIAL_LOG = ROOT / ".dev/logs/social.log"  # its API's output: servicekit's request log, one JSON line each
SEED_MARK = "Seeded by bench/social.py"     # the seeded profiles' bio


# --- the seed -------------------------------------------------------------------------

SYLLABLES = ("an ar ba be bo ca ce da de di do el en fa fe ga gi ha he i in is ja jo ka ke ki la le li lo lu "
             "ma me mi mo na ne ni no o ol pa pe ra re ri ro ru sa se si so ta te ti to u va ve vi ya yo za zo "
             "th sh ch kr st mar lin ton son ber ley ric bert lan dra vin nor wen ther gan ros mel dan ell ash "
             "eth fin gret hal ius jan kel mor nic pat").split()

# Profile n (1..:count) has the id md5('bench-social:' || n): seeding again adds nothing. A name is
# two or three syllables; usernames are first+last, first+digits, first_last, first.last or
# x+first+x, made unique by "_n" (which no other pattern ends with).
SEED_PROFILES = sa.text("""
WITH syllables AS (SELECT CAST(:syllables AS text[]) AS s),
parts AS (
  SELECT n,
    s[1 + floor(random() * cardinality(s))::int] || s[1 + floor(random() * cardinality(s))::int]
      || CASE WHEN random() < 0.5 THEN s[1 + floor(random() * cardinality(s))::int] ELSE '' END AS first,
    s[1 + floor(random() * cardinality(s))::int] || s[1 + floor(random() * cardinality(s))::int]
      || CASE WHEN random() < 0.6 THEN s[1 + floor(random() * cardinality(s))::int] ELSE '' END AS last,
    s[1 + floor(random() * cardinality(s))::int] AS extra, random() AS r1, random() AS r2
  FROM syllables, generate_series(1, :count) AS n
),
named AS (
  SELECT n, first, last, r1, r2, left(CASE WHEN r1 < 0.35 THEN first || last
                                         WHEN r1 < 0.6 THEN first || floor(r2 * 100)::int
                                         WHEN r1 < 0.75 THEN first || '_' || last
                                         WHEN r1 < 0.9 THEN first || '.' || last
                                         ELSE extra || first || extra END, 25) AS base
  FROM parts
),
numbered AS (SELECT *, row_number() OVER (PARTITION BY base ORDER BY n) AS k FROM named)
INSERT INTO profiles (user_id, username, display_name, bio, verified, banned)
SELECT md5('bench-social:' || n)::uuid, CASE WHEN k = 1 THEN base ELSE base || '_' || n END,
       CASE WHEN r2 < 0.85 THEN initcap(first) || ' ' || initcap(last) END, :mark, r2 < 0.1, r1 > 0.995
FROM numbered
ON CONFLICT DO NOTHING
""")

# Two notifications per seeded profile (one read), so the unread count reads a realistic index.
SEED_NOTIFICATIONS = sa.text("""
INSERT INTO notifications (id, user_id, kind, source_id, actor_id, created_at, read_at)
SELECT md5('bench-social-notification:' || n || ':' || k)::uuid, md5('bench-social:' || n)::uuid,
       'friend_request.received', md5('bench-social-source:' || n || ':' || k)::uuid,
       md5('bench-social:' || (n % :count + 1))::uuid, now() - make_interval(hours => k),
       CASE WHEN k = 1 THEN now() END
FROM generate_series(1, :count) AS n, generate_series(1, 2) AS k
ON CONFLICT DO NOTHING
""")


def social_database() -> sa.Engine:
    """The native stack's social database, as its API connects to it."""
    if not SOCIAL_ENV.exists():
        raise SystemExit(f"{SOCIAL_ENV.relative_to(ROOT)} is missing: start the native stack (make dev)")
    settings = dict(line.split("=", 1) for line in SOCIAL_ENV.read_text().splitlines()
                    if "=" in line and not line.lstrip().startswith("#"))
    return sa.create_engine(settings["DATABASE_URL"].strip().strip("'\""))


def seed(engine: sa.Engine, count: int) -> int:
    """Seed `count` profiles unless they are there (from an earlier run); how many there are."""
    with engine.begin() as connection:
        present = connection.scalar(sa.text("SELECT count(*) FROM profiles WHERE bio = :mark"), {"mark": SEED_MARK})
    if present >= count:
        print(f"{present:,} seeded profiles already there", flush=True)
        return present
    started = time.monotonic()
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT setseed(0.42)"))
        connection.execute(SEED_PROFILES, {"syllables": list(SYLLABLES), "count": count, "mark": SEED_MARK})
        connection.execute(SEED_NOTIFICATIONS, {"count": count})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE profiles, notifications"))
    print(f"seeded {count:,} profiles and {2 * count:,} notifications in {time.monotonic() - started:.0f}s",
          flush=True)
    return count


def remove_seed(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        notifications = connection.execute(sa.text(
            "DELETE FROM notifications WHERE user_id IN (SELECT user_id FROM profiles WHERE bio = :mark)"),
            {"mark": SEED_MARK}).rowcount
        profiles = connection.execute(sa.text("DELETE FROM profiles WHERE bio = :mark"), {"mark": SEED_MARK}).rowcount
    print(f"removed {profiles:,} seeded profiles and {notifications:,} of their notifications")


def surround(engine: sa.Engine, user_id: uuid.UUID, username: str, n: int, count: int) -> None:
    """Give bench user `n` a profile (if the worker has not yet), 50 blocks each way, 100 friends,
    50 unread and 150 read notifications; the others are seeded profiles."""
    params = {"id": str(user_id), "name": username, "n": n, "count": count}
    deadline = time.monotonic() + 30
    with engine.connect() as connection:
        while connection.scalar(sa.text("SELECT count(*) FROM profiles WHERE user_id = CAST(:id AS uuid)"),
                                params) == 0:
            if time.monotonic() > deadline:  # social's worker is behind or down: write what it would
                connection.execute(sa.text("INSERT INTO profiles (user_id, username) VALUES (CAST(:id AS uuid), "
                                           ":name) ON CONFLICT DO NOTHING"), params)
                break
            time.sleep(0.2)
        connection.commit()
    others = ("SELECT md5('bench-social:' || ((:n * 1000 + i) % :count + 1))::uuid AS other, i, CAST(:id AS uuid) "
              "AS me FROM generate_series(1, 200) AS i")
    with engine.begin() as connection:
        connection.execute(sa.text(f"INSERT INTO blocks (blocker_id, blocked_id) SELECT me, other FROM ({others}) "
                                   "AS o WHERE i <= 50 ON CONFLICT DO NOTHING"), params)
        connection.execute(sa.text(f"INSERT INTO blocks (blocker_id, blocked_id) SELECT other, me FROM ({others}) "
                                   "AS o WHERE i > 50 AND i <= 100 ON CONFLICT DO NOTHING"), params)
        connection.execute(sa.text(f"INSERT INTO friendships (user_id, friend_id) SELECT a, b FROM ({others}) AS o, "
                                   "LATERAL (VALUES (me, other), (other, me)) AS pair (a, b) WHERE i > 100 "
                                   "ON CONFLICT DO NOTHING"), params)
        connection.execute(sa.text(
            f"INSERT INTO notifications (id, user_id, kind, source_id, actor_id, created_at, read_at) "
            f"SELECT gen_random_uuid(), me, 'friend_request.received', gen_random_uuid(), other, "
            f"now() - make_interval(mins => i), CASE WHEN i > 50 THEN now() END FROM ({others}) AS o"), params)


def search_queries(engine: sa.Engine, how_many: int = 400) -> list[str]:
    """A mix of what people type: prefixes, substrings, misspellings and exact usernames of seeded users."""
    with engine.begin() as connection:
        names = connection.execute(sa.text(
            "SELECT username, coalesce(display_name, '') FROM profiles WHERE bio = :mark AND NOT banned "
            "ORDER BY user_id LIMIT :n"), {"mark": SEED_MARK, "n": how_many}).all()
    pick = random.Random(7)
    queries = []
    for username, display_name in names:
        word = pick.choice([username, *display_name.lower().split()])
        kind = pick.random()
        if kind < 0.3:
            queries.append(username[:pick.choice((2, 3, 4, 5))])
        elif kind < 0.6:
            length = min(len(word), pick.choice((3, 4, 5, 6)))
            start = pick.randrange(len(word) - length + 1)
            queries.append(word[start:start + length])
        elif kind < 0.9 and len(word) >= 5:
            queries.append(misspelt(word, pick))
        else:
            queries.append(username)
    return queries


def misspelt(word: str, pick: random.Random) -> str:
    at = pick.randrange(1, len(word) - 1)
    edit = pick.choice(("swap", "drop", "change"))
    if edit == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    if edit == "drop":
        return word[:at] + word[at + 1:]
    return word[:at] + pick.choice("aeiouklmnrst") + word[at + 1:]


# --- the load ---------------------------------------------------------------------------

@dataclass
class Target:
    name: str
    paths: list[str]   # cycled through by every connection, each from its own place
    needs_token: bool

    def requests(self, connections: int, tokens: list[str], request_id: str) -> list[Iterator[bytes]]:
        """What each connection sends: the paths in turn, each connection from its own place."""
        if not self.needs_token:
            tokens = [None]
        built = {token: [get_request(GATEWAY, path, token, request_id) for path in self.paths] for token in tokens}
        return [itertools.islice(itertools.cycle(built[tokens[i % len(tokens)]]),
                                 i * len(self.paths) // connections, None) for i in range(connections)]




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_round_options(parser)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--remove-seed", action="store_true", help="delete the seeded profiles and stop")
    args = parser.parse_args()

    engine = social_database()
    if args.remove_seed:
        remove_seed(engine)
        return
    status, _ = call(GATEWAY, "GET", "/api/social/readyz")
    if status != 200:
        raise SystemExit(f"social is not ready through {GATEWAY.url} ({status}): start the stack (make dev)")
    profiles = seed(engine, args.profiles)
    users = [register(GATEWAY) for _ in range(args.users)]
    for n, (user_id, user) in enumerate(users):
        surround(engine, user_id, user["username"], n, args.profiles)
    queries = search_queries(engine)
    run = uuid.uuid4().hex[:8]
    targets = [Target("search", [f"/api/social/users/search?q={quote(q)}" for q in queries], True),
               Target("unread-count", ["/api/social/notifications/unread-count"], True),
               Target("healthz", ["/api/social/healthz"], False)]
    request_ids = {target.name: f"bench-social-{run}-{target.name}" for target in targets}
    print(f"social benchmark through {GATEWAY.url} (native stack, 2 gunicorn workers per app): "
          f"{profiles:,} profiles, {args.users} users, {len(queries)} search queries, {args.seconds:g}s per "
          f"target and load in {args.rounds} rounds, on {os.cpu_count()} cores", flush=True)
    for connections in args.connections:
        tokens = [access_token(GATEWAY, user) for _user_id, user in users]
        for target in targets:
            status, body = call(GATEWAY, "GET", target.paths[0], token=tokens[0] if target.needs_token else None)
            assert status == 200, (target.paths[0], status, body)
        log_offset = SOCIAL_LOG.stat().st_size if SOCIAL_LOG.exists() else None
        requests = {target.name: target.requests(connections, tokens, request_ids[target.name])
                    for target in targets}
        results = measure_in_rounds(GATEWAY, requests, args.seconds, args.rounds, args.warmup)
        print(f"{connections} connections:", flush=True)
        for result in results.values():
            print(result.line(), flush=True)
        print("  " + ", ".join(f"{name}/healthz {ratio(results[name], results['healthz'])}"
                               for name in ("search", "unread-count")), flush=True)
        if log_offset is None:
            print(f"  at the service: {SOCIAL_LOG.relative_to(ROOT)} not found", flush=True)
            continue
        durations = service_durations(SOCIAL_LOG, log_offset, {name: request_ids[name] for name in ("search", "unread-count")})
        print("  at the service (its request log): " + ", ".join(
            f"{name} p50 {quantile(values, 50):.1f} ms, p99 {quantile(values, 99):.1f} ms ({len(values):,} requests)"
            for name, values in durations.items()), flush=True)


if __name__ == "__main__":
    main()
