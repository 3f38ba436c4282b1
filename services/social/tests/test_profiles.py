import uuid

import pytest

from social.models import Block, FriendRequest, Friendship
from social.read_models import set_banned


@pytest.fixture
def befriend(database):
    def make(one, other) -> None:
        with database.transaction() as session:
            session.add_all([Friendship(user_id=one.user_id, friend_id=other.user_id),
                             Friendship(user_id=other.user_id, friend_id=one.user_id)])
    return make


@pytest.fixture
def block(database):
    def make(blocker, blocked) -> None:
        with database.transaction() as session:
            session.add(Block(blocker_id=blocker.user_id, blocked_id=blocked.user_id))
    return make


def update(client, user, **body):
    return client.patch("/api/social/profiles/me", headers=user.headers, json=body)


def profile_of(client, viewer, username):
    return client.get(f"/api/social/profiles/{username}", headers=viewer.headers)


# --- my profile ---------------------------------------------------------------------------

def test_my_profile_starts_with_my_username_and_nothing_else(client, new_member):
    me = new_member()
    response = client.get("/api/social/profiles/me", headers=me.headers)
    assert response.status_code == 200, response.json
    assert response.json["user_id"] == str(me.user_id)
    assert response.json["username"] == me.username
    assert response.json["display_name"] is None
    assert response.json["bio"] is None
    assert response.json["avatar"] is None
    assert response.json["verified"] is False
    assert response.json["friends_count"] == 0
    assert {"created_at", "updated_at"} <= response.json.keys()


def test_i_change_my_display_name_and_bio_and_read_them_back(client, new_member):
    me = new_member()
    before = client.get("/api/social/profiles/me", headers=me.headers).json
    response = update(client, me, display_name="Ada Lovelace", bio="Poetical science.\nEngines, mostly.")
    assert response.status_code == 200, response.json
    after = client.get("/api/social/profiles/me", headers=me.headers).json
    assert after["display_name"] == "Ada Lovelace"
    assert after["bio"] == "Poetical science.\nEngines, mostly."
    assert after["updated_at"] > before["updated_at"]
    assert after == response.json


def test_a_field_left_out_stays_as_it_is(client, new_member):
    me = new_member()
    update(client, me, display_name="Ada", bio="Engines.")
    response = update(client, me, bio="Looms.")
    assert response.json["display_name"] == "Ada"
    assert response.json["bio"] == "Looms."


def test_surrounding_whitespace_is_removed_and_null_or_blank_clears_a_field(client, new_member):
    me = new_member()
    stored = update(client, me, display_name="  Ada  ", bio="\r\n Engines.\r\nLooms. \n").json
    assert (stored["display_name"], stored["bio"]) == ("Ada", "Engines.\nLooms.")
    cleared = update(client, me, display_name="   ", bio=None).json
    assert (cleared["display_name"], cleared["bio"]) == (None, None)


def test_a_bio_of_500_characters_is_accepted_and_one_of_501_refused(client, new_member):
    me = new_member()
    assert update(client, me, bio="b" * 500).status_code == 200
    refused = update(client, me, bio="b" * 501)
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    assert list(refused.json["errors"]) == ["bio"]
    assert client.get("/api/social/profiles/me", headers=me.headers).json["bio"] == "b" * 500


@pytest.mark.parametrize("display_name", [
    "d" * 65, "tab\there", "two\nlines", "bell\x07", "line\u2028separator", "evil\u202egnp.exe", "lone \ud800",
    42, ["Ada"],
], ids=["65 chars", "tab", "newline", "bell", "line separator", "bidi override", "lone surrogate", "number", "list"])
def test_a_display_name_too_long_not_text_or_with_control_characters_is_refused(client, new_member, display_name):
    me = new_member()
    response = update(client, me, display_name=display_name)
    assert response.status_code == 422
    assert "display_name" in response.json["errors"]
    assert client.get("/api/social/profiles/me", headers=me.headers).json["display_name"] is None


def test_a_bio_may_have_line_breaks_and_tabs_but_no_other_control_character(client, new_member):
    me = new_member()
    assert update(client, me, bio="one\n\ttwo").status_code == 200
    for bio in ("bell\x07", "escape\x1b[31m", "lone \udfff"):
        response = update(client, me, bio=bio)
        assert response.status_code == 422, bio
        assert "bio" in response.json["errors"]


def test_every_bad_field_is_named_and_nothing_is_changed(client, new_member):
    me = new_member()
    response = update(client, me, display_name="d" * 65, bio="b" * 501)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"display_name", "bio"}
    profile = client.get("/api/social/profiles/me", headers=me.headers).json
    assert (profile["display_name"], profile["bio"]) == (None, None)


@pytest.mark.parametrize("body", [{"username": "someone_else"}, {"verified": True}, {"bio": "ok", "avatar": None}])
def test_fields_i_may_not_change_are_refused(client, new_member, body):
    me = new_member()
    response = client.patch("/api/social/profiles/me", headers=me.headers, json=body)
    assert response.status_code == 422
    unknown = set(body) - {"bio"}
    assert unknown <= set(response.json["errors"])
    profile = client.get("/api/social/profiles/me", headers=me.headers).json
    assert (profile["username"], profile["verified"], profile["bio"]) == (me.username, False, None)


