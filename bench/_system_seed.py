"""bench/system.py's seed: 10,000 users with friendships, direct and group conversations with their messages,
written into every service's tables as the system itself would have left them, kept for the next run.

Not a benchmark itself (`make bench` skips bench/ modules whose name starts with "_").

What each service gets (ids derived from each thing's number, uuid5; every table written with COPY into a staging
table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING, as bench/_marketplace_seed.py does):
- auth: the users (username sysload_NNNNN, email, phone, every 10th verified), all with one password whose
  argon2id hash, made with auth's own parameters, is computed once and shared: signing in checks it as it
  checks any other.
- social: their profiles and the friendships (both rows of each).
- messaging: its users and friendships read models, the conversations (a direct one for about one in seven
  friendships, and groups of 3 to 8 friends owned by verified users) with their participants and messages:
  standard messages, Fernet-encrypted under messaging's own DATA_KEYS, salted and hashed as messaging does,
  sequenced in time order, each participant's read state somewhere in the conversation's last messages, the
  conversation's last activity its last message. Every message is announced as a sent one is: its
  messaging.message.created event goes into messaging's outbox in the same transaction (servicekit's publish,
  held to messaging's declared contract), so the relay publishes it and social (whose messages; the recipients'
  notifications) and the ledger (one leaf each) hear of it as of any other. seed() waits until both have.
- marketplace: the users read model (the buyers); the items are bench/_marketplace_seed.py's.

Messages per conversation follow a steep skew: most conversations hold a handful, about one in twelve a full page
(20) or more; groups a few more than direct conversations.

Where: the native stack's databases, as its services reach them (.dev/env/<service>.env), or a compose stack's,
through a local port relayed into its postgres container (PostgresRelay: the container publishes no port) as each
service's role, with the passwords and messaging's data keys of the stack's .env.

--remove-seed (remove_seed) deletes all of it again, in every service, with what the load added (messages sent
into seeded conversations, orders of seeded buyers, notifications and sessions of seeded users). The ledger keeps
its leaves: it is append-only, and keeps those of removed messages as it does for moderation's.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import random
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from servicekit.encryption import DataCipher
from servicekit.events import publish
from sqlalchemy.orm import Session

from _tables import copy_rows

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("auth", "social", "messaging", "ledger", "marketplace")
NAMESPACE = uuid.UUID("0b8f3c52-7d1e-4a96-b3f4-52c6e9a1d7f0")
USERNAME_PREFIX = "sysload_"
USERS = 10_000
PASSWORD = "Sysload-bench-password-2024"    # every seeded user's; the bench signs in with it
FRIENDS_EACH = 5            # friendships each user starts (about 10 friends each: 50,000 friendships)
NEAR = 200                  # most friends are within this many user numbers: circles of friends, so groups form
DIRECT_SHARE = 0.15         # friendships that have a direct conversation
GROUPS = 1_000
VERIFIED_EVERY = 10         # user n is verified when n % VERIFIED_EVERY == 0 (group owners are)
MESSAGES_MAX, MESSAGES_SKEW = 40, 9      # a conversation's messages: 1 + int(MAX * u**SKEW) (+ a few in a group)
HISTORY_DAYS = 365
CONSUMERS_TIMEOUT = 900.0   # how long social and the ledger may take to hear of the seeded messages

TEXTS = (
    "ok 👍", "haha", "On my way!", "See you at 8?", "Thanks, that's really kind of you.",
    "Did you get my email about Saturday?", "Running ten minutes late, sorry!",
    "Can you send me the address again?", "Happy birthday!! 🎉 Have a great day.",
    "I found the book you were looking for at the market, shall I get it for you?",
    "The meeting moved to Thursday at 3pm, same room as last time.",
    "Did you see the photos from the weekend? The one by the lake came out really well, I'll send the rest tonight.",
    "Can we move tomorrow's call to the afternoon? Something came up in the morning and I won't make it before "
    "lunch, sorry for the short notice! Same link as last week.",
    "Just landed. The flight was fine, a bit bumpy over the mountains. Going to grab something to eat and then "
    "head to the hotel; I'll call you once I'm settled in.",
    "Quick question about the flat: the landlord says the heating will be fixed on Monday, but only if someone is "
    "home between 9 and 12. Could you be there? I have an exam that morning.",
)
GROUP_NAMES = ("Weekend plans", "Book club", "Flatmates", "Football on Sundays", "Family", "Trip to the coast",
               "Study group", "Running club", "Board games night", "Band practice", "Birthday surprise",
               "Neighbours", "Climbing crew", "Choir", "Gardening tips")
DISPLAY_FIRST = ("Alex", "Sam", "Maria", "Jonas", "Lea", "Noah", "Emma", "Luca", "Mila", "Finn", "Sofia", "Elias",
                 "Hannah", "Ben", "Clara", "Paul", "Ida", "Leon", "Marta", "Oskar")
DISPLAY_LAST = ("Berg", "Novak", "Costa", "Meyer", "Lindqvist", "Moreau", "Rossi", "Kowalski", "Jensen", "Silva",
                "Horvat", "Dubois", "Weber", "Nilsen", "Ferreira", "Varga")


def user_id(n: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"user:{n}")


def username(n: int) -> str:
    return f"{USERNAME_PREFIX}{n:05d}"


# --- the world: who is friends with whom, who talks where, and what was said ----------------------------------

@dataclass(frozen=True)
class SeedMessage:
    id: uuid.UUID
    sender: int
    text: str
    at: dt.datetime


@dataclass
class SeedConversation:
    id: uuid.UUID
    kind: str                                   # direct | group
    members: tuple[int, ...]                    # user numbers, the owner first in a group
    created_at: dt.datetime
    name: str | None = None
    messages: list[SeedMessage] = field(default_factory=list)
    read_until: dict[int, int] = field(default_factory=dict)   # member -> messages read (a count, from the first)

    @property
    def owner(self) -> int | None:
        return self.members[0] if self.kind == "group" else None


@dataclass(frozen=True)
class World:
    users: int                                  # numbered 1..users
    friendships: list[tuple[int, int]]          # (a, b), a < b
    conversations: list[SeedConversation]

    @functools.cached_property
    def messages(self) -> list[SeedMessage]:
        return [message for conversation in self.conversations for message in conversation.messages]

    @functools.cached_property
    def conversations_of(self) -> dict[int, list[SeedConversation]]:
        mine: dict[int, list[SeedConversation]] = {}
        for conversation in self.conversations:
            for member in conversation.members:
                mine.setdefault(member, []).append(conversation)
        return mine


@functools.cache
def world(users: int = USERS) -> World:
    """The seed of `users` users, always the same (its own random generator) but for its times, which end now."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pick = random.Random(20241)
    pairs: set[tuple[int, int]] = set()
    for n in range(1, users + 1):
        for _ in range(FRIENDS_EACH):
            other = (n + pick.randint(1, NEAR)) if pick.random() < 0.8 else pick.randint(1, users)
            other = (other - 1) % users + 1
            if other != n:
                pairs.add((min(n, other), max(n, other)))
    friendships = sorted(pairs)
    friends: dict[int, list[int]] = {}
    for a, b in friendships:
        friends.setdefault(a, []).append(b)
        friends.setdefault(b, []).append(a)

    conversations = []
    for a, b in friendships:
        if pick.random() < DIRECT_SHARE:
            conversations.append(SeedConversation(uuid.uuid5(NAMESPACE, f"direct:{a}:{b}"), "direct", (a, b),
                                                  _past(pick, now)))
    owners = [n for n in range(VERIFIED_EVERY, users + 1, VERIFIED_EVERY) if len(friends.get(n, ())) >= 2]
    for g in range(GROUPS * users // USERS):
        owner = owners[g % len(owners)]
        members = pick.sample(friends[owner], min(len(friends[owner]), pick.randint(2, 7)))
        conversations.append(SeedConversation(uuid.uuid5(NAMESPACE, f"group:{g}"), "group", (owner, *members),
                                              _past(pick, now), name=pick.choice(GROUP_NAMES)))
    for conversation in conversations:
        _converse(pick, conversation, now)
    return World(users, friendships, conversations)


def _past(pick: random.Random, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=pick.uniform(3600, HISTORY_DAYS * 86400))


def _converse(pick: random.Random, conversation: SeedConversation, now: dt.datetime) -> None:
    """The conversation's messages, in time order, and how far each member has read."""
    count = 1 + int(MESSAGES_MAX * pick.random() ** MESSAGES_SKEW)
    if conversation.kind == "group":
        count += pick.randint(1, 5)
    span = (now - conversation.created_at).total_seconds()
    times = sorted(pick.uniform(0, span) for _ in range(count))
    for i, offset in enumerate(times):
        conversation.messages.append(SeedMessage(
            uuid.uuid5(NAMESPACE, f"message:{conversation.id}:{i}"), pick.choice(conversation.members),
            TEXTS[int(len(TEXTS) * pick.random() ** 1.5)], conversation.created_at + dt.timedelta(seconds=offset)))
    for member in conversation.members:
        # Most have read everything; the others are a few messages behind, but never behind their own last one.
        read = count if pick.random() < 0.6 else max(0, count - pick.randint(1, 5))
        own = [i + 1 for i, message in enumerate(conversation.messages) if message.sender == member]
        conversation.read_until[member] = max([read, *own[-1:]])


# --- the databases ----------------------------------------------------------------------------------------------

def _count(engine: sa.Engine, sql: str, **params) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.text(sql), params)


