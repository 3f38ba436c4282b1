/**
 * The social service's API as the screens use it (shapes from /api/social/openapi.json).
 * Every list is a keyset page: `{items, next_cursor}`, the cursor passed back for the next one.
 */
import { api } from "../../api/client";

/** Avatar URLs by side in pixels ("64", "256", "512"); public, so plain <img src> works. */
export type AvatarUrls = Record<string, string> | null;

export interface UserSummary {
  user_id: string;
  username: string;
  display_name: string | null;
  verified: boolean;
  avatar: AvatarUrls;
}

export interface OwnProfile extends UserSummary {
  bio: string | null;
  friends_count: number;
  created_at: string;
  updated_at: string;
}

export type Relationship = "self" | "blocked" | "blocked_by" | "friend" | "request_sent" | "request_received" | "none";

export interface Profile extends UserSummary {
  /** null in the limited view (either of us blocked the other). */
  bio: string | null;
  friends_count: number | null;
  created_at: string;
  relationship: Relationship;
  friend_request_id: string | null;
  limited: boolean;
}

export interface SearchResult extends UserSummary {
  is_friend: boolean;
}

export interface FriendRequest {
  id: string;
  status: "pending" | "accepted" | "rejected" | "cancelled";
  sender: UserSummary;
  recipient: UserSummary;
  created_at: string;
  decided_at: string | null;
}

export interface Friend extends UserSummary {
  since: string;
}

export interface Block extends UserSummary {
  reason: string | null;
  blocked_at: string;
}

export interface Notification {
  id: string;
  kind: string;
  actor: { user_id: string; username: string; display_name: string | null } | null;
  subject_type: string | null;
  subject_id: string | null;
  data: Record<string, unknown>;
  created_at: string;
  read_at: string | null;
}

export type ReportTarget = "user" | "message" | "item";

export interface Report {
  id: string;
  target_type: ReportTarget;
  target_id: string;
  reason: string;
  status: "open" | "in_review" | "resolved";
  action: "dismiss" | "warn" | "suspend" | "ban" | "remove_content" | null;
  /** API path of the screenshot (needs the token), or null. */
  screenshot: string | null;
  created_at: string;
  resolved_at: string | null;
}

export interface PageOf<T> {
  items: T[];
  next_cursor: string | null;
}

type Paging = { limit?: number; cursor?: string | null; signal?: AbortSignal };

const BASE = "/api/social";

export const social = {
  myProfile: (signal?: AbortSignal) => api<OwnProfile>(`${BASE}/profiles/me`, { signal }),
  /** A field left out stays; null or "" clears it. */
  updateProfile: (changes: { display_name?: string | null; bio?: string | null }) =>
    api<OwnProfile>(`${BASE}/profiles/me`, { method: "PATCH", json: changes }),
  uploadAvatar: (file: Blob) => {
    const form = new FormData();
    form.append("avatar", file);
    return api<OwnProfile>(`${BASE}/profiles/me/avatar`, { method: "PUT", form });
  },
  removeAvatar: () => api<void>(`${BASE}/profiles/me/avatar`, { method: "DELETE" }),
  profile: (username: string, signal?: AbortSignal) =>
    api<Profile>(`${BASE}/profiles/${encodeURIComponent(username)}`, { signal }),

  search: (q: string, { limit, cursor, signal }: Paging = {}) =>
    api<PageOf<SearchResult>>(`${BASE}/users/search`, { query: { q, limit, cursor }, signal }),

  friendRequests: (direction: "incoming" | "outgoing", { limit, cursor, signal }: Paging = {}) =>
    api<PageOf<FriendRequest>>(`${BASE}/friend-requests`, { query: { direction, limit, cursor }, signal }),
  /** 201 a new request; 200 when they had already asked me (then we are friends at once). */
  sendFriendRequest: (username: string) => api<FriendRequest>(`${BASE}/friend-requests`, { json: { username } }),
  decideFriendRequest: (id: string, decision: "accept" | "reject" | "cancel") =>
    api<FriendRequest>(`${BASE}/friend-requests/${id}/${decision}`, { method: "POST" }),

  friends: ({ limit, cursor, signal }: Paging = {}) =>
    api<PageOf<Friend>>(`${BASE}/friends`, { query: { limit, cursor }, signal }),
  unfriend: (userId: string) => api<void>(`${BASE}/friends/${userId}`, { method: "DELETE" }),

  blocks: ({ limit, cursor, signal }: Paging = {}) =>
    api<PageOf<Block>>(`${BASE}/blocks`, { query: { limit, cursor }, signal }),
  block: (username: string, reason?: string) =>
    api<Block>(`${BASE}/blocks`, { json: { username, reason: reason?.trim() || null } }),
  unblock: (userId: string) => api<void>(`${BASE}/blocks/${userId}`, { method: "DELETE" }),

  notifications: ({ limit, cursor, signal, unread }: Paging & { unread?: boolean } = {}) =>
    api<PageOf<Notification>>(`${BASE}/notifications`, { query: { limit, cursor, unread: unread || undefined }, signal }),
  unreadCount: (signal?: AbortSignal) => api<{ unread: number }>(`${BASE}/notifications/unread-count`, { signal }),
  markRead: (id: string) => api<Notification>(`${BASE}/notifications/${id}/read`, { method: "POST" }),
  /** `upTo`: only those created by then (what the reader has seen), so one arriving meanwhile stays unread. */
  markAllRead: (upTo?: string) => api<{ marked: number }>(`${BASE}/notifications/read`, { json: { up_to: upTo ?? null } }),

  reports: ({ limit, cursor, signal }: Paging = {}) =>
    api<PageOf<Report>>(`${BASE}/reports`, { query: { limit, cursor }, signal }),
  report: (target: { target_type: ReportTarget; target_id: string; reason: string; screenshot?: File | null }) => {
    const form = new FormData();
    form.append("target_type", target.target_type);
    form.append("target_id", target.target_id);
    form.append("reason", target.reason);
    if (target.screenshot) form.append("screenshot", target.screenshot);
    return api<Report>(`${BASE}/reports`, { form });
  },
};

/** The name to show for a user: the display name, else the username. */
export function nameOf(user: { username: string; display_name: string | null }): string {
  return user.display_name?.trim() || user.username;
}