def test_before_my_registration_reaches_social_my_profile_is_404_with_a_clear_detail(client, new_member):
    newcomer = new_member(profile=False)
    for response in (client.get("/api/social/profiles/me", headers=newcomer.headers),
                     update(client, newcomer, bio="hello")):
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert "does not exist yet" in response.json["detail"]


def test_profiles_need_a_signed_in_caller(client, new_member):
    other = new_member()
    for response in (client.get("/api/social/profiles/me"), client.patch("/api/social/profiles/me", json={}),
                     client.get(f"/api/social/profiles/{other.username}")):
        assert response.status_code == 401


# --- other users' profiles ----------------------------------------------------------------

def test_another_users_profile_is_found_by_username_in_any_case(client, new_member, befriend):
    me, ada = new_member(), new_member()
    update(client, ada, display_name="Ada", bio="Engines.")
    befriend(ada, new_member())
    response = profile_of(client, me, ada.username.upper())
    assert response.status_code == 200, response.json
    assert response.json == {
        "user_id": str(ada.user_id), "username": ada.username, "display_name": "Ada", "bio": "Engines.",
        "verified": False, "avatar": None, "friends_count": 1, "created_at": response.json["created_at"],
        "relationship": "none", "friend_request_id": None, "limited": False}


def test_my_own_profile_by_username_is_self(client, new_member):
    me = new_member()
    response = profile_of(client, me, me.username)
    assert response.json["relationship"] == "self"
    assert response.json["friends_count"] == 0


def test_a_friend_is_shown_as_friend(client, new_member, befriend):
    me, friend = new_member(), new_member()
    befriend(me, friend)
    response = profile_of(client, me, friend.username)
    assert response.json["relationship"] == "friend"
    assert response.json["friends_count"] == 1


def test_an_open_friend_request_shows_which_way_it_goes_and_its_id(client, new_member, database):
    me, asked, asking = new_member(), new_member(), new_member()
    sent, received = uuid.uuid4(), uuid.uuid4()
    with database.transaction() as session:
        session.add_all([FriendRequest(id=sent, sender_id=me.user_id, recipient_id=asked.user_id),
                         FriendRequest(id=received, sender_id=asking.user_id, recipient_id=me.user_id),
                         FriendRequest(sender_id=me.user_id, recipient_id=asking.user_id, status="rejected")])
    to_asked = profile_of(client, me, asked.username).json
    assert (to_asked["relationship"], to_asked["friend_request_id"]) == ("request_sent", str(sent))
    to_asking = profile_of(client, me, asking.username).json
    assert (to_asking["relationship"], to_asking["friend_request_id"]) == ("request_received", str(received))
    assert profile_of(client, asked, me.username).json["relationship"] == "request_received"


def assert_limited(view):
    assert view["limited"] is True
    assert view["bio"] is None
    assert view["friends_count"] is None
    assert view["friend_request_id"] is None


def test_a_user_i_blocked_gets_and_shows_only_the_limited_view(client, new_member, block, befriend):
    me, blocked = new_member(), new_member()
    update(client, me, display_name="Me", bio="my secret life")
    update(client, blocked, display_name="Blocked", bio="their life")
    befriend(me, new_member())
    block(me, blocked)
    mine = profile_of(client, me, blocked.username).json
    assert_limited(mine)
    assert mine["relationship"] == "blocked"
    assert mine["display_name"] == "Blocked"
    theirs = profile_of(client, blocked, me.username).json
    assert_limited(theirs)
    assert theirs["relationship"] == "blocked_by"
    assert (theirs["username"], theirs["display_name"]) == (me.username, "Me")


def test_when_both_blocked_each_other_my_own_block_is_what_i_see(client, new_member, block):
    me, other = new_member(), new_member()
    block(me, other)
    block(other, me)
    for viewer, viewed in ((me, other), (other, me)):
        view = profile_of(client, viewer, viewed.username).json
        assert_limited(view)
        assert view["relationship"] == "blocked"


def test_a_block_between_two_others_changes_nothing_for_me(client, new_member, block):
    me, one, other = new_member(), new_member(), new_member()
    update(client, one, bio="visible")
    block(one, other)
    view = profile_of(client, me, one.username).json
    assert (view["limited"], view["bio"], view["relationship"]) == (False, "visible", "none")


def test_a_banned_users_profile_is_404_to_users_but_not_to_staff(client, new_member, database):
    me, banned, staff = new_member(), new_member(), new_member(staff=True)
    with database.transaction() as session:
        set_banned(session, banned.user_id, banned=True)
    response = profile_of(client, me, banned.username)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert profile_of(client, staff, banned.username).json["user_id"] == str(banned.user_id)


def test_an_unknown_username_is_404(client, new_member):
    response = profile_of(client, new_member(), "no_such_user_here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