@dataclass(frozen=True)
class Databases:
    """The services' databases (by service name) and messaging's data keys: where the seed goes."""

    engines: Mapping[str, sa.Engine]
    messaging_data_keys: tuple[str, ...]

    def __getitem__(self, service: str) -> sa.Engine:
        return self.engines[service]


def _settings(path: Path) -> dict[str, str]:
    """KEY=value lines (an env file), comments left out."""
    return {key.strip(): value.strip().strip("'\"") for key, _, value in
            (line.partition("=") for line in path.read_text().splitlines())
            if value and not key.lstrip().startswith("#")}


def _data_keys(value: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in value.split(",") if key.strip())


@contextlib.contextmanager
def native_databases() -> Iterator[Databases]:
    """The native stack's databases, as its services connect to them (.dev/env/<service>.env)."""
    env = {service: ROOT / f".dev/env/{service}.env" for service in SERVICES}
    missing = [str(path.relative_to(ROOT)) for path in env.values() if not path.exists()]
    if missing:
        raise SystemExit(f"{', '.join(missing)} missing: start the native stack (make dev)")
    settings = {service: _settings(path) for service, path in env.items()}
    engines = {service: sa.create_engine(settings[service]["DATABASE_URL"]) for service in SERVICES}
    try:
        yield Databases(engines, _data_keys(settings["messaging"]["DATA_KEYS"]))
    finally:
        for engine in engines.values():
            engine.dispose()


