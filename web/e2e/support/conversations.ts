/**
 * Driving the conversation screens, shared by the messaging, groups and CLI specs: the main
 * navigation, making keys on /keys, friendships and conversation keys set up through the API, and a
 * conversation's messages and composer.
 */
import type { Page } from "@playwright/test";
import { expect } from "./browser";
import { apiClientFor, type TestUser } from "./users";

// Live changes travel through the stream (keys and friendships through the services' events first):
// seconds, not milliseconds, on a loaded machine.
export const LIVE = { timeout: 30_000 };

/** A link of the app's main navigation. */
export function nav(page: Page, name: string) {
  return page.getByRole("navigation", { name: "Main" }).getByRole("link", { name });
}

/** Make and register keys on the keys page; they stay unlocked in this tab (navigate in the app, never reload). */
export async function makeKeys(page: Page, passphrase: string): Promise<void> {
  await nav(page, "Keys").click();
  await page.getByLabel("New passphrase", { exact: true }).fill(passphrase);
  await page.getByLabel("Repeat the passphrase", { exact: true }).fill(passphrase);
  await page.getByRole("button", { name: "Make and register keys" }).click();
  await expect(page.getByText("Unlocked", { exact: true })).toBeVisible(LIVE);
}

/** `a` asks `b` to be friends and `b` accepts, through the API. */
export async function befriend(a: TestUser, b: TestUser): Promise<void> {
  const [asking, accepting] = await Promise.all([apiClientFor(a), apiClientFor(b)]);
  try {
    const request = await asking.post<{ id: string }>("/api/social/friend-requests", { username: b.username });
    await accepting.post(`/api/social/friend-requests/${request.id}/accept`);
  } finally {
    asking.close();
    accepting.close();
  }
}

/**
 * Wait until messaging lists exactly `expected` (user id -> encryption key fingerprint) as the
 * conversation's participants' keys: keys reach it as auth's events, a moment after they are
 * registered, and an envelope is checked against what messaging knows.
 */
export async function waitForConversationKeys(user: TestUser, conversationId: string, expected: Record<string, string>): Promise<void> {
  const client = await apiClientFor(user);
  try {
    await expect
      .poll(async () => {
        const keys = await client.get<{ participants: { user_id: string; encryption_key: { fingerprint: string } | null }[] }>(
          `/api/messaging/conversations/${conversationId}/keys`,
        );
        return Object.fromEntries(keys.participants.map((p) => [p.user_id, p.encryption_key?.fingerprint ?? null]));
      }, LIVE)
      .toEqual(expected);
  } finally {
    client.close();
  }
}

/** The id of the conversation `page` shows. */
export function conversationId(page: Page): string {
  const found = /\/conversations\/([0-9a-f-]{36})$/.exec(new URL(page.url()).pathname);
  if (!found) throw new Error(`not on a conversation's page: ${page.url()}`);
  return found[1];
}

/** A message of the open conversation, by its text. */
export function message(page: Page, text: string) {
  return page.getByRole("list", { name: "Messages" }).getByRole("listitem").filter({ hasText: text });
}

/** Write and send a message; returns once the composer is empty again (the send was accepted). */
export async function send(page: Page, text: string, button: "Send encrypted" | "Send"): Promise<void> {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByRole("button", { name: button, exact: true }).click();
  await expect(page.getByLabel("Message", { exact: true })).toHaveValue("");
}
