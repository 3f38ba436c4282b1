/**
 * The messaging API as this feature uses it (paths and shapes from /api/messaging/openapi.json).
 * Every call goes through the shared client (bearer token, problem+json errors).
 */
import { api, apiResponse } from "../../api/client";

export interface Participant {
  user_id: string;
  /** null until the user's registration has reached messaging. */
  username: string | null;
  role: "owner" | "member";
}

export interface Conversation {
  id: string;
  type: "direct" | "group";
  name: string | null;
  owner_id: string | null;
  participants: Participant[];
  created_at: string;
  last_message_at: string | null;
  last_read_seq: number;
  unread_count: number;
}

export interface Message {
  id: string;
  seq: number;
  conversation_id: string;
  sender_id: string;
  kind: "standard" | "e2e";
  body: string | null;
  content_salt: string | null;
  content_sha256: string;
  envelope: Record<string, unknown> | null;
  sender_key: string | null;
  signature: string | null;
  attachment_ids: string[];
  created_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** A registered public key as the API serves it. */
export interface PublicKeyInfo {
  fingerprint: string;
  algorithm: "ed25519" | "x25519" | "rsa";
  pem: string;
  created_at?: string;
}

export interface ParticipantKeys {
  user_id: string;
  username: string | null;
  signing_key: PublicKeyInfo | null;
  encryption_key: PublicKeyInfo | null;
}

export interface ConversationKeys {
  conversation_id: string;
  participants: ParticipantKeys[];
}

/** A key from auth's registry (GET /api/auth/keys/{fingerprint}, /users/{id}/keys). */
export interface RegisteredKey extends PublicKeyInfo {
  user_id: string;
  purpose: "signing" | "encryption";
  active: boolean;
  deactivated_at: string | null;
}

export interface Friend {
  user_id: string;
  username: string;
  display_name: string | null;
  verified: boolean;
}

export interface Attachment {
  id: string;
  conversation_id: string;
  encrypted_by_client: boolean;
  content_type: string;
  size: number;
  sha256: string;
}

const base = "/api/messaging";

export function listConversations(cursor: string | null, signal?: AbortSignal): Promise<Page<Conversation>> {
  return api(`${base}/conversations`, { query: { limit: 50, cursor }, signal });
}

export function getConversation(id: string, signal?: AbortSignal): Promise<Conversation> {
  return api(`${base}/conversations/${encodeURIComponent(id)}`, { signal });
}

export function startDirect(userId: string): Promise<Conversation> {
  return api(`${base}/conversations`, { method: "POST", json: { type: "direct", user_id: userId } });
}

export function createGroup(name: string, memberIds: string[]): Promise<Conversation> {
  return api(`${base}/conversations`, { method: "POST", json: { type: "group", name, member_ids: memberIds } });
}

/** The owner renames the group; the answer is the conversation as it is now. */
export function renameGroup(conversationId: string, name: string): Promise<Conversation> {
  return api(`${base}/conversations/${encodeURIComponent(conversationId)}`, { method: "PATCH", json: { name } });
}

/** The owner adds a friend of theirs; the answer is the conversation with them in it. */
export function addMember(conversationId: string, userId: string): Promise<Conversation> {
  return api(`${base}/conversations/${encodeURIComponent(conversationId)}/participants`, { method: "POST", json: { user_id: userId } });
}

/** The owner removes a member: no new message reaches them, nor is sealed for them. */
export async function removeMember(conversationId: string, userId: string): Promise<void> {
  await api(`${base}/conversations/${encodeURIComponent(conversationId)}/participants/${encodeURIComponent(userId)}`, { method: "DELETE" });
}

/** The owner deletes the group: it is gone for every member. */
export async function deleteGroup(conversationId: string): Promise<void> {
  await api(`${base}/conversations/${encodeURIComponent(conversationId)}`, { method: "DELETE" });
}

/** A member (not the owner) leaves the group. */
export async function leaveGroup(conversationId: string): Promise<void> {
  await api(`${base}/conversations/${encodeURIComponent(conversationId)}/leave`, { method: "POST" });
}

export function listMessages(conversationId: string, cursor: string | null, signal?: AbortSignal, limit = 30): Promise<Page<Message>> {
  return api(`${base}/conversations/${encodeURIComponent(conversationId)}/messages`, { query: { limit, cursor }, signal });
}

export function getMessage(messageId: string, signal?: AbortSignal): Promise<Message> {
  return api(`${base}/messages/${encodeURIComponent(messageId)}`, { signal });
}

export function conversationKeys(conversationId: string, signal?: AbortSignal): Promise<ConversationKeys> {
  return api(`${base}/conversations/${encodeURIComponent(conversationId)}/keys`, { signal });
}

/** A standard message (optionally signed) or an e2e envelope. */
export type MessageCreate =
  | { kind: "standard"; body: string; message_id?: string; sender_key?: string; signature?: string; attachment_ids?: string[] }
  | { kind: "e2e"; envelope: unknown; attachment_ids?: string[] };

export function sendMessage(conversationId: string, message: MessageCreate): Promise<Message> {
  return api(`${base}/conversations/${encodeURIComponent(conversationId)}/messages`, { method: "POST", json: message });
}

export function markRead(conversationId: string, seq: number): Promise<{ last_read_seq: number; unread_count: number }> {
  return api(`${base}/conversations/${encodeURIComponent(conversationId)}/read`, { method: "POST", json: { seq } });
}

export function uploadAttachment(conversationId: string, file: Blob, name: string, encryptedByClient: boolean): Promise<Attachment> {
  const form = new FormData();
  form.append("conversation_id", conversationId);
  form.append("encrypted_by_client", encryptedByClient ? "true" : "false");
  form.append("file", file, name);
  return api(`${base}/attachments`, { method: "POST", form });
}

/** An attachment's bytes as served (ciphertext for an e2e one) and its media type. */
export async function downloadAttachment(attachmentId: string, signal?: AbortSignal): Promise<{ bytes: Uint8Array; contentType: string }> {
  const response = await apiResponse(`${base}/attachments/${encodeURIComponent(attachmentId)}`, { signal });
  return { bytes: new Uint8Array(await response.arrayBuffer()), contentType: response.headers.get("Content-Type") ?? "application/octet-stream" };
}

/** Every friend (the pages followed): whom conversations may be started with. */
export async function allFriends(signal?: AbortSignal): Promise<Friend[]> {
  const friends: Friend[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<Friend> = await api("/api/social/friends", { query: { limit: 200, cursor }, signal });
    friends.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return friends;
}

/** A user's active keys from auth's registry, by purpose. */
export async function activeKeys(userId: string, signal?: AbortSignal): Promise<{ signing: RegisteredKey | null; encryption: RegisteredKey | null }> {
  const page = await api<Page<RegisteredKey>>(`/api/auth/users/${encodeURIComponent(userId)}/keys`, { query: { active: true, limit: 50 }, signal });
  return {
    signing: page.items.find((key) => key.purpose === "signing" && key.active) ?? null,
    encryption: page.items.find((key) => key.purpose === "encryption" && key.active) ?? null,
  };
}
