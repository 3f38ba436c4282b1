/**
 * The staff pages in the browser against the native stack: a staff member approves an identity
 * verification (and the user is verified), takes a report into review and resolves it (and the
 * reporter sees the outcome), filters the login activity by a user's name (reflected in the
 * address, kept over a reload) with its charts drawn, and runs a clean ledger audit. A user who is
 * not staff is shown "Staff only". Each page passes axe-core and is photographed.
 *
 * The people and what they did (a submitted document, a filed report) are made through the public
 * API in beforeAll, as other users of the platform would have made them.
 */
import type { Browser, Locator, Page } from "@playwright/test";
import type { ApiClient } from "./support/api";
import { checkA11y, expect, screenshots, signedInPage, test } from "./support/browser";
import { apiClientFor, newUser, type TestUser } from "./support/users";

test.describe.configure({ mode: "serial" });

let staff: TestUser;
let applicant: TestUser;
let reporter: TestUser;
let reported: TestUser;
let applicantApi: ApiClient;
let reporterApi: ApiClient;
let verificationId: string;
let reportId: string;

test.beforeAll(async ({ browser }) => {
  test.setTimeout(240_000);
  // One at a time: each registration solves a proof of work on a small shared machine.
  staff = await newUser({ name: "staff", staff: true });
  applicant = await newUser({ name: "applicant" });
  reporter = await newUser({ name: "reporter" });
  reported = await newUser({ name: "reported" });
  applicantApi = await apiClientFor(applicant);
  reporterApi = await apiClientFor(reporter);

  const document = await identityDocument(browser, applicant.username);
  const request = await applicantApi.call<{ id: string }>("POST", "/api/auth/verification", {
    form: { reason: "I sell handmade furniture and want to list it.", document: { filename: "passport.png", contentType: "image/png", data: document } },
  });
  verificationId = request.id;
  reportId = await fileReport(reporterApi, reported.id, document);
});

test.afterAll(() => {
  applicantApi?.close();
  reporterApi?.close();
});

test("the overview shows what waits for staff and links each staff page", async ({ browser }) => {
  const page = await signedInPage(browser, staff, "/staff");

  await expect(page.getByRole("heading", { level: 1, name: "Staff" })).toBeVisible();
  const tiles = page.getByRole("list").filter({ has: page.getByRole("heading", { name: "Verification requests" }) });
  await expect(tiles.getByText(/\d+\+? pending/)).toBeVisible();
  await expect(tiles.getByText(/\d+\+? open/)).toBeVisible();
  await expect(tiles.getByText(/failed sign-ins in 24 hours/)).toBeVisible();
  await expect(tiles.getByText(/records/)).toBeVisible();
  for (const name of ["Verifications", "Reports", "Login activity", "Ledger"]) {
    await expect(page.getByRole("navigation", { name: "Staff pages" }).getByRole("link", { name })).toBeVisible();
  }
  await checkA11y(page, "the staff overview");
  await screenshots(page, "staff-overview");
});

test("staff look at a submitted document and approve it: the user is verified", async ({ browser }) => {
  const page = await signedInPage(browser, staff, "/staff/verifications");
  await expect(page.getByRole("heading", { level: 1, name: "Verification requests" })).toBeVisible();
  const card = page.getByRole("article", { name: `Request from user ${applicant.id}` });
  await reveal(page, card);
  await expect(card.getByText("I sell handmade furniture and want to list it.")).toBeVisible();

  await card.getByRole("button", { name: "Show the document" }).click();
  const image = card.getByRole("img", { name: new RegExp(`^Identity document submitted by user ${applicant.id}`) });
  await expect(image).toBeVisible();
  // The image really loaded (an object URL of the decrypted document), not a broken-image icon.
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(100);

  // A rejection needs a note for the user: without one nothing is sent.
  await card.getByRole("button", { name: "Reject" }).click();
  await expect(card.getByRole("alert")).toContainText("Write a note before rejecting");
  expect((await applicantApi.get<{ status: string }>(`/api/auth/verification/${verificationId}`)).status).toBe("pending");

  await checkA11y(page, "the verification queue");
  await screenshots(page, "staff-verifications");

  await card.getByLabel("Notes for the user").fill("The document matches the account.");
  await card.getByRole("button", { name: "Approve" }).click();

  await expect(page.getByRole("status").filter({ hasText: `Approved the request of user ${applicant.id}` })).toBeVisible();
  await expect(card).toHaveCount(0);
  const decided = await applicantApi.get<{ status: string; notes: string }>(`/api/auth/verification/${verificationId}`);
  expect(decided).toMatchObject({ status: "approved", notes: "The document matches the account." });
  expect((await applicantApi.get<{ verified: boolean }>("/api/auth/me")).verified).toBe(true);
});

