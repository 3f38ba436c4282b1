/**
 * The account screens in the real browser, against the native stack: a visitor registers (the
 * proof of work solved in a Web Worker, with progress, and cancellable), signs out and in again;
 * two-factor authentication is set up from the QR code's secret and then asked for at sign-in;
 * a password is reset with a recovery code, and (on the native stack) with the code auth sends;
 * the sessions list marks this session and revokes others; an identity document is sent for
 * review. Every screen is checked with axe and photographed.
 *
 * The browser itself signs in from 127.0.0.1, whose budget at the gateway is 20 requests a minute
 * on login, registration and password reset: only the tests of those screens use it (~15
 * requests a run); the others start from `signedInPage`, signed in from Node.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "@playwright/test";
import { ApiClient, webUrl } from "./support/api";
import { checkA11y, expect, screenshot, signedInPage, test } from "./support/browser";
import { ONE_PIXEL_PNG } from "./support/images";
import { TotpDevice } from "./support/totp";
import { apiClientFor, newUser } from "./support/users";

const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// Where the native stack's auth writes one-time codes (PASSWORD_RESET_CODE_SENDER=log, its default).
const AUTH_LOG = path.join(CHECKOUT, ".dev/logs/auth.log");


function freshDetails(prefix: string) {
  const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const username = `${prefix}_${tag}`;
  return {
    username,
    email: `${username}@e2e.test`,
    phone: `+4420${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`,
    password: `E2e-${tag}-${Math.random().toString(36).slice(2)}`,
  };
}

function mainNav(page: Page) {
  return page.getByRole("navigation", { name: "Main" });
}

/** Signs out with the menu's button; the page then shows whatever it shows a visitor. */
async function signOut(page: Page) {
  await mainNav(page).getByRole("button", { name: /^Sign out/ }).click();
  await expect(mainNav(page).getByRole("link", { name: "Sign in" })).toBeVisible();
}

async function expectHome(page: Page, username: string) {
  await expect(page.getByRole("heading", { level: 1, name: `Hello, ${username}` })).toBeVisible({ timeout: 30_000 });
}