@contextlib.contextmanager
def compose_databases(project: str) -> Iterator[Databases]:
    """A compose stack's databases, through a local port relayed into its postgres container, as each service's
    role with the password of the stack's .env (deploy/compose/up.sh writes it)."""
    secrets = _settings(ROOT / ".env") if (ROOT / ".env").exists() else {}
    if "MESSAGING_DATA_KEYS" not in secrets:
        raise SystemExit(".env has no MESSAGING_DATA_KEYS: start the compose stack first (deploy/compose/up.sh)")
    relay = PostgresRelay(project)
    engines = {service: sa.create_engine(f"postgresql+psycopg2://{service}:{secrets[service.upper() + '_DB_PASSWORD']}"
                                         f"@127.0.0.1:{relay.port}/{service}") for service in SERVICES}
    try:
        yield Databases(engines, _data_keys(secrets["MESSAGING_DATA_KEYS"]))
    finally:
        for engine in engines.values():
            engine.dispose()
        relay.close()


class PostgresRelay:
    """A local port relayed into a compose stack's postgres container (whose port is not published): each
    connection runs `docker compose exec -T postgres`, whose bash joins its standard input and output to the
    server's port inside the container."""

    JOIN = "exec 3<>/dev/tcp/127.0.0.1/5432; cat <&3 & exec cat >&3"

    def __init__(self, project: str) -> None:
        compose = ["docker", "compose"]
        if subprocess.run([*compose, "version"], capture_output=True).returncode != 0:
            compose = ["docker-compose"]
        self.command = [*compose, "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml"),
                        "-p", project, "exec", "-T", "postgres", "bash", "-c", self.JOIN]
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.processes: list[subprocess.Popen] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return          # closed
            process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)
            self.processes.append(process)
            threading.Thread(target=self._to_server, args=(client, process), daemon=True).start()
            threading.Thread(target=self._to_client, args=(client, process), daemon=True).start()

    @staticmethod
    def _to_server(client: socket.socket, process: subprocess.Popen) -> None:
        try:
            while data := client.recv(65536):
                process.stdin.write(data)
                process.stdin.flush()
        except OSError:
            pass
        with contextlib.suppress(OSError):
            process.stdin.close()

    @staticmethod
    def _to_client(client: socket.socket, process: subprocess.Popen) -> None:
        try:
            while data := process.stdout.read1(65536):
                client.sendall(data)
        except OSError:
            pass
        client.close()

    def close(self) -> None:
        self.listener.close()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                process.wait()