test("staff take a report into review and resolve it with a warning", async ({ browser }) => {
  const page = await signedInPage(browser, staff, "/staff/reports");
  await expect(page.getByRole("heading", { level: 1, name: "Reports" })).toBeVisible();
  const card = page.getByRole("article").filter({ hasText: reported.id });
  await reveal(page, card);
  await expect(card.getByText("Insults me in every message.")).toBeVisible();
  await expect(card.getByText(reporter.id)).toBeVisible();

  await card.getByRole("button", { name: "Show the reporter's screenshot" }).click();
  const screenshot = card.getByRole("img", { name: /^Screenshot the reporter attached/ });
  await expect.poll(() => screenshot.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(100);

  // The decision form stays folded until the report is taken into review (or "Resolve now").
  await expect(card.getByLabel("Action")).toHaveCount(0);
  await card.getByRole("button", { name: "Take into review" }).click();
  await expect(page.getByRole("status").filter({ hasText: "You took the report into review" })).toBeVisible();
  await expect(card.getByText("In review by you")).toBeVisible();
  // remove_content is offered for messages and items only: this is a report of a user.
  await expect(card.getByLabel("Action").locator("option", { hasText: "Remove the content" })).toHaveCount(0);

  await card.getByLabel("Action").selectOption({ label: "Warn the user" });
  await card.getByLabel("Notes").fill("Keep it civil: insults are against the rules.");
  await checkA11y(page, "the reports queue");
  await screenshots(page, "staff-reports");
  await card.getByRole("button", { name: "Resolve" }).click();

  await expect(page.getByRole("status").filter({ hasText: "Resolved the report of a user: warned." })).toBeVisible();
  await expect(card).toHaveCount(0);
  // The reporter sees the outcome of their report.
  const seen = await reporterApi.get<{ status: string; action: string }>(`/api/social/reports/${reportId}`);
  expect(seen).toMatchObject({ status: "resolved", action: "warn" });
});

test("the login activity filters by a username in the address and charts the attempts", async ({ browser }) => {
  const page = await signedInPage(browser, staff, "/staff/login-activity");
  await expect(page.getByRole("heading", { level: 1, name: "Login activity" })).toBeVisible();
  await expect(page.getByRole("img", { name: /^Sign-in attempts per day, last 14 days: bar chart of 14 bars/ })).toBeVisible();
  await expect(page.getByRole("img", { name: /^Failed attempts per day, last 14 days: bar chart of 14 bars/ })).toBeVisible();

  const filters = page.getByRole("form", { name: "Filter login attempts" });
  await filters.getByLabel("Username").fill(applicant.username);
  await filters.getByLabel("Result").selectOption({ label: "Succeeded" });
  await filters.getByRole("button", { name: "Apply filters" }).click();

  await expect(page).toHaveURL(new RegExp(`[?&]username=${applicant.username}(&|$)`));
  await expect(page).toHaveURL(/[?&]success=true(&|$)/);
  const rows = page.getByRole("table", { name: "Login attempts" }).locator("tbody tr");
  // Registered, then signed in by the fixtures and by this test's API client: at least two sign-ins.
  await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(2);
  for (const row of await rows.all()) {
    await expect(row).toContainText(applicant.username);
    await expect(row).toContainText("Succeeded");
  }

  // The view is the address: a reload shows the same filters and results.
  await page.reload();
  await expect(filters.getByLabel("Username")).toHaveValue(applicant.username);
  await expect(rows.first()).toContainText(applicant.username);

  // Charted by hour instead: 24 bars, one per hour of the last day.
  await filters.getByLabel("Chart by").selectOption({ label: "Hour" });
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(/[?&]period=hour(&|$)/);
  await expect(page.getByRole("img", { name: /^Sign-in attempts per hour, last 24 hours: bar chart of 24 bars/ })).toBeVisible();
  await checkA11y(page, "the login-activity dashboard");
  await screenshots(page, "staff-login-activity");

  // What the API refuses (an IP address cut short) is shown as its problem, not swallowed.
  await filters.getByLabel("IP address").fill("10.0");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Not a valid IP address" })).toBeVisible();
});

test("the ledger page shows the log's state and runs a clean audit", async ({ browser }) => {
  const page = await signedInPage(browser, staff, "/staff/ledger");
  await expect(page.getByRole("heading", { level: 1, name: "Ledger" })).toBeVisible();
  const figures = page.locator(".staff-figures");
  await expect(figures.getByText("Tree size (records)")).toBeVisible();
  await expect(figures.getByText("Blocks")).toBeVisible();
  await expect(figures.getByText("Last checkpoint")).toBeVisible();
  await expect(page.getByRole("table", { name: "Messages sealed per conversation" })).toBeVisible();

  const run = page.getByRole("button", { name: "Run the audit" });
  const verdict = page.getByRole("status").filter({ hasText: /The audit found the log intact\.|No problem found so far\./ });
  // The ledger worker audits on a schedule too; while it does, the API answers 409 and the page
  // says so: ask again until this request is the one that runs.
  await expect(async () => {
    if (await page.getByRole("button", { name: "Try again" }).isVisible()) await page.getByRole("button", { name: "Try again" }).click();
    else if (!(await verdict.isVisible())) await run.click();
    await expect(verdict).toBeVisible({ timeout: 30_000 });
  }).toPass({ timeout: 120_000 });
  await expect(page.getByRole("alert")).toHaveCount(0);
  await expect(page.getByText("Failed: see the audit")).toHaveCount(0);

  await checkA11y(page, "the ledger page");
  await screenshots(page, "staff-ledger");
});

test("a signed-in user who is not staff is told the staff pages are for staff only", async ({ browser }) => {
  const page = await signedInPage(browser, reporter, "/staff");

  await expect(page.getByRole("heading", { level: 1, name: "Staff only" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Staff" })).toHaveCount(0);
  for (const path of ["/staff/verifications", "/staff/reports", "/staff/login-activity", "/staff/ledger"]) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1, name: "Staff only" })).toBeVisible();
  }
  await checkA11y(page, "the staff-only page");
});

