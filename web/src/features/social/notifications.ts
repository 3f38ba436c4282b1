/**
 * Notifications without React: what each says and where it leads, by kind (the kinds social
 * produces; see the Notification schema; an unknown kind still reads as something), and how a
 * live re-read merges into the list on screen. Pure, so unit-tested.
 */
import type { Notification } from "./api";

export interface Described {
  text: string;
  /** In-app path of what it is about, when there is a page for it. */
  href?: string;
  /** Further words from the data (staff notes, durations). */
  detail?: string;
}

const MODERATION: Record<string, string> = {
  warn: "You received a warning",
  suspend: "Your account was suspended",
  ban: "Your account was banned",
  remove_content: "Your content was removed",
};

const TARGET_WORDS: Record<string, string> = { user: "your account", message: "a message of yours", item: "an item of yours" };

/** "2 days", "5 hours", "30 minutes": a suspension's length in the largest whole unit. */
export function formatDuration(seconds: number): string {
  const units: [number, string][] = [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  const [size, unit] = units.find(([size]) => seconds >= size && seconds % size === 0) ?? units.find(([size]) => seconds >= size) ?? [1, "second"];
  const count = Math.floor(seconds / size);
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

export function describeNotification(n: Notification): Described {
  const who = n.actor ? n.actor.display_name?.trim() || n.actor.username : "Someone";
  const subject = n.subject_id ?? "";
  const data = n.data ?? {};
  switch (n.kind) {
    case "friend_request.received":
      return { text: `${who} sent you a friend request`, href: "/friends" };
    case "friend_request.accepted":
      return { text: `${who} accepted your friend request`, href: n.actor ? `/people/${encodeURIComponent(n.actor.username)}` : "/friends" };
    case "message.received": {
      const count = typeof data.count === "number" ? data.count : 1;
      return { text: count > 1 ? `${count} new messages, the latest from ${who}` : `New message from ${who}`, href: subject ? `/conversations/${subject}` : undefined };
    }
    case "order.placed":
      return { text: `${who} placed an order for your items`, href: "/market/sales" };
    case "order.paid":
      return { text: "Your order is paid", href: subject ? `/market/orders/${subject}` : undefined };
    case "item.sold":
      return { text: `${who} bought your item`, href: subject ? `/market/items/${subject}` : undefined };
    case "verification.approved":
      return { text: "Your identity is verified", href: "/verification" };
    case "verification.rejected":
      return { text: "Your identity verification was not approved", href: "/verification", detail: typeof data.notes === "string" ? `Staff notes: ${data.notes}` : undefined };
    case "report.resolved":
      return { text: "Staff resolved a report of yours", href: "/reports" };
    case "moderation.action": {
      const action = typeof data.action === "string" ? data.action : "";
      const about = TARGET_WORDS[n.subject_type ?? ""] ?? "your content";
      const parts = [
        typeof data.duration === "number" ? `For ${formatDuration(data.duration)}.` : "",
        typeof data.notes === "string" ? `Staff notes: ${data.notes}` : "",
      ].filter(Boolean);
      return {
        text: `${MODERATION[action] ?? "Staff took action"} after a report about ${about}`,
        href: n.subject_type === "item" && subject ? `/market/items/${subject}` : undefined,
        detail: parts.join(" ") || undefined,
      };
    }
    default:
      return { text: n.actor ? `${n.kind.replace(/[._]/g, " ")} (${who})` : n.kind.replace(/[._]/g, " ") };
  }
}

/** `fresh` (a first page read just now) merged into `shown`: new ones on top, the others updated where they are. */
export function mergeNotifications(shown: Notification[], fresh: Notification[]): Notification[] {
  const byId = new Map(fresh.map((n) => [n.id, n]));
  const known = new Set(shown.map((n) => n.id));
  return [...fresh.filter((n) => !known.has(n.id)), ...shown.map((n) => byId.get(n.id) ?? n)];
}
