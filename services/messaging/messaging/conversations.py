"""Conversations: direct ones between two users, groups with a name and an owner.

Rules. A direct conversation is one per pair of users (starting it again gives the
existing one) and none exists while either blocks the other. A group is created by a
verified user, with members only from their friends; its owner renames it, adds (a
friend of theirs) and removes members, and deletes it; a member leaves. The owner cannot
leave (ownership is never handed over silently): they delete the group instead. A
banned user starts nothing and is added to nothing.

Who may see what. Only a current participant sees a conversation; to anyone else it
does not exist (404, whether it exists or not). A member removed from a group, or who
left, is no participant any more: new messages are neither shown to them nor sealed
for them. A deleted group keeps its messages (reports and the ledger refer to them) but
has no participants: it is gone for everyone.

Concurrency. Every change of membership, and every message sent (messages.py), locks the
conversation's row first: a message is checked against the participants as they are
when it is stored, never against a list a concurrent removal is changing.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound
from servicekit.events import publish
from servicekit.pagination import keyset_page
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from messaging import read_models
from messaging.models import GROUP_MAX_MEMBERS, Conversation, Message, Participant, User
from messaging.notices import notify_users

NO_SUCH_CONVERSATION = "no such conversation"
# The time of a conversation's last message, or of its creation before the first: lists are ordered by it.
LAST_ACTIVITY = sa.func.coalesce(Conversation.last_message_at, Conversation.created_at).label("last_activity")


# --- who takes part ------------------------------------------------------------------------

def participant_conversation(session: Session, user_id: uuid.UUID, conversation_id: uuid.UUID, *,
                             lock: bool = False) -> Conversation:
    """The conversation if `user_id` takes part in it, else `NotFound`. `lock` locks its row (a change of
    membership or a message: see the module)."""
    query = (sa.select(Conversation)
             .join(Participant, sa.and_(Participant.conversation_id == Conversation.id, Participant.user_id == user_id))
             .where(Conversation.id == conversation_id, Conversation.deleted_at.is_(None)))
    conversation = session.scalars(query.with_for_update(of=Conversation, key_share=True) if lock else query).first()
    if conversation is None:
        raise NotFound(NO_SUCH_CONVERSATION)
    return conversation


def participant_ids(session: Session, conversation_id: uuid.UUID) -> list[uuid.UUID]:
    """Every current participant, in a stable order."""
    return list(session.scalars(sa.select(Participant.user_id).where(Participant.conversation_id == conversation_id)
                                .order_by(Participant.user_id)))


# --- starting one ---------------------------------------------------------------------------

def start_conversation(session: Session, user_id: uuid.UUID, *, verified: bool, type: str,
                       other_id: uuid.UUID | None = None, name: str | None = None,
                       member_ids: list[uuid.UUID] = ()) -> tuple[dict[str, Any], bool]:
    """A direct conversation with `other_id`, or a group: (the conversation, whether it is new)."""
    if type == "direct":
        return start_direct(session, user_id, other_id)
    return create_group(session, user_id, verified=verified, name=name, member_ids=list(member_ids)), True


def start_direct(session: Session, user_id: uuid.UUID, other_id: uuid.UUID) -> tuple[dict[str, Any], bool]:
    """The direct conversation between two users, started if new: (the conversation, whether it is new)."""
    if other_id == user_id:
        raise Invalid("you cannot start a conversation with yourself",
                      errors={"user_id": ["You cannot start a conversation with yourself."]})
    other = session.get(User, other_id)
    if other is None or other.banned:
        raise NotFound("no such user")
    _refuse_if_banned(session, user_id)
    if read_models.blocked_between(session, user_id, other_id):
        raise Forbidden("no conversation between users when either blocks the other")
    pair_key = ":".join(sorted((str(user_id), str(other_id))))
    # Two requests for the same pair may race: the unique index on pair_key lets one insert, the other finds it.
    created_id = session.scalar(
        insert(Conversation).values(id=uuid.uuid4(), type="direct", pair_key=pair_key)
        .on_conflict_do_nothing(index_elements=[Conversation.pair_key], index_where=Conversation.pair_key.is_not(None))
        .returning(Conversation.id))
    if created_id is None:
        existing_id = session.scalar(sa.select(Conversation.id).where(Conversation.pair_key == pair_key))
        return conversation_view(session, user_id, existing_id), False
    _add_participants(session, created_id, {user_id: "member", other_id: "member"})
    _announce_created(session, created_id)
    session.commit()
    return conversation_view(session, user_id, created_id), True


def create_group(session: Session, owner_id: uuid.UUID, *, verified: bool, name: str,
                 member_ids: list[uuid.UUID]) -> dict[str, Any]:
    """A group named `name` owned by its creator, with `member_ids` (the creator's friends) as members.

    `verified` is the caller's token claim; the read model may know of a verification the token predates.
    """
    if not (verified or read_models.is_verified(session, owner_id)):
        raise Forbidden("only verified users can create groups")
    _refuse_if_banned(session, owner_id)
    members = list(dict.fromkeys(member for member in member_ids if member != owner_id))
    if len(members) + 1 > GROUP_MAX_MEMBERS:
        raise Invalid(f"a group has at most {GROUP_MAX_MEMBERS} participants",
                      errors={"member_ids": [f"At most {GROUP_MAX_MEMBERS - 1} members besides you."]})
    _require_addable_friends(session, owner_id, members, field="member_ids")
    conversation = Conversation(id=uuid.uuid4(), type="group", name=name, owner_id=owner_id)
    session.add(conversation)
    session.flush()
    _add_participants(session, conversation.id, {owner_id: "owner", **dict.fromkeys(members, "member")})
    _announce_created(session, conversation.id)
    session.commit()
    return conversation_view(session, owner_id, conversation.id)


def _refuse_if_banned(session: Session, user_id: uuid.UUID) -> None:
    if read_models.is_banned(session, user_id):
        raise Forbidden("your account is banned")


def _require_addable_friends(session: Session, owner_id: uuid.UUID, candidates: list[uuid.UUID], *,
                             field: str) -> None:
    """`Invalid` naming everyone of `candidates` who is not the owner's friend, or is banned."""
    friends = read_models.friends_of(session, owner_id, set(candidates))
    banned = set(session.scalars(sa.select(User.user_id).where(User.user_id.in_(friends), User.banned)))
    refused = [str(candidate) for candidate in candidates if candidate not in friends or candidate in banned]
    if refused:
        message = f"Only your friends can be added to a group; not: {', '.join(refused)}."
        raise Invalid(message, errors={field: [message]})


def _add_participants(session: Session, conversation_id: uuid.UUID, roles: dict[uuid.UUID, str]) -> None:
    session.execute(insert(Participant).values([
        {"conversation_id": conversation_id, "user_id": user_id, "role": role} for user_id, role in roles.items()]))


def _announce_created(session: Session, conversation_id: uuid.UUID) -> None:
    conversation = session.get(Conversation, conversation_id)
    session.refresh(conversation)  # created_at, from the database
    everyone = participant_ids(session, conversation_id)
    publish(session, "messaging.conversation.created", {
        "conversation_id": conversation.id, "type": conversation.type, "owner_id": conversation.owner_id,
        "participant_ids": everyone, "created_at": conversation.created_at})
    notify_users(session, everyone, "conversation", {"conversation_id": conversation.id, "change": "added"})


# --- reading --------------------------------------------------------------------------------

def list_conversations(session: Session, user_id: uuid.UUID, *, limit: int, cursor: list | None) -> dict[str, Any]:
    """My conversations, the most recently active first, each with its participants and my unread count."""
    query = (sa.select(Conversation.id, LAST_ACTIVITY)
             .join(Participant, sa.and_(Participant.conversation_id == Conversation.id, Participant.user_id == user_id))
             .where(Conversation.deleted_at.is_(None)))
    page = keyset_page(session, query, keys=(LAST_ACTIVITY, Conversation.id), descending=True, limit=limit,
                       cursor=cursor)
    return {**page, "items": _views(session, user_id, [row.id for row in page["items"]])}


def conversation_view(session: Session, user_id: uuid.UUID, conversation_id: uuid.UUID) -> dict[str, Any]:
    """One conversation as a participant sees it; `NotFound` for anyone else."""
    views = _views(session, user_id, [conversation_id])
    if not views:
        raise NotFound(NO_SUCH_CONVERSATION)
    return views[0]


def _views(session: Session, user_id: uuid.UUID, conversation_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The conversations `user_id` takes part in, of `conversation_ids`, in that order, each as they see it."""
    if not conversation_ids:
        return []
    me = aliased(Participant)
    unread = (sa.select(sa.func.count()).select_from(Message)
              .where(Message.conversation_id == Conversation.id, Message.seq > me.last_read_seq,
                     Message.sender_id != user_id, Message.removed_at.is_(None))
              .correlate(Conversation, me).scalar_subquery())
    rows = {row.Conversation.id: row for row in session.execute(
        sa.select(Conversation, me.last_read_seq, unread.label("unread_count"))
        .join(me, sa.and_(me.conversation_id == Conversation.id, me.user_id == user_id))
        .where(Conversation.id.in_(conversation_ids), Conversation.deleted_at.is_(None)))}
    members: dict[uuid.UUID, list[dict[str, Any]]] = {conversation_id: [] for conversation_id in conversation_ids}
    for participant, username in session.execute(
            sa.select(Participant, User.username).outerjoin(User, User.user_id == Participant.user_id)
            .where(Participant.conversation_id.in_(conversation_ids))
            .order_by(Participant.joined_at, Participant.user_id)):
        members[participant.conversation_id].append(
            {"user_id": participant.user_id, "username": username, "role": participant.role})
    # A conversation left or deleted since the ids were read is left out.
    return [_view(rows[conversation_id], members[conversation_id]) for conversation_id in conversation_ids
            if conversation_id in rows]


def _view(row: sa.Row, participants: list[dict[str, Any]]) -> dict[str, Any]:
    conversation = row.Conversation
    return {"id": conversation.id, "type": conversation.type, "name": conversation.name,
            "owner_id": conversation.owner_id, "participants": participants, "created_at": conversation.created_at,
            "last_message_at": conversation.last_message_at, "last_read_seq": row.last_read_seq,
            "unread_count": row.unread_count}


# --- changing a group -----------------------------------------------------------------------

def rename_group(session: Session, user_id: uuid.UUID, conversation_id: uuid.UUID, name: str) -> dict[str, Any]:
    """The owner renames the group; every participant is told."""
    conversation = _owned_group(session, user_id, conversation_id)
    conversation.name = name
    notify_users(session, participant_ids(session, conversation_id), "conversation",
                 {"conversation_id": conversation_id, "change": "renamed"})
    session.commit()
    return conversation_view(session, user_id, conversation_id)


def delete_group(session: Session, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """The owner deletes the group: it is gone for every member (its messages stay stored, unreachable)."""
    conversation = _owned_group(session, user_id, conversation_id)
    everyone = participant_ids(session, conversation_id)
    conversation.deleted_at = dt.datetime.now(dt.UTC)
    session.execute(sa.delete(Participant).where(Participant.conversation_id == conversation_id))
    notify_users(session, everyone, "conversation", {"conversation_id": conversation_id, "change": "deleted"})
    session.commit()


def add_member(session: Session, owner_id: uuid.UUID, conversation_id: uuid.UUID,
               member_id: uuid.UUID) -> dict[str, Any]:
    """The owner adds a friend of theirs to the group; they see it (and what is sent from now on)."""
    _owned_group(session, owner_id, conversation_id)
    if session.get(Participant, (conversation_id, member_id)) is not None:
        raise Conflict("already a member of this group")
    if len(participant_ids(session, conversation_id)) >= GROUP_MAX_MEMBERS:
        raise Conflict(f"a group has at most {GROUP_MAX_MEMBERS} participants")
    _require_addable_friends(session, owner_id, [member_id], field="user_id")
    _add_participants(session, conversation_id, {member_id: "member"})
    _announce_membership(session, conversation_id, member_id, "added")
    session.commit()
    return conversation_view(session, owner_id, conversation_id)


def remove_member(session: Session, owner_id: uuid.UUID, conversation_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """The owner removes a member: no new message reaches them (nor is sealed for them)."""
    _owned_group(session, owner_id, conversation_id)
    if member_id == owner_id:
        raise Conflict("the owner cannot be removed; delete the group instead")
    _drop_member(session, conversation_id, member_id, "removed")
    session.commit()


def leave(session: Session, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """A member leaves a group. The owner cannot (they delete it), nor can anyone leave a direct conversation."""
    conversation = participant_conversation(session, user_id, conversation_id, lock=True)
    if conversation.type == "direct":
        raise Conflict("a direct conversation cannot be left")
    if conversation.owner_id == user_id:
        raise Conflict("the owner cannot leave the group; delete it instead")
    _drop_member(session, conversation_id, user_id, "left")
    session.commit()


def _owned_group(session: Session, user_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation:
    """The group, locked, if `user_id` owns it; `NotFound` to non-participants, `Forbidden` to other members."""
    conversation = participant_conversation(session, user_id, conversation_id, lock=True)
    if conversation.owner_id != user_id:
        raise Forbidden("only the group's owner can do this")
    return conversation


def _drop_member(session: Session, conversation_id: uuid.UUID, member_id: uuid.UUID, change: str) -> None:
    removed = session.execute(sa.delete(Participant).where(
        Participant.conversation_id == conversation_id, Participant.user_id == member_id)).rowcount
    if not removed:
        raise NotFound("no such member of this group")
    _announce_membership(session, conversation_id, member_id, change)


def _announce_membership(session: Session, conversation_id: uuid.UUID, member_id: uuid.UUID, change: str) -> None:
    """The member concerned learns of the change; everyone else that the membership changed."""
    notify_users(session, [member_id], "conversation", {"conversation_id": conversation_id, "change": change})
    others = [user_id for user_id in participant_ids(session, conversation_id) if user_id != member_id]
    notify_users(session, others, "conversation",
                 {"conversation_id": conversation_id, "change": "members", "user_id": member_id})
