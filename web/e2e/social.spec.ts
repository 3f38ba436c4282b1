/**
 * The social screens in the real browser, against the native stack: two people find each other,
 * one asks, the other sees the unread badge rise live (no reload) and accepts, both see each
 * other as friends; a profile is edited and given an avatar; a person is blocked, unblocked and
 * reported with a screenshot. Every screen is checked with axe and photographed.
 */
import type { Page } from "@playwright/test";
import { checkA11y, expect, screenshots, signedInPage, test } from "./support/browser";
import { pngImage } from "./support/images";
import { newUser, type TestUser } from "./support/users";

// Live changes travel social → outbox → RabbitMQ → messaging → the stream: seconds, not milliseconds.
const LIVE = { timeout: 30_000 };


function unreadBadge(page: Page) {
  return page.getByRole("navigation", { name: "Main" }).getByTestId("unread-badge");
}

/** "@username" as the screens write it, not matching a longer username that starts the same. */
function handle(user: TestUser): RegExp {
  return new RegExp(`@${user.username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w.-])`);
}

/** The list item that holds `text`, within the list labelled `list`. */
function itemIn(page: Page, list: string, text: string | RegExp) {
  return page.getByRole("list", { name: list }).getByRole("listitem").filter({ hasText: text });
}

test.describe("social", () => {
  let alice: TestUser;
  let bob: TestUser;

  test.beforeEach(async () => {
    [alice, bob] = await Promise.all([newUser({ name: "alice" }), newUser({ name: "bob" })]);
  });

  test("two people find each other, the request shows live, and they become friends", async ({ browser }) => {
    const alicePage = await signedInPage(browser, alice, "/friends");
    const bobPage = await signedInPage(browser, bob, "/friends");
    await expect(bobPage.getByRole("heading", { name: "Your friends" })).toBeVisible();
    await expect(unreadBadge(bobPage)).toHaveCount(0);

    // Alice finds Bob by (part of) his username; the answer comes without pressing anything.
    await alicePage.getByLabel("Name or username").fill(bob.username);
    const found = itemIn(alicePage, "People found", handle(bob));
    await expect(found).toBeVisible();
    await found.getByRole("button", { name: /Add friend/ }).click();
    await expect(alicePage.getByText(/Friend request sent to/)).toBeVisible();
    await expect(itemIn(alicePage, "Requests you sent", handle(bob))).toBeVisible();
    // Alice waits on her notifications: Bob's answer will appear there live.
    await alicePage.getByRole("link", { name: /Notifications/ }).click();
    await expect(alicePage.getByText("No notifications yet.")).toBeVisible();

    // Bob's badge rises without a reload, and his waiting requests too.
    await expect(unreadBadge(bobPage)).toHaveText("1 unread", LIVE);
    await expect(bobPage.getByRole("link", { name: /Notifications\s*1 unread/ })).toBeVisible();
    await expect(itemIn(bobPage, "Requests for you", handle(alice))).toBeVisible(LIVE);

    await bobPage.getByRole("link", { name: /Notifications/ }).click();
    await expect(bobPage.getByRole("heading", { level: 1, name: "Notifications" })).toBeVisible();
    const notification = itemIn(bobPage, "Notifications", "sent you a friend request");
    await expect(notification).toBeVisible();
    await expect(bobPage.getByTestId("unread-summary")).toHaveText("1 unread notification.");
    await checkA11y(bobPage, "notifications");
    await screenshots(bobPage, "notifications");

    // Opening it reads it (the badge goes) and leads to the requests.
    await notification.getByRole("link", { name: /sent you a friend request/ }).click();
    await expect(bobPage).toHaveURL(/\/friends$/);
    await expect(unreadBadge(bobPage)).toHaveCount(0, LIVE);
    await itemIn(bobPage, "Requests for you", handle(alice)).getByRole("button", { name: /Accept/ }).click();
    await expect(itemIn(bobPage, "Your friends", handle(alice))).toBeVisible();
    await expect(itemIn(bobPage, "Your friends", handle(alice)).getByRole("link", { name: /Message/ })).toHaveAttribute(
      "href",
      `/conversations/new?with=${alice.id}`,
    );
    await expect(bobPage.getByText("No one is waiting for your answer.")).toBeVisible();

    // Alice learns of it live: her badge, and the notification on the page she has open.
    await expect(unreadBadge(alicePage)).toHaveText("1 unread", LIVE);
    const accepted = itemIn(alicePage, "Notifications", "accepted your friend request");
    await expect(accepted).toBeVisible(LIVE);
    await expect(accepted).toContainText("New");
    await alicePage.getByRole("button", { name: "Mark all read" }).click();
    await expect(alicePage.getByText("1 notification marked read.")).toBeVisible();
    await expect(unreadBadge(alicePage)).toHaveCount(0, LIVE);
    await expect(accepted).not.toContainText("New");

    // Bob is among her friends now, and her request is no longer waiting.
    await accepted.getByRole("link", { name: /accepted your friend request/ }).click();
    await expect(alicePage.getByTestId("relationship")).toHaveText(/are friends/);
    await checkA11y(alicePage, "person");
    await screenshots(alicePage, "person");
    await alicePage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Friends" }).click();
    await expect(itemIn(alicePage, "Your friends", handle(bob))).toBeVisible();
    await expect(alicePage.getByText("No request of yours is waiting.")).toBeVisible();
    await checkA11y(alicePage, "friends");
    await screenshots(alicePage, "friends");
  });

  test("a profile is edited and given an avatar", async ({ browser }) => {
    const page = await signedInPage(browser, alice, "/profile");
    await expect(page.getByRole("heading", { level: 1, name: "My profile" })).toBeVisible();
    await page.getByLabel("Display name").fill("Alice in Tests");
    await page.getByLabel("Bio").fill("Writes browser tests.\nLikes gradients.");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByText("Profile saved.")).toBeVisible();
    await expect(page.getByText("Alice in Tests", { exact: true })).toBeVisible();

    // No avatar yet: the initial stands in; then a picture is chosen, previewed and uploaded.
    await expect(page.getByRole("img", { name: "Your avatar" })).not.toHaveAttribute("src", /.+/);
    await page.getByLabel("New picture").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: await pngImage(page, 320, 240) });
    await expect(page.getByRole("img", { name: "Preview of your new avatar" })).toBeVisible();
    await page.getByRole("button", { name: "Upload picture" }).click();
    await expect(page.getByText("Avatar updated.")).toBeVisible();
    const avatar = page.getByRole("img", { name: "Your avatar" });
    await expect(avatar).toHaveAttribute("src", /^\/api\/social\/avatars\/[0-9a-f-]+\/256$/);
    await expect.poll(() => avatar.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    await checkA11y(page, "profile");
    await screenshots(page, "profile");

    // It stays after a reload (the session restored from the cookie), and can be removed.
    await page.reload();
    await expect(page.getByRole("img", { name: "Your avatar" })).toHaveAttribute("src", /\/api\/social\/avatars\//);
    await expect(page.getByLabel("Bio")).toHaveValue("Writes browser tests.\nLikes gradients.");
    await page.getByRole("button", { name: "Remove avatar" }).click();
    await page.getByRole("group", { name: "Remove your avatar?" }).getByRole("button", { name: "Remove" }).click();
    await expect(page.getByText("Avatar removed.")).toBeVisible();
    await expect(page.getByRole("img", { name: "Your avatar" })).not.toHaveAttribute("src", /.+/);
  });

  test("a person is blocked, unblocked and reported with a screenshot", async ({ browser }) => {
    const page = await signedInPage(browser, alice, `/people/${bob.username}`);
    await expect(page.getByText(handle(bob))).toBeVisible();

    await page.locator("summary", { hasText: /^Block / }).click(); // opens the block form
    await page.getByLabel("Why (optional, only you see it)").fill("Testing blocks");
    await page.getByRole("button", { name: /^Block / }).click();
    await page.getByRole("group", { name: /^Block .*\?$/ }).getByRole("button", { name: "Block" }).click();
    await expect(page.getByTestId("relationship")).toHaveText(/You block/);

    // Blocked people are not found.
    await page.goto("/friends");
    await page.getByLabel("Name or username").fill(bob.username);
    await expect(page.getByText(`Nobody found for “${bob.username}”.`)).toBeVisible();

    await page.goto("/blocks");
    const blocked = itemIn(page, "People you block", handle(bob));
    await expect(blocked).toContainText("your note: Testing blocks");
    await checkA11y(page, "blocks");
    await screenshots(page, "blocks");
    await blocked.getByRole("button", { name: /Unblock/ }).click();
    await expect(page.getByText(/You no longer block/)).toBeVisible();
    await expect(page.getByText("You block no one.")).toBeVisible();

    await page.goto(`/people/${bob.username}`);
    await expect(page.getByRole("button", { name: "Add friend" })).toBeVisible();
    await page.locator("summary", { hasText: /^Report / }).click();
    await page.getByLabel("What is wrong?").fill("Sends me spam links.");
    await page.getByLabel("Screenshot (optional)").setInputFiles({ name: "evidence.png", mimeType: "image/png", buffer: await pngImage(page, 200, 120) });
    await expect(page.getByRole("img", { name: "Preview of the screenshot to send" })).toBeVisible();
    await page.getByRole("button", { name: "Send report" }).click();
    await expect(page.getByText(/Report sent/)).toBeVisible();

    await page.goto("/reports");
    const report = page.getByRole("list", { name: "Your reports" }).getByRole("listitem").first();
    await expect(report).toContainText("Sends me spam links.");
    await expect(report).toContainText("Waiting for staff");
    await expect(report).toContainText(bob.id);
    await report.getByRole("button", { name: "Show the screenshot" }).click();
    const screenshot = report.getByRole("img", { name: "The screenshot you sent with this report" });
    await expect.poll(() => screenshot.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    await checkA11y(page, "reports");
    await screenshots(page, "reports");

    // The general form names what it refuses, from the problem+json answer.
    await page.getByLabel("What are you reporting?").selectOption("item");
    await page.getByLabel("Its id").fill("not-an-id");
    await page.getByRole("form", { name: "New report" }).getByLabel("What is wrong?").fill("Fake goods.");
    await page.getByRole("button", { name: "Send report" }).click();
    await expect(page.getByRole("alert")).toContainText("target_id");
  });
});
