/**
 * Conversations in the real browser, against the native stack: two friends make their keys on the
 * keys page, start an end-to-end encrypted conversation, and each sees the other's message arrive
 * live (no reload), decrypted in the browser, with "Signature verified" and then "Recorded in
 * ledger — proof verified"; one compares the other's fingerprints and marks them verified, the other
 * rotates keys, and the first is warned that the keys changed (and is unverified again). Three
 * friends talk in a standard group. Every screen is checked with axe and photographed.
 */
import type { Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { checkA11y, expect, screenshots, signedInPage, test } from "./support/browser";
import { befriend, conversationId, LIVE, makeKeys, message, nav, send, waitForConversationKeys } from "./support/conversations";
import { apiClientFor, newUser, type TestUser } from "./support/users";

const PASSPHRASE = "correct horse battery staple";

interface RegisteredKey {
  fingerprint: string;
  purpose: string;
  active: boolean;
}

/** `user`'s active keys in auth's registry, by purpose. */
async function activeKeys(user: TestUser): Promise<Record<string, string>> {
  const client = await apiClientFor(user);
  try {
    const page = await client.get<{ items: RegisteredKey[] }>(`/api/auth/users/${user.id}/keys?active=true`);
    return Object.fromEntries(page.items.filter((key) => key.active).map((key) => [key.purpose, key.fingerprint]));
  } finally {
    client.close();
  }
}

/** A message as a reader must see it: the text, its signature verified, its ledger proof verified. */
async function expectVerified(page: Page, text: string): Promise<void> {
  const item = message(page, text);
  await expect(item).toBeVisible(LIVE);
  await expect(item.getByText("Signature verified")).toBeVisible(LIVE);
  await expect(item.getByText("Recorded in ledger — proof verified")).toBeVisible(LIVE);
}

const grouped = (fingerprint: string) => fingerprint.match(/.{4}/g)!.join(" ");

test.describe("messaging", () => {
  test("an end-to-end conversation: live, decrypted, signed, recorded; keys compared, then changed", async ({ browser }) => {
    // Alice is verified: only verified users send attachments.
    const [alice, bob] = await Promise.all([newUser({ name: "alice", verified: true }), newUser({ name: "bob" })]);
    await befriend(alice, bob);
    const alicePage = await signedInPage(browser, alice, "/");
    const bobPage = await signedInPage(browser, bob, "/");
    await makeKeys(alicePage, PASSPHRASE);
    await makeKeys(bobPage, PASSPHRASE);
    await nav(bobPage, "Messages").click();
    await expect(bobPage.getByText("No conversations yet.")).toBeVisible();

    // Alice starts it: a direct conversation with Bob, end to end (the default).
    await nav(alicePage, "Messages").click();
    await alicePage.getByRole("link", { name: "New conversation" }).click();
    await alicePage.getByRole("radio", { name: new RegExp(bob.username) }).check();
    await expect(alicePage.getByRole("radio", { name: /^End-to-end encrypted/ })).toBeChecked();
    await checkA11y(alicePage, "new conversation");
    await alicePage.getByRole("button", { name: "Start conversation" }).click();
    await expect(alicePage.getByRole("heading", { level: 1, name: bob.username })).toBeVisible();
    const id = conversationId(alicePage);
    const [aliceKeys, bobKeys] = await Promise.all([activeKeys(alice), activeKeys(bob)]);
    await waitForConversationKeys(alice, id, { [alice.id]: aliceKeys.encryption, [bob.id]: bobKeys.encryption });

    await send(alicePage, "Hello Bob, only we can read this.", "Send encrypted");
    await expectVerified(alicePage, "Hello Bob, only we can read this.");

    // Bob's list shows it without a reload, unread; he opens it and reads it, decrypted and verified.
    const row = bobPage.getByRole("link", { name: new RegExp(`${alice.username}.*1 unread`) });
    await expect(row).toBeVisible(LIVE);
    await checkA11y(bobPage, "conversations");
    await screenshots(bobPage, "conversations");
    await row.click();
    await expectVerified(bobPage, "Hello Bob, only we can read this.");
    await expect(message(bobPage, "Hello Bob").getByText("End-to-end encrypted")).toBeVisible();

    // Bob answers; Alice, still on the page, sees it arrive live, decrypted and verified.
    await send(bobPage, "Hi Alice! Received and verified.", "Send encrypted");
    await expectVerified(alicePage, "Hi Alice! Received and verified.");
    await expect(alicePage.getByText(`Seen by ${bob.username}`)).toBeVisible(LIVE);
    // A file travels encrypted: the server stores opaque bytes, Bob's browser decrypts them.
    await alicePage.getByLabel("Attach files (at most 10)").setInputFiles({ name: "menu.txt", mimeType: "text/plain", buffer: Buffer.from("Soup of the day: tomato\n") });
    await send(alicePage, "The menu is attached.", "Send encrypted");
    await expectVerified(bobPage, "The menu is attached.");
    await message(bobPage, "The menu is attached.").getByRole("button", { name: "Decrypt menu.txt" }).click();
    const saved = message(bobPage, "The menu is attached.").getByRole("link", { name: "Save menu.txt" });
    await expect(saved).toHaveAttribute("href", /^blob:/);
    const download = bobPage.waitForEvent("download");
    await saved.click();
    const file = await download;
    expect(file.suggestedFilename()).toBe("menu.txt");
    expect(readFileSync((await file.path())!, "utf8")).toBe("Soup of the day: tomato\n");

    await checkA11y(alicePage, "e2e conversation");
    await screenshots(alicePage, "conversation-e2e");

    // A reload forgets the unlocked keys: the messages wait for the passphrase, then open again.
    await bobPage.reload();
    await expect(message(bobPage, "Encrypted. Unlock your keys to read it.").first()).toBeVisible();
    await checkA11y(bobPage, "locked conversation");
    await bobPage.getByLabel("Key passphrase").fill(PASSPHRASE);
    await bobPage.getByRole("button", { name: "Unlock keys" }).click();
    await expectVerified(bobPage, "Hello Bob, only we can read this.");

    // Alice compares Bob's fingerprints (what auth registered for him) and marks him verified.
    await alicePage.getByRole("link", { name: bob.username, exact: true }).click();
    await expect(alicePage.getByRole("heading", { level: 1, name: `${bob.username}'s keys` })).toBeVisible();
    await expect(alicePage.getByText(grouped(bobKeys.signing), { exact: true })).toBeVisible();
    await expect(alicePage.getByText(grouped(bobKeys.encryption), { exact: true })).toBeVisible();
    await expect(alicePage.getByRole("img", { name: new RegExp(`^QR code of ${bob.username}'s key fingerprints`) })).toBeVisible();
    await expect(alicePage.getByText("Not verified yet")).toBeVisible();
    await alicePage.getByRole("button", { name: "Mark as verified" }).click();
    await expect(alicePage.getByText(`${bob.username} is verified.`)).toBeVisible();
    await checkA11y(alicePage, "contact verification");
    await screenshots(alicePage, "contact-verification");

    // Bob rotates his keys. Once messaging knows them, Alice's conversation warns her, and Bob is unverified.
    await nav(bobPage, "Keys").click();
    await bobPage.getByRole("button", { name: "Rotate keys" }).click();
    await expect(bobPage.getByText("Your new keys are registered and active.")).toBeVisible(LIVE);
    const bobNewKeys = await activeKeys(bob);
    expect(bobNewKeys.encryption).not.toBe(bobKeys.encryption);
    await waitForConversationKeys(alice, id, { [alice.id]: aliceKeys.encryption, [bob.id]: bobNewKeys.encryption });

    await nav(alicePage, "Messages").click();
    await alicePage.getByRole("link", { name: new RegExp(bob.username) }).click();
    const warning = alicePage.getByRole("alert").filter({ hasText: `${bob.username}'s keys changed: verify them again` });
    await expect(warning).toBeVisible(LIVE);
    // His older message still verifies (it was signed by the key he had then), and says his keys changed.
    await expect(message(alicePage, "Hi Alice!").getByText("Signature verified")).toBeVisible();
    await expect(message(alicePage, "Hi Alice!").getByText(/the sender's keys changed/)).toBeVisible();
    await checkA11y(alicePage, "key change warning");
    await screenshots(alicePage, "conversation-key-changed");

    // Alice's next message is sealed for Bob's new keys, and Bob (on his new keys) reads it live.
    await nav(bobPage, "Messages").click();
    await bobPage.getByRole("link", { name: new RegExp(alice.username) }).click();
    await send(alicePage, "Your new keys work too.", "Send encrypted");
    await expectVerified(bobPage, "Your new keys work too.");

    await warning.getByRole("link").click();
    await expect(alicePage.getByText("Not verified yet")).toBeVisible();
    await expect(alicePage.getByText(grouped(bobNewKeys.signing), { exact: true })).toBeVisible();
  });

  test("a standard group of three: messages arrive live for every member", async ({ browser }) => {
    const [alice, bob, carol] = await Promise.all([newUser({ name: "alice", verified: true }), newUser({ name: "bob" }), newUser({ name: "carol" })]);
    await Promise.all([befriend(alice, bob), befriend(alice, carol)]);
    const alicePage = await signedInPage(browser, alice, "/conversations/new");
    const bobPage = await signedInPage(browser, bob, "/conversations");
    const carolPage = await signedInPage(browser, carol, "/conversations");
    const name = `Picnic ${Date.now().toString(36)}`;

    await alicePage.getByRole("radio", { name: /^Several friends/ }).check();
    await alicePage.getByLabel("Group name").fill(name);
    await alicePage.getByRole("checkbox", { name: new RegExp(bob.username) }).check();
    await alicePage.getByRole("checkbox", { name: new RegExp(carol.username) }).check();
    await alicePage.getByRole("radio", { name: /^Standard/ }).check();
    await checkA11y(alicePage, "new group");
    // The friendships reach messaging as social's events: until then it refuses the members (and says so).
    await expect(async () => {
      await alicePage.getByRole("button", { name: "Start conversation" }).click();
      await expect(alicePage.getByRole("heading", { level: 1, name })).toBeVisible({ timeout: 3_000 });
    }).toPass(LIVE);

    // The group appears in the others' lists live; they open it.
    for (const page of [bobPage, carolPage]) {
      await page.getByRole("link", { name: new RegExp(name) }).click(LIVE);
      await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
    }

    await send(alicePage, "Saturday at noon, bring fruit.", "Send");
    for (const page of [bobPage, carolPage]) {
      const item = message(page, "Saturday at noon");
      await expect(item).toBeVisible(LIVE);
      await expect(item.getByText("Standard", { exact: true })).toBeVisible();
      // Alice has no keys in this browser: her message is not signed, and says so.
      await expect(item.getByText(/Not signed \(standard message/)).toBeVisible();
      await expect(item.getByText("Recorded in ledger — proof verified")).toBeVisible(LIVE);
    }

    await send(carolPage, "Count me in!", "Send");
    await expect(message(alicePage, "Count me in!")).toBeVisible(LIVE);
    await expect(message(bobPage, "Count me in!")).toBeVisible(LIVE);
    await checkA11y(bobPage, "group conversation");
    await screenshots(bobPage, "conversation-group");
  });
});
