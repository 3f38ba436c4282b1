/**
 * The key management screen (/keys) in the real browser: keys made with Web Crypto and registered
 * with auth (the server lists exactly the fingerprints the page shows), kept in IndexedDB encrypted
 * with the passphrase (a reload finds them locked; a wrong passphrase is refused), a backup file
 * downloaded from a Blob URL that the CLI's own key-file reader opens, and that backup imported in
 * a fresh browser context (empty IndexedDB) to the same keys. Axe and screenshots on the way.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "@playwright/test";
import { checkA11y, expect, screenshots, signedInPage, test } from "./support/browser";
import { apiClientFor, newUser, type TestUser } from "./support/users";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PASSPHRASE = "seven purple otters juggle";
// Argon2id (64 MiB, the CLI's parameters) runs in JavaScript: seconds, more on a loaded machine.
const SLOW = { timeout: 90_000 };

async function registeredFingerprints(user: TestUser): Promise<string[]> {
  const client = await apiClientFor(user);
  try {
    const page = await client.call<{ items: { fingerprint: string; purpose: string }[] }>("GET", `/api/auth/users/${user.id}/keys?active=true`);
    return page.items.map((key) => key.fingerprint).sort();
  } finally {
    client.close();
  }
}

/** The fingerprints of the keys this browser holds, as the page shows them (grouped hex, ungrouped here). */
async function heldFingerprints(page: Page, status: "active" | "retired" = "active"): Promise<string[]> {
  const table = page.getByRole("table", { name: "Keys held in this browser" });
  const rows = table.getByRole("row").filter({ hasText: status });
  const texts = await rows.locator("td.fingerprint").allTextContents();
  return texts.map((text) => text.replaceAll(" ", "")).sort();
}

