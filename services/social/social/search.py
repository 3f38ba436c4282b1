"""User search: by username and display name, substring and fuzzy, ranked, a page at a time.

A query is matched against `Profile.search_text` (username and display name,
lower-cased) on its trigram GIN index: as a substring (LIKE, its wildcards taken
literally) and, when it has a word long enough to be told apart from others (six
letters at the default similarity, see `_misspellable`), fuzzily too, by pg_trgm word
similarity (`q <% search_text`), so that a misspelt name still finds its user.
Results come in tiers: the exact username, usernames starting with the query, display
names with a word starting with it, other substrings, then the merely similar. Within
a tier the shorter name (the one the query covers most) comes first, similar ones by
similarity. The rank is one integer, so that it and the user id make the page cursor.

A query with no trigram to look up (one or two characters, or one word shorter than
three letters among other signs) would make the GIN index read every entry: it matches
the start of usernames instead, in alphabetical order, on a btree index of
`lower(username) text_pattern_ops` (which turns a LIKE prefix into an index range
whatever the database's collation).

The searcher is not among the results (search finds others: whom to befriend, message
or block, none of which one does to oneself), nor are banned users, nor anyone who
blocked the searcher or whom the searcher blocked.
"""
from __future__ import annotations

import re
import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.pagination import keyset_page
from sqlalchemy.orm import Session

from social.models import Friendship, Profile
from social.relations import no_block_between

QUERY_MAX_CHARS = 64
TIER = 1_000_000  # rank = tier * TIER + the place within the tier, always below TIER
EXACT, USERNAME_PREFIX, WORD_PREFIX, SUBSTRING, SIMILAR = range(5)
_WORD = re.compile(r"[^\W_]+")  # pg_trgm's words: runs of letters and digits


def normalized_query(text: str) -> str:
    """The query as matched: surrounding whitespace stripped, inner runs of it made one space."""
    return " ".join(text.split())


def search_users(session: Session, viewer_id: uuid.UUID, q: str, *, min_similarity: float, limit: int,
                 cursor: list | None) -> dict[str, Any]:
    """A page of the users `viewer_id` finds with `q` (1 to 64 characters), best first.

    `min_similarity`: how alike (pg_trgm word similarity, 0 to 1) a name must be to count as
    a near miss. A cursor of a page of another `q` may not fit: `Invalid`, as keyset_page says.
    """
    q = normalized_query(q)
    words = _WORD.findall(q)
    # A trigram to look up: a word of three letters, or two words (one's edge next to the other's).
    if any(len(word) >= 3 for word in words) or len(words) >= 2:
        _set_locally(session, {
            "pg_trgm.word_similarity_threshold": str(min_similarity),  # what `<%` means
            # The planner prices the trigram operators like `=`: with thousands of matches it would
            # rather run them on every row, a sequential scan ten times slower than the index.
            "enable_seqscan": "off",
            # A parallel worker takes longer to start than this query takes to run.
            "max_parallel_workers_per_gather": "0",
        })
        fuzzy = any(_misspellable(word, min_similarity) for word in words)
        query, keys = _by_trigrams(viewer_id, q, fuzzy=fuzzy)
    else:
        query, keys = _by_username_start(viewer_id, q)
    return keyset_page(session, query, keys=keys, descending=False, limit=limit, cursor=cursor)


def _by_trigrams(viewer_id: uuid.UUID, q: str, *, fuzzy: bool) -> tuple[sa.Select, list[sa.ColumnElement]]:
    """Profiles with `q` in their names (or, if `fuzzy`, a name like it), and their rank: the query and its keys."""
    # lower() as search_text has it (PostgreSQL's, which is not Python's for every letter).
    lowered, pattern = sa.func.lower(q), sa.func.lower(_like_escaped(q))
    matches = Profile.search_text.contains(pattern, escape="\\")
    if fuzzy:
        matches = matches | lowered.op("<%", is_comparison=True)(Profile.search_text)
    rank = _rank(lowered, pattern).label("rank")
    return _visible_to(viewer_id, rank).where(matches), [rank, Profile.user_id]


def _by_username_start(viewer_id: uuid.UUID, q: str) -> tuple[sa.Select, list[sa.ColumnElement]]:
    """Profiles whose username starts with `q`, in alphabetical order: the query and its key."""
    username = sa.func.lower(Profile.username)
    # In the C collation's order (that of the bytes): no index gives it, so the planner finds the
    # prefix's rows on the text_pattern_ops index rather than walking the unique index in order.
    name = sa.type_coerce(username.collate("C"), sa.String).label("name")
    starts = username.startswith(sa.func.lower(_like_escaped(q)), escape="\\")
    return _visible_to(viewer_id, name).where(starts), [name]


def _misspellable(word: str, min_similarity: float) -> bool:
    """Whether a near miss of `word` can be told from any word that merely starts like it.

    Word similarity is the share of the query's trigrams (n + 1 for n letters) found in the name;
    any word starting with the same three letters has three of them ("  b", " be", "ber"). Where
    that is enough, every name sharing a common first syllable is "similar": thousands of them,
    the misspelt one lost among them, and tens of milliseconds to rank. With 0.45, from 6 letters.
    """
    return min_similarity * (len(word) + 1) > 3


def _rank(q: sa.ColumnElement[str], pattern: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
    """Where a profile matching `q` (`pattern`: q escaped for LIKE) ranks, lower first.

    Word similarity is worked out for the last tier only: it costs microseconds a row, and a
    common syllable is a substring of thousands of names.
    """
    username = sa.func.lower(Profile.username)
    name_length = sa.func.length(Profile.search_text)
    dissimilarity = 1 - sa.func.word_similarity(q, Profile.search_text)
    return sa.case(
        (username == q, EXACT * TIER),
        (username.startswith(pattern, escape="\\"), USERNAME_PREFIX * TIER + sa.func.length(Profile.username)),
        (Profile.search_text.contains(" " + pattern, escape="\\"), WORD_PREFIX * TIER + name_length),
        (Profile.search_text.contains(pattern, escape="\\"), SUBSTRING * TIER + name_length),
        else_=SIMILAR * TIER + sa.cast(sa.func.round(dissimilarity * (TIER - 1)), sa.Integer),
    )


def _visible_to(viewer_id: uuid.UUID, *columns: sa.ColumnElement) -> sa.Select:
    """Profiles the viewer may find, as result rows (whether each is the viewer's friend, and `columns`)."""
    is_friend = sa.exists().where(Friendship.user_id == viewer_id, Friendship.friend_id == Profile.user_id)
    return (sa.select(Profile.user_id, Profile.username, Profile.display_name, Profile.verified, Profile.avatar_id,
                      is_friend.label("is_friend"), *columns)
            .where(Profile.user_id != viewer_id, ~Profile.banned, no_block_between(viewer_id, Profile.user_id)))


def _set_locally(session: Session, settings: dict[str, str]) -> None:
    """SET LOCAL these (they end with the transaction), in one round trip, as bound values."""
    session.execute(sa.select(*(sa.func.set_config(name, value, True) for name, value in settings.items())))


def _like_escaped(text: str) -> str:
    """`text` as a LIKE pattern matching itself (with ESCAPE '\\'): %, _ and \\ are literal."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