// --- helpers -----------------------------------------------------------------------------------

/** Press "Load more" until `card` shows: the queues are oldest first and other tests leave items in them. */
async function reveal(page: Page, card: Locator): Promise<void> {
  const more = page.getByRole("button", { name: "Load more" });
  await expect(async () => {
    if (!(await card.isVisible()) && (await more.isVisible())) await more.click();
    await expect(card).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
}

/**
 * A PNG that looks like an identity document (drawn by Chromium and photographed), so the queue's
 * screenshot shows a document rather than a dot; auth judges the type by content, so it is real.
 */
async function identityDocument(browser: Browser, name: string): Promise<Buffer> {
  const page = await browser.newPage({ viewport: { width: 480, height: 300 } });
  try {
    await page.setContent(`
      <body style="margin:0;font-family:sans-serif">
        <div style="width:480px;height:300px;box-sizing:border-box;padding:24px;background:#dbeafe;border:6px solid #1e3a8a">
          <div style="font-size:22px;font-weight:bold;color:#1e3a8a">IDENTITY CARD</div>
          <div style="display:flex;gap:24px;margin-top:24px">
            <div style="width:120px;height:150px;background:#94a3b8"></div>
            <div style="font-size:18px;line-height:1.8">Name: ${name}<br>Born: 1990-01-01<br>No: E2E-${Date.now()}</div>
          </div>
        </div>
      </body>`);
    return await page.screenshot({ type: "png" });
  } finally {
    await page.close();
  }
}

/** The reporter reports the user once social knows them (profiles arrive by event, shortly after registration). */
async function fileReport(client: ApiClient, userId: string, screenshot: Buffer): Promise<string> {
  let id = "";
  await expect(async () => {
    const answer = await client.request<{ id: string }>("POST", "/api/social/reports", {
      form: {
        target_type: "user",
        target_id: userId,
        reason: "Insults me in every message.",
        screenshot: { filename: "chat.png", contentType: "image/png", data: screenshot },
      },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    id = answer.body.id;
  }).toPass({ timeout: 30_000 });
  return id;
}