test("keys are made in the browser, locked after a reload, backed up, and imported in another browser", async ({ browser }) => {
  const user = await newUser({ name: "keys" });
  const page = await signedInPage(browser, user, "/keys");

  await expect(page.getByRole("heading", { level: 1, name: "Keys" })).toBeVisible();
  await expect(page.getByText("No keys in this browser")).toBeVisible();
  await expect(page.getByText("No keys are registered for your account yet.")).toBeVisible();
  await checkA11y(page, "keys-none");
  await screenshots(page, "keys-none");

  // A passphrase that does not match its confirmation is caught before anything is made.
  await page.getByLabel("New passphrase").fill(PASSPHRASE);
  await page.getByLabel("Repeat the passphrase").fill(PASSPHRASE + "!");
  await page.getByRole("button", { name: "Make and register keys" }).click();
  await expect(page.getByText("The two passphrases differ.")).toBeVisible();
  await page.getByLabel("Repeat the passphrase").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Make and register keys" }).click();

  await expect(page.getByText("Unlocked", { exact: true })).toBeVisible(SLOW);
  const held = await heldFingerprints(page);
  expect(held).toHaveLength(2);
  expect(await registeredFingerprints(user)).toEqual(held);
  const registered = page.getByRole("table", { name: "Public keys registered for your account" });
  await expect(registered.getByRole("row")).toHaveCount(3);
  await expect(registered.getByRole("cell", { name: "Yes", exact: true })).toHaveCount(2);
  await checkA11y(page, "keys-unlocked");
  await screenshots(page, "keys-unlocked");

  // A reload: the private keys are in IndexedDB, encrypted; nothing is unlocked in the new page.
  await page.reload();
  await expect(page.getByText("Locked", { exact: true })).toBeVisible();
  await checkA11y(page, "keys-locked");
  await screenshots(page, "keys-locked");
  const unlockForm = page.getByRole("form", { name: "Unlock your keys" });
  await unlockForm.getByLabel("Key passphrase").fill("not my passphrase");
  await unlockForm.getByRole("button", { name: "Unlock keys" }).click();
  await expect(unlockForm.getByRole("alert")).toContainText("Wrong passphrase");
  await unlockForm.getByLabel("Key passphrase").fill(PASSPHRASE);
  await unlockForm.getByRole("button", { name: "Unlock keys" }).click();
  await expect(page.getByText("Unlocked", { exact: true })).toBeVisible();
  expect(await heldFingerprints(page)).toEqual(held);

  // The backup: made with the passphrase, downloaded from a Blob URL.
  const exportForm = page.getByRole("form", { name: "Back up your keys" });
  await exportForm.getByLabel("Passphrase of your keys").fill(PASSPHRASE);
  await exportForm.getByRole("button", { name: "Make a backup file" }).click();
  const link = exportForm.getByRole("link", { name: "Download the backup" });
  await expect(link).toBeVisible(SLOW);
  expect(await link.getAttribute("href")).toMatch(/^blob:/);
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  expect(download.suggestedFilename()).toBe(`beyou-keys-${user.username}.json`);
  const backupPath = await download.path();
  const backup = JSON.parse(readFileSync(backupPath, "utf8"));
  expect(backup).toMatchObject({ format: "beyou-keyfile", version: 1, kdf: { name: "argon2id" } });
  expect(JSON.stringify(backup)).not.toContain("PRIVATE KEY");

  // The CLI opens the browser's backup as its own key file, to the same keys.
  const cli = execFileSync(
    path.join(REPO, ".venv/bin/python"),
    ["-c", "import sys; from pathlib import Path; from beyou.keystore import load; ring = load(Path(sys.argv[1]), sys.argv[2]); print(ring.owner_id); print('\\n'.join(sorted(k.fingerprint for k in ring.keys if k.status == 'active')))", backupPath, PASSPHRASE],
    { env: { ...process.env, PYTHONPATH: path.join(REPO, "client") }, encoding: "utf8" },
  ).trim().split("\n");
  expect(cli).toEqual([user.id, ...held]);

  // Another browser (a fresh context: empty IndexedDB) is told the account has keys elsewhere, and imports the backup.
  const other = await signedInPage(browser, user, "/keys");
  await expect(other.getByText("No keys in this browser")).toBeVisible();
  await expect(other.getByText(/already has keys registered elsewhere/)).toBeVisible();
  const importForm = other.getByRole("form", { name: "Import a backup" });
  await importForm.getByLabel("Backup file").setInputFiles(backupPath);
  await importForm.getByLabel("Passphrase of the backup").fill("not my passphrase");
  await importForm.getByRole("button", { name: "Import keys" }).click();
  await expect(importForm.getByRole("alert")).toContainText("Wrong passphrase", SLOW);
  await importForm.getByLabel("Passphrase of the backup").fill(PASSPHRASE);
  await importForm.getByRole("button", { name: "Import keys" }).click();
  await expect(other.getByText("Unlocked", { exact: true })).toBeVisible(SLOW);
  expect(await heldFingerprints(other)).toEqual(held);
  await checkA11y(other, "keys-imported");
});

test("rotating keys registers new ones and keeps the old, retired, in the browser", async ({ browser }) => {
  const user = await newUser({ name: "rotate" });
  const page = await signedInPage(browser, user, "/keys");
  await page.getByLabel("New passphrase").fill(PASSPHRASE);
  await page.getByLabel("Repeat the passphrase").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Make and register keys" }).click();
  await expect(page.getByText("Unlocked", { exact: true })).toBeVisible(SLOW);
  const before = await heldFingerprints(page);

  await page.getByRole("form", { name: "Rotate keys" }).getByRole("button", { name: "Rotate keys" }).click();
  await expect(page.getByText("Your new keys are registered and active.")).toBeVisible(SLOW);
  const after = await heldFingerprints(page);
  expect(after).toHaveLength(2);
  expect(after.some((fingerprint) => before.includes(fingerprint))).toBe(false);
  expect(await heldFingerprints(page, "retired")).toEqual(before);
  expect(await registeredFingerprints(user)).toEqual(after);
  await expect(page.getByRole("table", { name: "Public keys registered for your account" }).getByRole("row")).toHaveCount(5);
});
