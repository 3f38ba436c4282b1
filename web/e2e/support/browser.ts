/**
 * The browser side of the tests: pages already signed in, the accessibility check, screenshots, and
 * the `test` every spec imports, which fails a test on any console error, uncaught exception,
 * Content-Security-Policy violation or server error (5xx) in its pages.
 *
 *   import { test, expect, signedInPage, checkA11y, screenshots } from "./support/browser";
 *   import { newUser } from "./support/users";
 */
import AxeBuilder from "@axe-core/playwright";
import { test as base, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient, webUrl } from "./api";
import { signIn, type TestUser } from "./users";

export { expect };

/** web/screenshots/ (gitignored): `screenshots()` writes <name>-desktop.png and <name>-phone.png there. */
export const SCREENSHOTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../screenshots");
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** auth's browser-mode refresh cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/auth/token). */
const REFRESH_COOKIE = "beyou_refresh";

// --- what the pages of a test must not do ------------------------------------------------------

interface Watch {
  problems: string[];
  allowed: RegExp[];
  /** Contexts this module opened (signedInPage), closed when the test ends. */
  owned: boolean;
}

const watched = new Map<BrowserContext, Watch>();
/** True while a test of this module's `test` runs: only then are pages watched and closed. */
let watching = false;

// Chromium reports every HTTP error answer of a fetch as a console error ("Failed to load
// resource: the server responded with a status of 401"). The 4xx ones are answers the app shows
// or handles (no session cookie at start, a wrong password); a 5xx is a server failure.
const CLIENT_ERROR_ANSWER = /^Failed to load resource: the server responded with a status of 4\d\d/;

/** Watch a context's pages: console errors, uncaught exceptions, CSP violations, 5xx answers. */
export async function watchContext(context: BrowserContext, owned = false): Promise<void> {
  if (watched.has(context)) return;
  const watch: Watch = { problems: [], allowed: [], owned };
  watched.set(context, watch);
  const report = (problem: string) => {
    if (!watch.allowed.some((pattern) => pattern.test(problem))) watch.problems.push(problem);
  };
  context.on("console", (message) => {
    if (message.type() === "error" && !CLIENT_ERROR_ANSWER.test(message.text())) {
      report(`console error on ${message.page()?.url() ?? "?"}: ${message.text()}`);
    }
  });
  context.on("weberror", (error) => report(`uncaught exception: ${error.error().stack ?? error.error().message}`));
  context.on("response", (response) => {
    if (response.status() >= 500) report(`${response.status()} from ${response.request().method()} ${response.url()}`);
  });
  // Chromium logs a CSP violation as a console error ("Refused to ..."); the DOM event is caught
  // too, for violations it reports only there (e.g. in a worker's scope).
  await context.exposeBinding("__beyouCspViolation", (_source, detail: string) => report(`CSP violation: ${detail}`));
  await context.addInitScript(() => {
    const forward = (window as unknown as { __beyouCspViolation: (detail: string) => void }).__beyouCspViolation;
    document.addEventListener("securitypolicyviolation", (event) => {
      forward(`${event.effectiveDirective} refused ${event.blockedURI || "(inline)"} on ${event.documentURI}`);
    });
  });
}

/** Let a test's pages log errors matching `pattern` (a failure the test provokes on purpose). */
export function allowErrors(pageOrContext: Page | BrowserContext, pattern: RegExp): void {
  const context = "context" in pageOrContext ? pageOrContext.context() : pageOrContext;
  watched.get(context)?.allowed.push(pattern);
}

async function settleWatches(): Promise<string[]> {
  const problems: string[] = [];
  for (const [context, watch] of watched) {
    problems.push(...watch.problems);
    if (watch.owned) await context.close().catch(() => undefined);
  }
  watched.clear();
  return problems;
}

/**
 * The `test` of every spec: Playwright's, with each test's own page (`page`) and every page opened
 * with `signedInPage` watched; the test fails if any of them logged a console error, threw, broke
 * the Content-Security-Policy or got a 5xx answer.
 */
export const test = base.extend<{ pageWatch: void }>({
  pageWatch: [
    async ({ context }, use) => {
      await watchContext(context);
      watching = true;
      try {
        await use();
      } finally {
        watching = false;
      }
      const problems = await settleWatches();
      expect(problems, "the pages of this test reported errors").toEqual([]);
    },
    { auto: true },
  ],
});

