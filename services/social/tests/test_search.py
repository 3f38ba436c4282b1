import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from social.models import Block, Friendship, Profile
from social.read_models import create_profile

SEARCH = "/api/social/users/search"


def fresh_word(length: int = 8) -> str:
    """Letters no other test's names contain by chance (g to v, from a random UUID)."""
    return "".join(chr(ord("g") + int(digit, 16)) for digit in uuid.uuid4().hex[:length])


@pytest.fixture
def profile(session):
    """`profile(username, display_name=None, banned=False) -> user id`: a profile as auth's events make it."""
    def make(username: str, display_name: str | None = None, *, banned: bool = False) -> uuid.UUID:
        user_id = uuid.uuid4()
        create_profile(session, user_id=user_id, username=username, created_at=dt.datetime.now(dt.UTC))
        session.execute(sa.update(Profile).where(Profile.user_id == user_id)
                        .values(display_name=display_name, banned=banned))
        session.commit()
        return user_id
    return make


@pytest.fixture
def searcher(token_issuer):
    user_id = uuid.uuid4()
    return user_id, {"Authorization": f"Bearer {token_issuer.issue(user_id)}"}


@pytest.fixture
def search(app, searcher):
    """`search(q, **params) -> response` as the searcher."""
    def get(q, headers=None, **params):
        return app.test_client().get(SEARCH, query_string={"q": q, **params},
                                     headers=searcher[1] if headers is None else headers)
    return get


def usernames(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["username"] for item in response.json["items"]]


def every_page(search, q: str, limit: int) -> list[str]:
    found, cursor = [], None
    while True:
        response = search(q, limit=limit, **({"cursor": cursor} if cursor else {}))
        found += usernames(response)
        cursor = response.json["next_cursor"]
        if cursor is None:
            return found


def test_a_user_is_found_by_part_of_their_username(search, profile):
    word = fresh_word()
    profile(f"x{word}y")

    response = search(word[1:7])

    assert usernames(response) == [f"x{word}y"]
    found = response.json["items"][0]
    assert set(found) == {"user_id", "username", "display_name", "verified", "avatar", "is_friend"}


def test_a_user_is_found_by_part_of_their_display_name_in_any_case(search, profile):
    word = fresh_word()
    profile(f"u{uuid.uuid4().hex[:12]}", f"Ada {word.capitalize()}son")

    assert usernames(search(f"{word.upper()}SON")) != []
    assert search(f"{word}son").json["items"][0]["display_name"] == f"Ada {word.capitalize()}son"


def test_a_misspelt_name_finds_the_user(search, profile):
    word = fresh_word()
    profile(f"{word}richardson")

    assert usernames(search(f"{word}richadrson")) == [f"{word}richardson"]
    assert usernames(search(f"{word}richardsen")) == [f"{word}richardson"]


def test_the_exact_username_comes_first_then_prefixes_then_display_names_then_substrings_then_similar(
        search, profile):
    word = fresh_word()
    similar = profile(f"{word[:-1]}zmarsh")          # one letter of the word changed
    substring = profile(f"the{word}s")
    display_name = profile(f"u{uuid.uuid4().hex[:12]}", f"Jo {word}")
    longer_prefix = profile(f"{word}smiths")
    prefix = profile(f"{word}s")
    exact = profile(word)

    found = [uuid.UUID(item["user_id"]) for item in search(word).json["items"]]

    assert found == [exact, prefix, longer_prefix, display_name, substring, similar]


def test_pages_together_hold_every_match_once_in_the_order_of_one_long_page(search, profile):
    word = fresh_word()
    for name in (word, f"{word}1", f"{word}2", f"a{word}", f"b{word}", f"{word}_x", f"c{word}c"):
        profile(name)
    profile(f"u{uuid.uuid4().hex[:12]}", f"Same {word}")
    profile(f"u{uuid.uuid4().hex[:12]}", f"Same {word}")  # an equal rank: the user id decides

    whole = usernames(search(word, limit=50))

    assert len(whole) == 9
    assert every_page(search, word, limit=2) == whole


