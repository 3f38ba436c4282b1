import { describe, expect, it } from "vitest";
import type { Notification } from "./api";
import { describeNotification, formatDuration, mergeNotifications } from "./notifications";

function notification(overrides: Partial<Notification>): Notification {
  return {
    id: "n1",
    kind: "friend_request.received",
    actor: { user_id: "u1", username: "alice", display_name: "Alice A." },
    subject_type: null,
    subject_id: null,
    data: {},
    created_at: "2024-05-01T10:00:00+00:00",
    read_at: null,
    ...overrides,
  };
}

describe("describeNotification", () => {
  it("names the actor by display name and links a friend request to the friends page", () => {
    expect(describeNotification(notification({}))).toEqual({ text: "Alice A. sent you a friend request", href: "/friends" });
  });

  it("falls back to the username, and links an accepted request to the person's page", () => {
    const n = notification({ kind: "friend_request.accepted", actor: { user_id: "u1", username: "bob smith", display_name: null } });
    expect(describeNotification(n)).toEqual({ text: "bob smith accepted your friend request", href: "/people/bob%20smith" });
  });

  it("counts gathered messages and links to their conversation", () => {
    const one = notification({ kind: "message.received", subject_type: "conversation", subject_id: "c1", data: { count: 1 } });
    const three = { ...one, data: { count: 3, message_id: "m3" } };
    expect(describeNotification(one)).toEqual({ text: "New message from Alice A.", href: "/conversations/c1" });
    expect(describeNotification(three).text).toBe("3 new messages, the latest from Alice A.");
  });

  it("links marketplace notifications to the order, the sales or the item", () => {
    expect(describeNotification(notification({ kind: "order.paid", actor: null, subject_type: "order", subject_id: "o1" })).href).toBe("/market/orders/o1");
    expect(describeNotification(notification({ kind: "order.placed", subject_type: "order", subject_id: "o1" })).href).toBe("/market/sales");
    expect(describeNotification(notification({ kind: "item.sold", subject_type: "item", subject_id: "i1" })).href).toBe("/market/items/i1");
  });

  it("gives staff notes of a rejected verification", () => {
    const n = notification({ kind: "verification.rejected", actor: null, data: { notes: "Blurry photo" } });
    expect(describeNotification(n)).toEqual({ text: "Your identity verification was not approved", href: "/verification", detail: "Staff notes: Blurry photo" });
  });

  it("explains a suspension with its length and notes, without a link for an account", () => {
    const n = notification({ kind: "moderation.action", actor: null, subject_type: "user", subject_id: "u9", data: { action: "suspend", duration: 172800, notes: "Spam" } });
    expect(describeNotification(n)).toEqual({
      text: "Your account was suspended after a report about your account",
      href: undefined,
      detail: "For 2 days. Staff notes: Spam",
    });
  });

  it("still reads an unknown kind", () => {
    expect(describeNotification(notification({ kind: "party.started", actor: null })).text).toBe("party started");
  });
});

describe("formatDuration", () => {
  it("uses the largest unit that divides the length", () => {
    expect(formatDuration(86400)).toBe("1 day");
    expect(formatDuration(7200)).toBe("2 hours");
    expect(formatDuration(90)).toBe("90 seconds");
    expect(formatDuration(3900)).toBe("65 minutes");
  });
});

describe("mergeNotifications", () => {
  it("puts new ones on top and updates the shown ones where they are", () => {
    const shown = [notification({ id: "a" }), notification({ id: "b" })];
    const fresh = [notification({ id: "c" }), notification({ id: "b", read_at: "2024-05-01T11:00:00+00:00" })];
    const merged = mergeNotifications(shown, fresh);
    expect(merged.map((n) => n.id)).toEqual(["c", "a", "b"]);
    expect(merged[2].read_at).toBe("2024-05-01T11:00:00+00:00");
    expect(merged[1]).toBe(shown[0]);
  });
});
