/**
 * A browser user and a CLI user (`beyou`, client/) talk end to end, against the native stack: the
 * CLI user registers, signs in and makes keys in the terminal; the browser user makes keys on the
 * keys page; the CLI asks to be friends and the browser accepts the request as it arrives; the CLI
 * starts the conversation. The browser's message opens in the CLI with its signature checked, the
 * CLI's message arrives in the browser live, decrypted, "Signature verified" and "Recorded in
 * ledger — proof verified". Both sides compare fingerprints in the same text (groups of four): the
 * browser's contact page shows for the CLI user exactly what `beyou keys fingerprint` prints, and
 * the CLI's `keys verify` shows for the browser user what the browser shows as its own.
 *
 * The envelope both write is docs/e2e-envelope.md; nothing here is translated between them.
 */
import { CliUser } from "./support/cli";
import { checkA11y, expect, screenshots, signedInPage, test } from "./support/browser";
import { message, nav } from "./support/conversations";
import { newUser } from "./support/users";

// Keys, friendships and messages travel between services as events, then over the live stream:
// seconds, not milliseconds, on a loaded machine. Argon2id (64 MiB) in JavaScript takes a while too.
const LIVE = { timeout: 30_000 };
const SLOW = { timeout: 90_000 };
const PASSPHRASE = "browser and terminal agree";

/** What `beyou read --json` says of each message (client/beyou/messages.py `Read.as_dict`). */
interface CliRead {
  id: string;
  kind: string;
  sender_id: string;
  sender: string | null;
  trust: string;
  body: string | null;
  problem: string | null;
  warning: string | null;
}

/** "@username" as the screens write it, not matching a longer username that starts the same. */
function handle(username: string): RegExp {
  return new RegExp(`@${username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w.-])`);
}

/** The fingerprints `beyou keys fingerprint` prints for people to compare: "signing    1a2b 3c4d …". */
function printedFingerprints(stdout: string): { signing: string; encryption: string } {
  const line = (purpose: string) => {
    const found = new RegExp(`^${purpose}\\s+((?:[0-9a-f]{4} )*[0-9a-f]{1,4})\\s*$`, "m").exec(stdout);
    if (!found) throw new Error(`no "${purpose}" fingerprint in the CLI's output:\n${stdout}`);
    return found[1];
  };
  return { signing: line("signing"), encryption: line("encryption") };
}

const grouped = (fingerprint: string) => fingerprint.match(/.{1,4}/g)!.join(" ");