// --- signed-in pages ---------------------------------------------------------------------------

/**
 * A page of a browser context of its own whose cookie jar already holds `user`'s browser-mode
 * refresh cookie, opened at `path` once the app has restored the session from it (the sign-out
 * button shows). The sign-in happens from Node, from the user's own address: no browser login, so
 * the gateway's per-address login budget of the browser (127.0.0.1) is left to the tests of login.
 * With 2FA on, the code comes from the user's authenticator (`user.totp`).
 */
export async function signedInPage(browser: Browser, user: TestUser, path = "/"): Promise<Page> {
  if (!watching) {
    throw new Error(
      'signedInPage() needs the watched test: import { test, expect } from "./support/browser", not from "@playwright/test" ' +
        "(it checks the page for console errors and CSP violations, and closes it after the test)",
    );
  }
  const client = new ApiClient(webUrl(), user.sourceAddress);
  let cookie;
  try {
    cookie = refreshCookie((await signIn(client, user, "browser")).headers["set-cookie"]);
  } finally {
    client.close();
  }
  const context = await browser.newContext({ baseURL: webUrl(), viewport: DESKTOP });
  await watchContext(context, true);
  await context.addCookies([cookie]);
  const page = await context.newPage();
  await page.goto(path);
  await expect(page.getByRole("button", { name: /^Sign out/ })).toBeVisible();
  return page;
}

type Cookie = Parameters<BrowserContext["addCookies"]>[0][number];

/** The refresh cookie of a browser-mode sign-in, with the attributes auth set, for addCookies. */
export function refreshCookie(setCookie: string[] | undefined): Cookie {
  const line = (setCookie ?? []).find((value) => value.startsWith(`${REFRESH_COOKIE}=`));
  if (!line) throw new Error(`a browser-mode sign-in set no ${REFRESH_COOKIE} cookie (Set-Cookie: ${JSON.stringify(setCookie)})`);
  const [pair, ...attributes] = line.split(";").map((part) => part.trim());
  const attribute = (name: string) =>
    attributes.find((a) => a.toLowerCase().startsWith(name.toLowerCase()))?.split("=").slice(1).join("=");
  const maxAge = Number(attribute("Max-Age"));
  const sameSite = attribute("SameSite");
  const cookie: Cookie = {
    name: REFRESH_COOKIE,
    value: pair.slice(REFRESH_COOKIE.length + 1),
    domain: new URL(webUrl()).hostname,
    path: attribute("Path") ?? "/",
    httpOnly: attributes.some((a) => a.toLowerCase() === "httponly"),
    secure: attributes.some((a) => a.toLowerCase() === "secure"),
    sameSite: sameSite === "Lax" || sameSite === "None" ? sameSite : "Strict",
  };
  if (Number.isFinite(maxAge)) cookie.expires = Math.floor(Date.now() / 1000) + maxAge;
  return cookie;
}

// --- accessibility and screenshots -------------------------------------------------------------

const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/** axe-core on the page as it is now (WCAG 2.x A and AA); fails listing each violation and where. */
export async function checkA11y(page: Page, name = page.url()): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const found = results.violations.map(
    (violation) =>
      `${violation.id} (${violation.impact}): ${violation.help}\n` +
      violation.nodes.map((node) => `    at ${node.target.join(" ")}: ${node.failureSummary?.replace(/\n/g, " ")}`).join("\n"),
  );
  expect(found, `accessibility violations on ${name}`).toEqual([]);
}

/**
 * web/screenshots/<name>-desktop.png (1280x800) and <name>-phone.png (390x844), whole pages; the
 * page's viewport is put back afterwards.
 */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const original = page.viewportSize();
  for (const [label, size] of [["desktop", DESKTOP], ["phone", PHONE]] as const) {
    await page.setViewportSize(size);
    // Layout that follows the width by ResizeObserver (the charts) settles a frame or two after
    // the resize: a screenshot taken at once can catch it still at the old width.
    await page.evaluate(() => new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => done()))));
    await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${name}-${label}.png`), fullPage: true, animations: "disabled" });
  }
  if (original) await page.setViewportSize(original);
}

/** The same as `screenshots` (the name the shared brief used). */
export const screenshot = screenshots;