def test_one_or_two_characters_find_usernames_starting_with_them_in_alphabetical_order(search, profile):
    word = fresh_word()
    start = f"w{word[0]}"
    for name in (f"{start}{word}b", f"{start}{word}a", f"{start}{word}"):
        profile(name)
    profile(f"x{start}{word}")                              # contains them, does not start with them
    profile(f"u{uuid.uuid4().hex[:12]}", f"{start}{word}")  # a display name starting with them

    found = [name for name in every_page(search, start, limit=2) if word in name]

    assert found == [f"{start}{word}", f"{start}{word}a", f"{start}{word}b"]
    assert usernames(search(start.upper())) == usernames(search(start))


def test_users_blocked_either_way_are_not_found(search, searcher, profile, session):
    word = fresh_word()
    blocked_by_me = profile(f"{word}one")
    blocking_me = profile(f"{word}two")
    profile(f"{word}three")
    session.add_all([Block(blocker_id=searcher[0], blocked_id=blocked_by_me),
                     Block(blocker_id=blocking_me, blocked_id=searcher[0])])
    session.commit()

    assert usernames(search(word)) == [f"{word}three"]


def test_banned_users_are_not_found(search, profile):
    word = fresh_word()
    profile(f"{word}ok")
    profile(f"{word}banned", banned=True)

    assert usernames(search(word)) == [f"{word}ok"]
    assert f"{word}banned" not in usernames(search(f"{word}banned"))


def test_searchers_do_not_find_themselves(app, profile, token_issuer):
    word = fresh_word()
    me = profile(word)
    profile(f"{word}x")
    mine = {"Authorization": f"Bearer {token_issuer.issue(me)}"}

    response = app.test_client().get(SEARCH, query_string={"q": word}, headers=mine)

    assert usernames(response) == [f"{word}x"]


def test_results_say_who_is_a_friend(search, searcher, profile, session):
    word = fresh_word()
    friend = profile(f"{word}a")
    profile(f"{word}b")
    session.add_all([Friendship(user_id=searcher[0], friend_id=friend),
                     Friendship(user_id=friend, friend_id=searcher[0])])
    session.commit()

    items = search(word).json["items"]

    assert {item["username"]: item["is_friend"] for item in items} == {f"{word}a": True, f"{word}b": False}


@pytest.mark.parametrize("q", ["%", "_", "%%%", "\\"])
def test_wildcards_in_a_short_query_are_plain_characters(search, profile, q):
    word = fresh_word()
    profile(word)

    assert word not in usernames(search(q))


def test_wildcards_in_a_longer_query_are_plain_characters(search, profile):
    word = fresh_word()
    profile(f"u{uuid.uuid4().hex[:12]}", f"{word} 50%off")
    profile(f"u{uuid.uuid4().hex[:12]}", f"{word} 50xoff")
    profile(f"u{uuid.uuid4().hex[:12]}", f"{word} 50_off")

    assert [item["display_name"] for item in search("50%off").json["items"]
            if word in item["display_name"]] == [f"{word} 50%off"]
    assert [item["display_name"] for item in search("50_off").json["items"]
            if word in item["display_name"]] == [f"{word} 50_off"]


def test_spaces_around_and_inside_a_query_do_not_matter(search, profile):
    word = fresh_word()
    profile(f"u{uuid.uuid4().hex[:12]}", f"Ann {word}")

    assert usernames(search(f"  ann   {word} ")) == usernames(search(f"ann {word}")) != []


@pytest.mark.parametrize("q", ["", "   ", "x" * 65])
def test_an_empty_blank_or_too_long_query_is_refused(search, q):
    response = search(q)

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "q" in response.json["errors"]


def test_a_search_without_a_query_is_refused(app, searcher):
    response = app.test_client().get(SEARCH, headers=searcher[1])

    assert response.status_code == 422
    assert "q" in response.json["errors"]


@pytest.mark.parametrize("cursor", ["not a cursor!", "WyJ4Il0", "WzEsMl0"])  # garbage, ["x"], [1, 2]
def test_a_cursor_that_is_not_one_of_this_search_is_refused(search, profile, cursor):
    word = fresh_word()
    profile(word)

    response = search(word, cursor=cursor)

    assert response.status_code == 422, response.json
    assert "cursor" in response.json["errors"]


def test_searching_needs_a_signed_in_user(search):
    response = search("anyone", headers={})

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
