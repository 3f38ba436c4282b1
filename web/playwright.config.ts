// The browser tests (e2e/*.spec.ts): headless Chromium — Debian's /usr/bin/chromium, never a
// browser Playwright downloads — against the app as the gateway serves it (web/dist behind nginx,
// under its Content-Security-Policy), with the real services behind. See e2e/support/README.md.
//
//   BEYOU_WEB_URL      the gateway (default http://localhost:8080: the native stack, make dev)
//   BEYOU_CHROMIUM     the Chromium binary (default /usr/bin/chromium)
//   BEYOU_E2E_WORKERS  tests run at once (default 1: the stack and the browsers share a small machine)
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  // The tests of one file run in order in one worker (a journey's steps may share its people);
  // files run side by side only with BEYOU_E2E_WORKERS > 1.
  fullyParallel: false,
  workers: Number(process.env.BEYOU_E2E_WORKERS ?? 1),
  retries: 0,
  forbidOnly: !!process.env.CI,
  // A journey registers people (proof of work) and waits for events between services: minutes,
  // not seconds, on a loaded two-core machine; one step still fails within 15 s.
  timeout: 180_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  use: {
    baseURL: process.env.BEYOU_WEB_URL ?? "http://localhost:8080",
    browserName: "chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    launchOptions: { executablePath: process.env.BEYOU_CHROMIUM ?? "/usr/bin/chromium" },
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