def seed(databases: Databases, users: int = USERS, report: Callable[[str], None] = print) -> bool:
    """Make sure the whole seed of `users` users is there (each service's part is added where it is missing) and
    that social and the ledger have heard of every seeded message; whether anything was added."""
    seeded = world(users)
    ids = [user_id(n) for n in range(1, users + 1)]
    started = time.monotonic()
    added = False
    password_hash = None
    if _count(databases["auth"], "SELECT count(*) FROM users WHERE id = ANY(:ids)", ids=ids) < users:
        password_hash = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash(PASSWORD)
        added |= _seed_auth(databases["auth"], users, password_hash)
    if _count(databases["social"], "SELECT count(*) FROM profiles WHERE user_id = ANY(:ids)", ids=ids) < users:
        added |= _seed_social(databases["social"], seeded)
    if _count(databases["marketplace"], "SELECT count(*) FROM users WHERE user_id = ANY(:ids)", ids=ids) < users:
        added |= _seed_marketplace(databases["marketplace"], users)
    conversation_ids = [conversation.id for conversation in seeded.conversations]
    if _count(databases["messaging"], "SELECT count(*) FROM conversations WHERE id = ANY(:ids)",
              ids=conversation_ids) < len(conversation_ids):
        added |= _seed_messaging(databases["messaging"], seeded, DataCipher(databases.messaging_data_keys))
    if added:
        _analyze(databases)
        report(f"seeded {users:,} users, {len(seeded.friendships):,} friendships, {len(seeded.conversations):,} "
               f"conversations and {len(seeded.messages):,} messages into auth, social, messaging and marketplace "
               f"(COPY, then INSERT ... SELECT) in {time.monotonic() - started:.0f}s")
    _wait_for_consumers(databases, seeded, report)
    return added


def _analyze(databases: Databases) -> None:
    """Fresh statistics and visibility maps for the tables the seed filled (as after any bulk load)."""
    tables = {"auth": "users", "social": "profiles, friendships",
              "messaging": "users, friendships, conversations, participants, messages, outbox",
              "marketplace": "users"}
    for service, names in tables.items():
        with databases[service].connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"VACUUM ANALYZE {names}")


def _seed_auth(engine: sa.Engine, users: int, password_hash: str) -> bool:
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        added = copy_rows(connection, "users", "id, username, email, phone, password_hash, verified, created_at",
                      ((user_id(n), username(n), f"{username(n)}@load.bench.test", f"+4479{n:08d}", password_hash,
                        n % VERIFIED_EVERY == 0, now - dt.timedelta(days=HISTORY_DAYS + 1))
                       for n in range(1, users + 1)))
    return _all_added("auth", "users", added, users)


def _seed_social(engine: sa.Engine, seeded: World) -> bool:
    pick = random.Random(7)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=HISTORY_DAYS + 1)
    with engine.begin() as connection:
        added = copy_rows(connection, "profiles", "user_id, username, display_name, verified, banned",
                      ((user_id(n), username(n),
                        f"{pick.choice(DISPLAY_FIRST)} {pick.choice(DISPLAY_LAST)}" if pick.random() < 0.8 else None,
                        n % VERIFIED_EVERY == 0, False) for n in range(1, seeded.users + 1)))
        _all_added("social", "profiles", added, seeded.users)
        friendships = copy_rows(connection, "friendships", "user_id, friend_id, created_at",
                            ((user_id(x), user_id(y), since)
                             for a, b in seeded.friendships for x, y in ((a, b), (b, a))))
    return _all_added("social", "friendships", friendships, 2 * len(seeded.friendships))


