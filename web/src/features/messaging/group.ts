/**
 * What the group panel shows and allows, from the conversation as the server lists it. The server
 * decides (services/messaging/conversations.py): the owner renames, adds a friend of theirs and
 * removes members; a member leaves; the owner cannot leave or be removed (they delete the group).
 * These rules only decide which controls to offer: a refusal still comes back as a problem.
 */
import type { Conversation, Friend, Participant } from "./api";
import { participantName } from "./names";

export interface GroupAbilities {
  rename: boolean;
  add: boolean;
  /** Whom I may remove (never myself, never the owner). */
  removable: (participant: Participant) => boolean;
  leave: boolean;
  /** The owner deletes the group (the owner cannot leave it). */
  remove: boolean;
}

export function groupAbilities(conversation: Conversation, me: string): GroupAbilities {
  const owner = conversation.type === "group" && conversation.owner_id === me;
  const member = conversation.type === "group" && conversation.participants.some((p) => p.user_id === me);
  return {
    rename: owner,
    add: owner,
    removable: (participant) => owner && participant.user_id !== me && participant.role !== "owner",
    leave: member && !owner,
    remove: owner,
  };
}

/** The owner first, then everyone else by name (me among them, as anyone). */
export function sortedMembers(participants: Participant[]): Participant[] {
  return [...participants].sort((a, b) => {
    if ((a.role === "owner") !== (b.role === "owner")) return a.role === "owner" ? -1 : 1;
    return participantName(a).localeCompare(participantName(b));
  });
}

/** My friends who are not in the group yet, by name: whom the owner may add. */
export function addableFriends(friends: Friend[], participants: Participant[]): Friend[] {
  const inGroup = new Set(participants.map((p) => p.user_id));
  return friends.filter((friend) => !inGroup.has(friend.user_id)).sort((a, b) => a.username.localeCompare(b.username));
}

export function roleLabel(participant: Participant): string {
  return participant.role === "owner" ? "Owner" : "Member";
}