test("a browser user and a CLI user exchange end-to-end messages both ways", async ({ browser }) => {
  test.setTimeout(360_000);
  const cli = new CliUser("term");
  try {
    // --- the two people, each with keys made on their own device ---------------------------
    const web = await newUser({ name: "web" });
    await cli.registerAndSignIn();
    const cliKeys = await cli.json<{ purpose: string; fingerprint: string; status: string }[]>(["keys", "generate"], SLOW.timeout);
    expect(cliKeys.map((key) => key.purpose).sort()).toEqual(["encryption", "signing"]);

    const page = await signedInPage(browser, web, "/");
    await nav(page, "Keys").click();
    await page.getByLabel("New passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByLabel("Repeat the passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByRole("button", { name: "Make and register keys" }).click();
    // The keys stay unlocked in this tab: from here on the page is only navigated within the app.
    await expect(page.getByText("Unlocked", { exact: true })).toBeVisible(SLOW);

    // --- the CLI asks to be friends; the browser sees the request arrive and accepts --------
    await nav(page, "Friends").click();
    await expect(page.getByRole("heading", { name: "Your friends" })).toBeVisible();
    // social learns of a new account from auth's event: until then it does not know the asker.
    await expect(async () => {
      await cli.run(["friends", "add", web.username]);
    }).toPass(LIVE);
    const request = page.getByRole("list", { name: "Requests for you" }).getByRole("listitem").filter({ hasText: handle(cli.username) });
    await expect(request).toBeVisible(LIVE);
    await request.getByRole("button", { name: /Accept/ }).click();
    await expect(page.getByRole("list", { name: "Your friends" }).getByRole("listitem").filter({ hasText: handle(cli.username) })).toBeVisible();

    // --- the CLI starts the conversation (once messaging has heard of the friendship) -------
    let conversationId = "";
    await expect(async () => {
      conversationId = (await cli.json<{ id: string }>(["conversations", "create", "--with", `@${web.username}`])).id;
    }).toPass(LIVE);

    // The browser finds it among its conversations and opens it.
    const row = page.getByRole("link", { name: new RegExp(cli.username) });
    await expect(async () => {
      await nav(page, "Messages").click();
      await expect(row).toBeVisible({ timeout: 3_000 });
    }).toPass(LIVE);
    await row.click();
    await expect(page.getByRole("heading", { level: 1, name: cli.username })).toBeVisible();
    expect(new URL(page.url()).pathname).toBe(`/conversations/${conversationId}`);

    // --- browser → CLI ----------------------------------------------------------------------
    const fromBrowser = `Hello terminal, this is the browser (${Date.now().toString(36)}).`;
    await page.getByRole("radio", { name: /^End-to-end encrypted/ }).check();
    const field = page.getByLabel("Message", { exact: true });
    await field.fill(fromBrowser);
    // messaging learns each participant's keys from auth's events: until it has them, the page
    // says it cannot seal the message (and keeps the text); the person presses Send again.
    // Only while the button is enabled: an attempt still running (busy) or done (empty, disabled) is not repeated.
    const sendButton = page.getByRole("button", { name: "Send encrypted", exact: true });
    await expect(async () => {
      if (await sendButton.isEnabled()) await sendButton.click();
      await expect(field).toHaveValue("", { timeout: 5_000 });
    }).toPass(LIVE);
    const sent = message(page, fromBrowser);
    await expect(sent.getByText("Signature verified")).toBeVisible(LIVE);
    await expect(sent.getByText("Recorded in ledger — proof verified")).toBeVisible(LIVE);

    // The CLI decrypts it and checks its signature with the browser user's key, pinned on first use.
    const read = await cli.json<{ items: CliRead[] }>(["read", `@${web.username}`]);
    expect(read.items.find((item) => item.body === fromBrowser)).toMatchObject({
      kind: "e2e",
      sender_id: web.id,
      sender: web.username,
      trust: "signed",
      problem: null,
    });

    // --- fingerprints compared, in the same text on both sides ------------------------------
    await page.getByRole("link", { name: cli.username, exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: `${cli.username}'s keys` })).toBeVisible();
    const printed = printedFingerprints((await cli.run(["keys", "fingerprint"])).stdout);
    const theirs = page.getByRole("region", { name: `${cli.username}'s fingerprints, as this browser has them` });
    await expect(theirs.locator("code.fingerprint")).toHaveText([printed.signing, printed.encryption]);
    // The QR code to scan instead says the same (its text alternative names what it encodes).
    await expect(theirs.getByRole("img", { name: `QR code of ${cli.username}'s key fingerprints (signing ${printed.signing}; encryption ${printed.encryption})` })).toBeVisible();
    // The same keys the CLI generated (its JSON, ungrouped), not merely the same format.
    const generated = Object.fromEntries(cliKeys.map((key) => [key.purpose, key.fingerprint]));
    expect(printed).toEqual({ signing: grouped(generated.signing), encryption: grouped(generated.encryption) });
    await expect(page.getByText("Not verified yet")).toBeVisible();

    // The CLI shows the browser user's keys; they match what the browser shows as its own.
    const mine = page.getByRole("region", { name: `Your fingerprints, for ${cli.username} to compare` });
    const ownShown = await mine.locator("code.fingerprint").allTextContents();
    const cliView = await cli.json<{ verified: boolean; signing: string; encryption: string }>(["keys", "verify", `@${web.username}`, "--yes"]);
    expect([grouped(cliView.signing), grouped(cliView.encryption)]).toEqual(ownShown);
    expect(cliView.verified).toBe(true);

    await page.getByRole("button", { name: "Mark as verified" }).click();
    await expect(page.getByText(`${cli.username} is verified.`)).toBeVisible();
    await checkA11y(page, "contact keys (CLI user)");
    await screenshots(page, "cli-contact-fingerprints");

    // --- CLI → browser, arriving live on the open conversation ------------------------------
    await page.goBack(); // within the app: no reload, the keys stay unlocked
    await expect(page.getByRole("heading", { level: 1, name: cli.username })).toBeVisible();
    await expect(message(page, fromBrowser)).toBeVisible();
    const fromCli = `Hello browser, the terminal here (${Date.now().toString(36)}).`;
    const cliSent = await cli.json<{ id: string; kind: string; warnings: string[] }>(["send", `@${web.username}`, fromCli]);
    expect(cliSent).toMatchObject({ kind: "e2e", warnings: [] });

    const received = message(page, fromCli);
    await expect(received).toBeVisible(LIVE);
    await expect(received.getByText("End-to-end encrypted")).toBeVisible();
    await expect(received.getByText("Signature verified")).toBeVisible(LIVE);
    await expect(received.getByText("Recorded in ledger — proof verified")).toBeVisible(LIVE);
    await checkA11y(page, "conversation with a CLI user");
    await screenshots(page, "cli-conversation");

    // After comparing, the CLI calls the browser user's messages verified (not only signed).
    const again = await cli.json<{ items: CliRead[] }>(["read", `@${web.username}`]);
    expect(again.items.find((item) => item.body === fromBrowser)).toMatchObject({ trust: "verified", problem: null });
    expect(again.items.find((item) => item.id === cliSent.id)).toMatchObject({ body: fromCli, trust: "verified", sender_id: cli.id });
  } finally {
    cli.dispose();
  }
});