def _seed_marketplace(engine: sa.Engine, users: int) -> bool:
    with engine.begin() as connection:
        added = copy_rows(connection, "users", "user_id, username, verified, banned",
                      ((user_id(n), username(n), n % VERIFIED_EVERY == 0, False) for n in range(1, users + 1)))
    return _all_added("marketplace", "users", added, users)


def _seed_messaging(engine: sa.Engine, seeded: World, cipher: DataCipher) -> bool:
    """Users, friendships, conversations, messages and participants (their read state needs the messages' seq), and
    each message's event: one transaction."""
    messages = sorted(((conversation, message) for conversation in seeded.conversations
                       for message in conversation.messages), key=lambda pair: pair[1].at)
    with engine.begin() as connection:
        copy_rows(connection, "users", "user_id, username, verified, banned",
              ((user_id(n), username(n), n % VERIFIED_EVERY == 0, False) for n in range(1, seeded.users + 1)))
        copy_rows(connection, "friendships", "user_id, friend_id",
              ((user_id(x), user_id(y)) for a, b in seeded.friendships for x, y in ((a, b), (b, a))))
        copy_rows(connection, "conversations", "id, type, name, owner_id, pair_key, created_at, last_message_at",
              ((c.id, c.kind, c.name, c.owner and user_id(c.owner),
                ":".join(sorted(str(user_id(member)) for member in c.members)) if c.kind == "direct" else None,
                c.created_at, c.messages[-1].at if c.messages else None) for c in seeded.conversations))
        stored = {}
        rows = []
        for conversation, message in messages:
            text, salt = message.text.encode(), os.urandom(16)
            sha = hashlib.sha256(salt + text).hexdigest()
            stored[message.id] = sha
            rows.append((message.id, conversation.id, user_id(message.sender), "standard", cipher.encrypt(text), salt,
                         sha, message.at))
        added = copy_rows(connection, "messages",
                      "id, conversation_id, sender_id, kind, content, content_salt, content_sha256, created_at", rows)
        _all_added("messaging", "messages", added, len(rows))
        seq = dict(connection.execute(sa.text("SELECT id, seq FROM messages WHERE id = ANY(:ids)"),
                                      {"ids": list(stored)}).all())
        copy_rows(connection, "participants", "conversation_id, user_id, role, joined_at, last_read_seq",
              ((c.id, user_id(member), "owner" if member == c.owner else "member", c.created_at,
                seq[c.messages[c.read_until[member] - 1].id] if c.read_until[member] else 0)
               for c in seeded.conversations for member in c.members))
        _announce(Session(bind=connection), messages, stored)
    return True


def _announce(session: Session, messages: list[tuple[SeedConversation, SeedMessage]], sha: dict[uuid.UUID, str]
              ) -> None:
    """messaging.message.created for every seeded message, as messaging publishes it (its outbox, this
    transaction). messaging's package is imported here, once the bench's own folder (whose messaging.py is a
    benchmark) is off sys.path: bench/system.py takes it off."""
    import messaging.events  # noqa: F401, PLC0415  (declares messaging's contracts, which publish holds the events to)

    for conversation, message in messages:
        everyone = sorted(user_id(member) for member in conversation.members)
        sender = user_id(message.sender)
        publish(session, "messaging.message.created", {
            "message_id": message.id, "conversation_id": conversation.id, "conversation_type": conversation.kind,
            "sender_id": sender, "recipient_ids": [member for member in everyone if member != sender],
            "kind": "standard", "content_sha256": sha[message.id], "signature_fingerprint": None,
            "created_at": message.at})


def _all_added(service: str, table: str, added: int, wanted: int) -> bool:
    """A seed's rows are all new or all there already: anything in between is a clash (e.g. a username taken)."""
    if added not in (0, wanted):
        raise SystemExit(f"{service}.{table}: {added:,} of {wanted:,} seeded rows added; the others clash with rows "
                         "already there (bench/system.py --remove-seed, then run again)")
    return added > 0