/** Signs in on the sign-in form shown (landing or /login): the password step. */
async function submitPassword(page: Page, login: string, password: string) {
  await page.getByLabel("Username or email").fill(login);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** Whether a login answers 200 from Node (another address than the browser's); api mode. */
async function loginStatus(username: string, password: string): Promise<number> {
  const client = new ApiClient(webUrl());
  try {
    return (await client.request("POST", "/api/auth/login", { json: { username, password }, token: null })).status;
  } finally {
    client.close();
  }
}

test.describe("account", () => {
  test("a visitor registers, solving the proof of work in the browser, then signs out and in again", async ({ page }) => {
    test.setTimeout(120_000);
    const me = freshDetails("reg");

    await page.goto("/");
    await expect(page.getByRole("heading", { level: 1, name: "Welcome to BeYou" })).toBeVisible();
    await checkA11y(page, "landing");
    await screenshot(page, "landing");

    await page.getByRole("link", { name: "Create an account" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Create your account" })).toBeVisible();
    await checkA11y(page, "register");

    // A mistake is caught before any work is done.
    await page.getByLabel("Username").fill(me.username);
    await page.getByLabel("Email").fill(me.email);
    await page.getByLabel("Phone").fill(me.phone);
    await page.getByLabel("Password", { exact: true }).fill(me.password);
    await page.getByLabel("Confirm password").fill(`${me.password}x`);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByText("The two passwords differ.")).toBeVisible();
    await expect(page.getByLabel("Confirm password")).toBeFocused();
    await page.getByLabel("Confirm password").fill(me.password);

    // First a challenge no browser finishes during a test (40 bits: ~10^12 hashes), answered by the
    // test instead of auth, to watch the progress bar move and cancel the search. Its token is never sent.
    await page.route("**/api/auth/challenge", (route) =>
      route.fulfill({
        status: 201,
        contentType: "application/json",
        body: JSON.stringify({ id: crypto.randomUUID(), token: "test-only.never-sent", difficulty: 40, expires_at: new Date(Date.now() + 300_000).toISOString() }),
      }),
    );
    await page.getByRole("button", { name: "Create account" }).click();
    const bar = page.getByRole("progressbar", { name: /Registration puzzle/ });
    await expect(bar).toBeVisible();
    const tried = () => bar.evaluate((element) => (element as HTMLProgressElement).value);
    await expect.poll(tried).toBeGreaterThan(0);
    const first = await tried();
    await expect.poll(tried).toBeGreaterThan(first); // the worker keeps reporting
    await checkA11y(page, "register (solving)");
    await screenshot(page, "register-progress");
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Cancelled" })).toBeVisible();
    await expect(bar).toBeHidden();
    await expect(page.getByLabel("Username")).toHaveValue(me.username); // nothing to type again

    // Now auth's own challenge: solved, registered, signed in, home.
    await page.unroute("**/api/auth/challenge");
    await page.getByRole("button", { name: "Create account" }).click();
    await expectHome(page, me.username);
    await expect(page.getByText("Not verified yet.")).toBeVisible();
    await checkA11y(page, "home");

    // No token where a script could read it: the refresh token is an HttpOnly cookie.
    const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookies: document.cookie }));
    expect(stored).toEqual({ local: 0, session: 0, cookies: "" });
    const cookies = await page.context().cookies();
    expect(cookies.find((cookie) => cookie.name === "beyou_refresh")).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/api/auth/token" });

    await signOut(page);
    await expect(page.getByRole("heading", { level: 1, name: "Welcome to BeYou" })).toBeVisible();

    // A wrong password reads as such; the right one (by email this time) signs in.
    await mainNav(page).getByRole("link", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
    await submitPassword(page, me.email, "not-the-password");
    await expect(page.getByRole("alert")).toContainText("Wrong username, email or password");
    await submitPassword(page, me.email, me.password);
    await expectHome(page, me.username);
  });

  test("2FA is set up from the QR code's secret, asked for at sign-in, and a recovery code resets the password", async ({ browser }) => {
    test.setTimeout(180_000);
    const user = await newUser({ name: "twofa" });
    const page = await signedInPage(browser, user);

    await mainNav(page).getByRole("link", { name: "Security" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Security" })).toBeVisible();
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByRole("button", { name: "Set up 2FA" }).click();

    await expect(page.getByRole("img", { name: /QR code for your authenticator app/ })).toBeVisible();
    const secret = ((await page.locator("code.secret").textContent()) ?? "").replace(/\s+/g, "");
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await checkA11y(page, "security (2FA setup)");
    await screenshot(page, "security-2fa-setup");

    // The test is the person's authenticator app, fed the secret the page showed.
    const authenticator = new TotpDevice(secret);
    await page.getByLabel("Code from the app").fill(await authenticator.nextCode());
    await page.getByRole("button", { name: "Turn on 2FA" }).click();
    const codes = page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
    await expect(codes).toHaveCount(10);
    const recoveryCodes = (await codes.allTextContents()).map((code) => code.trim());
    await expect(page.getByRole("status").filter({ hasText: "Two-factor authentication is on." })).toBeVisible();
    await expect(page.getByRole("button", { name: "Download codes" })).toBeVisible();
    await checkA11y(page, "security (recovery codes)");
    await screenshot(page, "security-recovery-codes");
    await page.getByRole("button", { name: "I have saved them" }).click();
    await expect(codes).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Turn off 2FA" })).toBeVisible();

    // Signing in now takes the code after the password.
    await signOut(page);
    await mainNav(page).getByRole("link", { name: "Sign in" }).click();
    await submitPassword(page, user.username, user.password);
    await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
    await checkA11y(page, "login (2FA step)");
    await screenshot(page, "login-2fa");
    await page.getByLabel("Authentication code").fill(await authenticator.nextCode());
    await page.getByRole("button", { name: "Verify and sign in" }).click();
    await expectHome(page, user.username);

    // Forgotten password: with 2FA on, a recovery code proves who asks.
    await signOut(page);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Reset your password" })).toBeVisible();
    await page.getByLabel("Username or email").fill(user.username);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByLabel("Code", { exact: true }).fill(recoveryCodes[0]);
    await checkA11y(page, "password reset (code)");
    await page.getByRole("button", { name: "Verify" }).click();
    const newPassword = `${user.password}-renewed`;
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("Confirm new password").fill(newPassword);
    await page.getByRole("button", { name: "Set new password" }).click();
    await expect(page.getByText("Your password has been changed")).toBeVisible();
    await checkA11y(page, "password reset (done)");
    expect(await loginStatus(user.username, user.password)).toBe(401);

    await page.getByRole("link", { name: "Sign in with the new password" }).click();
    await submitPassword(page, user.username, newPassword);
    await page.getByLabel("Authentication code").fill(await authenticator.nextCode());
    await page.getByRole("button", { name: "Verify and sign in" }).click();
    await expectHome(page, user.username);
  });

  test("the sessions list marks this session, and revokes another and then all others", async ({ browser }) => {
    const user = await newUser({ name: "sessions" });
    const laptop = await apiClientFor(user); // another device, signed in after newUser's own sign-in
    try {
      const page = await signedInPage(browser, user);
      await mainNav(page).getByRole("link", { name: "Security" }).click();

      const sessions = page.getByRole("list", { name: "Sessions" }).getByRole("listitem");
      const current = sessions.filter({ hasText: "This session" });
      const others = sessions.filter({ hasNotText: "This session" });
      await expect(current).toHaveCount(1);
      await expect(current.getByRole("button")).toHaveCount(0); // this one ends with Sign out, not here
      await expect(others).toHaveCount(2); // newUser's sign-in and the laptop's
      await checkA11y(page, "security");
      await screenshot(page, "security");

      // Newest first: the first other session is the laptop's.
      await expect(laptop.get("/api/auth/me")).resolves.toMatchObject({ username: user.username });
      await others.first().getByRole("button", { name: /^Revoke the session/ }).click();
      await expect(page.getByRole("status").filter({ hasText: "Revoked the session" })).toBeVisible();
      await expect(others).toHaveCount(1);
      await expect(laptop.get("/api/auth/me")).rejects.toMatchObject({ name: "ProblemError", status: 401 });

      await page.getByRole("button", { name: "Revoke all other sessions" }).click();
      await expect(page.getByRole("status").filter({ hasText: "Revoked 1 other session." })).toBeVisible();
      await expect(others).toHaveCount(0);
      await expect(current).toHaveCount(1);

      // Revoked ones stay listed on request, marked.
      await page.getByLabel("Show revoked and expired sessions").check();
      await expect(sessions.filter({ hasText: /Revoked / })).toHaveCount(2);
    } finally {
      laptop.close();
    }
  });

  test("an identity document is sent for review, shows as pending, and staff's decisions arrive live", async ({ browser }) => {
    const user = await newUser({ name: "verify" });
    const page = await signedInPage(browser, user);
    await page.getByRole("link", { name: "Verify your identity" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Identity verification" })).toBeVisible();
    await expect(page.getByText("You have not asked to be verified yet.")).toBeVisible();
    await checkA11y(page, "verification (empty)");

    // A file that only pretends to be a PNG: auth looks at the content and says so.
    await page.getByLabel("Identity document").setInputFiles({ name: "passport.png", mimeType: "image/png", buffer: Buffer.from("not an image") });
    await page.getByLabel("Reason").fill("I want to sell in the marketplace.");
    await page.getByRole("button", { name: "Send for review" }).click();
    await expect(page.getByRole("alert")).toContainText("JPEG, PNG or PDF");

    await page.getByLabel("Identity document").setInputFiles({ name: "passport.png", mimeType: "image/png", buffer: ONE_PIXEL_PNG });
    await page.getByRole("button", { name: "Send for review" }).click();
    await expect(page.getByRole("status").filter({ hasText: "your request was sent" })).toBeVisible();
    const requests = page.getByRole("list", { name: "Verification requests" }).getByRole("listitem");
    await expect(requests).toHaveCount(1);
    await expect(requests.first()).toContainText("Pending");
    await expect(requests.first()).toContainText("I want to sell in the marketplace.");
    await expect(page.getByRole("button", { name: "Send for review" })).toHaveCount(0); // one open request at a time
    await checkA11y(page, "verification (pending)");
    await screenshot(page, "verification");

    // Staff decide; the page hears of it over the live stream (auth → social's notification →
    // messaging's stream), without a reload.
    const staff = await apiClientFor(await newUser({ name: "verifier", staff: true }));
    const own = await apiClientFor(user); // the request ids, as the user's API sees them (newest first)
    const latestRequest = async () => (await own.get<{ items: { id: string }[] }>("/api/auth/verification")).items[0].id;
    try {
      await staff.post(`/api/auth/admin/verifications/${await latestRequest()}/reject`, { notes: "The photo is too small to read." });
      await expect(requests.first()).toContainText("Rejected", { timeout: 30_000 });
      await expect(requests.first()).toContainText("Staff notes: The photo is too small to read.");
      await expect(page.getByRole("heading", { name: "Try again" })).toBeVisible();
      await checkA11y(page, "verification (rejected)");

      await page.getByLabel("Identity document").setInputFiles({ name: "passport.png", mimeType: "image/png", buffer: ONE_PIXEL_PNG });
      await page.getByLabel("Reason").fill("A larger photo this time.");
      await page.getByRole("button", { name: "Send for review" }).click();
      await expect(requests).toHaveCount(2);
      await staff.post(`/api/auth/admin/verifications/${await latestRequest()}/approve`, {});
      await expect(requests.first()).toContainText("Approved", { timeout: 30_000 });
      // The account (and the access token, refreshed) now say verified: the home page agrees.
      await expect(page.getByText("Your account is verified.", { exact: true }).first()).toBeVisible();
      await page.getByRole("link", { name: "BeYou home" }).click();
      await expect(page.getByText("Verified", { exact: true })).toBeVisible();
    } finally {
      staff.close();
      own.close();
    }
  });

  test("a password is reset with the one-time code auth sends (native stack: read from auth's log)", async ({ page }) => {
    // The native stack has no mail server: auth's `log` code sender writes the code to its log,
    // which this test reads as the person would read their email. Elsewhere there is no inbox to read.
    test.skip(!existsSync(AUTH_LOG), `no ${AUTH_LOG}: not the native stack (make dev), whose auth logs one-time codes`);
    const user = await newUser({ name: "reset" });
    const logStart = statSync(AUTH_LOG).size;

    await page.goto("/password-reset");
    await page.getByLabel("Username or email").fill(user.email);
    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page.getByLabel("Code", { exact: true })).toBeVisible();
    await expect(page.getByText("the 8-digit code sent to your account's email address")).toBeVisible();

    let code: string | undefined;
    await expect
      .poll(() => (code = codeSentTo(user.email, logStart)), { message: `a one-time code for ${user.email} in ${AUTH_LOG}`, timeout: 15_000 })
      .toBeTruthy();
    await page.getByLabel("Code", { exact: true }).fill(code!);
    await page.getByRole("button", { name: "Verify" }).click();
    const newPassword = `${user.password}-reset`;
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("Confirm new password").fill(newPassword);
    await page.getByRole("button", { name: "Set new password" }).click();
    await expect(page.getByText("Your password has been changed")).toBeVisible();

    expect(await loginStatus(user.username, user.password)).toBe(401);
    expect(await loginStatus(user.username, newPassword)).toBe(200);
  });
});

/** The last password-reset code auth logged for `email` after byte `from` of its log (JSON lines). */
function codeSentTo(email: string, from: number): string | undefined {
  const size = statSync(AUTH_LOG).size;
  if (size <= from) return undefined;
  const buffer = Buffer.alloc(size - from);
  const fd = openSync(AUTH_LOG, "r");
  try {
    readSync(fd, buffer, 0, buffer.length, from);
  } finally {
    closeSync(fd);
  }
  let code: string | undefined;
  for (const line of buffer.toString("utf8").split("\n")) {
    if (!line.includes('"one-time code"')) continue;
    try {
      const entry = JSON.parse(line) as { destination?: string; purpose?: string; code?: string };
      if (entry.destination === email && entry.purpose === "password_reset") code = entry.code;
    } catch {
      // A line being written as we read: the next poll sees it whole.
    }
  }
  return code;
}
