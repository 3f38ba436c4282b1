/**
 * The app as the gateway serves it: it loads under the gateway's strict Content-Security-Policy
 * with nothing refused (the `test` of support/browser.ts fails on any violation or console error),
 * client-side routes work as deep links, a signed-in session survives a reload through the
 * HttpOnly refresh cookie alone (no token anywhere a script can read), and the landing page passes
 * axe-core.
 */
import { checkA11y, expect, screenshots, signedInPage, test } from "./support/browser";
import { newUser } from "./support/users";

const APP_CSP_DIRECTIVES = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
];

test("the app loads at / under the gateway's Content-Security-Policy", async ({ page }) => {
  const response = await page.goto("/");

  expect(response?.status()).toBe(200);
  const policy = response?.headers()["content-security-policy"] ?? "";
  for (const directive of APP_CSP_DIRECTIVES) expect(policy).toContain(directive);
  expect(policy).not.toContain("unsafe-inline");
  await expect(page.getByRole("link", { name: "BeYou home" })).toBeVisible();
  await expect(page.locator("h1")).toHaveCount(1);
  // An anonymous visitor: the app asked for a session, found none and offers to sign in.
  await expect(page.getByRole("link", { name: "Sign in" })).toBeVisible();
});

test("a deep link to a client-side route is answered with the app, whose router shows the page", async ({ page }) => {
  const response = await page.goto("/no/such/page?x=1");

  expect(response?.status()).toBe(200);
  expect(response?.headers()["content-type"]).toContain("text/html");
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  await expect(page).toHaveTitle(/Page not found/);
});

test("a signed-in session is restored after a reload from the HttpOnly cookie alone", async ({ browser }) => {
  const user = await newUser({ name: "smoke" });
  const page = await signedInPage(browser, user, "/");
  const signOut = page.getByRole("button", { name: `Sign out (${user.username})` });
  await expect(signOut).toBeVisible();

  await page.reload();

  await expect(signOut).toBeVisible();
  // The refresh token is a cookie scripts cannot read, and no token is kept in web storage.
  expect(await page.evaluate(() => document.cookie)).not.toContain("beyou_refresh");
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  expect(stored).not.toMatch(/eyJ|token/i);
  const cookies = await page.context().cookies();
  expect(cookies.find((cookie) => cookie.name === "beyou_refresh")).toMatchObject({
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/api/auth/token",
  });
});

test("the landing page passes axe-core (WCAG 2.1 A and AA)", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("h1")).toBeVisible();

  await checkA11y(page, "the landing page");
  await screenshots(page, "landing");
});