def _wait_for_consumers(databases: Databases, seeded: World, report: Callable[[str], None]) -> None:
    """Until social and the ledger have heard of every seeded message (its events cross the bus)."""
    ids = [message.id for message in seeded.messages]
    queries = {"social": (databases["social"], "SELECT count(*) FROM known_messages WHERE message_id = ANY(:ids)"),
               "ledger": (databases["ledger"], "SELECT (SELECT count(*) FROM entries WHERE message_id = ANY(:ids)) "
                                               "+ (SELECT count(*) FROM pending_entries WHERE message_id = ANY(:ids))")}
    deadline = time.monotonic() + CONSUMERS_TIMEOUT
    said = 0.0
    while True:
        heard = {name: _count(engine, sql, ids=ids) for name, (engine, sql) in queries.items()}
        if all(count >= len(ids) for count in heard.values()):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the seeded messages' events did not all arrive in {CONSUMERS_TIMEOUT:.0f}s: "
                             + ", ".join(f"{name} {count:,}/{len(ids):,}" for name, count in heard.items()))
        if time.monotonic() - said > 15:
            report("waiting for social and the ledger to hear of the seeded messages: "
                   + ", ".join(f"{name} {count:,}/{len(ids):,}" for name, count in heard.items()))
            said = time.monotonic()
        time.sleep(5)


# --- who the load signs in as -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    """A seeded user the load acts as: who, and the conversations they take part in (the most active first)."""

    n: int
    id: uuid.UUID
    username: str
    conversations: list[uuid.UUID]


def members(count: int, users: int = USERS) -> list[Member]:
    """`count` of the `users` seeded users with at least three conversations, spread over the numbers (always the
    same ones)."""
    seeded = world(users)
    talkative = [n for n in range(1, users + 1) if len(seeded.conversations_of.get(n, ())) >= 3]
    if len(talkative) < count:
        raise SystemExit(f"only {len(talkative)} seeded users have three conversations or more; {count} wanted")
    step = len(talkative) / count
    chosen = [talkative[int(i * step)] for i in range(count)]
    return [Member(n, user_id(n), username(n),
                   [c.id for c in sorted(seeded.conversations_of[n], key=lambda c: -len(c.messages))])
            for n in chosen]


# --- removing it -------------------------------------------------------------------------------------------------

def remove_seed(databases: Databases, users: int = USERS, report: Callable[[str], None] = print) -> None:
    """Delete the seed of `users` users from every service, with everything of theirs (what the load added
    included)."""
    ids = [user_id(n) for n in range(1, users + 1)]
    conversations = [conversation.id for conversation in world(users).conversations]
    removed = {}
    statements = {
        "messaging": [("conversations", "DELETE FROM conversations WHERE id = ANY(:conversations)"),
                      (None, "DELETE FROM participants WHERE user_id = ANY(:ids)"),
                      (None, "DELETE FROM friendships WHERE user_id = ANY(:ids) OR friend_id = ANY(:ids)"),
                      (None, "DELETE FROM blocks WHERE blocker_id = ANY(:ids) OR blocked_id = ANY(:ids)"),
                      (None, "DELETE FROM stream_events WHERE user_id = ANY(:ids)"),
                      ("messaging users", "DELETE FROM users WHERE user_id = ANY(:ids)")],
        "social": [("notifications", "DELETE FROM notifications WHERE user_id = ANY(:ids)"),
                   (None, "DELETE FROM known_messages WHERE sender_id = ANY(:ids)"),
                   (None, "DELETE FROM friendships WHERE user_id = ANY(:ids) OR friend_id = ANY(:ids)"),
                   (None, "DELETE FROM friend_requests WHERE sender_id = ANY(:ids) OR recipient_id = ANY(:ids)"),
                   (None, "DELETE FROM blocks WHERE blocker_id = ANY(:ids) OR blocked_id = ANY(:ids)"),
                   ("profiles", "DELETE FROM profiles WHERE user_id = ANY(:ids)")],
        "marketplace": [("orders", "DELETE FROM orders WHERE buyer_id = ANY(:ids)"),
                        (None, "DELETE FROM cart_lines WHERE buyer_id = ANY(:ids)"),
                        (None, "DELETE FROM users WHERE user_id = ANY(:ids)")],
        "auth": [(None, "DELETE FROM login_attempts WHERE user_id = ANY(:ids)"),
                 ("auth users", "DELETE FROM users WHERE id = ANY(:ids)")],
    }
    for service, steps in statements.items():
        with databases[service].begin() as connection:
            for name, statement in steps:
                count = connection.execute(sa.text(statement), {"ids": ids, "conversations": conversations}).rowcount
                if name:
                    removed[name] = count
    report("removed " + ", ".join(f"{count:,} {name}" for name, count in removed.items())
           + " (the ledger keeps its leaves of the seeded messages: it is append-only)")
