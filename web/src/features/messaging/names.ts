import type { Conversation, Participant } from "./api";

export function participantName(participant: Pick<Participant, "username" | "user_id">): string {
  return participant.username ?? `user ${participant.user_id.slice(0, 8)}`;
}

/** A group's name, or a direct conversation's other person. */
export function conversationTitle(conversation: Conversation, me: string): string {
  if (conversation.type === "group") return conversation.name ?? "Group";
  const other = conversation.participants.find((p) => p.user_id !== me);
  return other ? participantName(other) : "Just you";
}

/** Everyone but me, for a line under the title. */
export function otherParticipants(conversation: Conversation, me: string): string {
  return conversation.participants
    .filter((p) => p.user_id !== me)
    .map(participantName)
    .join(", ");
}
