import { describe, expect, it } from "vitest";
import type { PublicKeyInfo } from "./api";
import { ContactBook, memoryRecords } from "./contactStore";
import { grouped, keyChangeWarning, knownKey, markVerified, observe, safetyPayload } from "./contacts";

const ALICE = "0c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e4f5";
const BOB = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const NOW = "2025-01-01T00:00:00.000Z";
const LATER = "2025-02-01T00:00:00.000Z";

function key(fingerprintDigit: string, algorithm: PublicKeyInfo["algorithm"] = "ed25519"): PublicKeyInfo {
  return { fingerprint: fingerprintDigit.repeat(64), algorithm, pem: `-----BEGIN PUBLIC KEY-----\n${fingerprintDigit}\n-----END PUBLIC KEY-----` };
}

describe("pinning a contact's keys", () => {
  it("pins the keys seen first, unverified", () => {
    const check = observe(undefined, BOB, "bob", { signing: key("a"), encryption: key("b", "x25519") }, NOW);
    expect(check.status).toBe("new");
    expect(check.contact.signing?.fingerprint).toBe("a".repeat(64));
    expect(check.contact.encryption?.algorithm).toBe("x25519");
    expect(check.contact.verified).toBe(false);
    expect(keyChangeWarning(check.contact)).toBeNull();
  });

  it("reports the same keys again as unchanged and keeps the contact verified", () => {
    const first = observe(undefined, BOB, "bob", { signing: key("a"), encryption: key("b", "x25519") }, NOW);
    const verified = markVerified(first.contact, NOW);
    const again = observe(verified, BOB, null, { signing: key("a"), encryption: key("b", "x25519") }, LATER);
    expect(again.status).toBe("unchanged");
    expect(again.contact.verified).toBe(true);
    expect(again.contact.username).toBe("bob");
  });

  it("treats a different key as a change: pins it, keeps the old one, and makes the contact unverified", () => {
    const first = observe(undefined, BOB, "bob", { signing: key("a"), encryption: key("b", "x25519") }, NOW);
    const verified = markVerified(first.contact, NOW);
    const changed = observe(verified, BOB, "bob", { signing: key("c"), encryption: key("b", "x25519") }, LATER);
    expect(changed.status).toBe("changed");
    expect(changed.changed).toEqual(["signing"]);
    expect(changed.wasVerified).toBe(true);
    expect(changed.contact.verified).toBe(false);
    expect(changed.contact.signing?.fingerprint).toBe("c".repeat(64));
    // The replaced key still verifies Bob's old messages.
    expect(knownKey(changed.contact, "a".repeat(64))?.purpose).toBe("signing");
    expect(keyChangeWarning(changed.contact)).toMatch(/^bob's keys changed: verify them again/);
    // The input is not modified: callers keep what was stored until they store the result.
    expect(verified.verified).toBe(true);
  });

  it("keeps the key-change warning until the contact is verified again", () => {
    const first = observe(undefined, BOB, "bob", { signing: key("a"), encryption: key("b", "x25519") }, NOW);
    const changed = observe(first.contact, BOB, null, { signing: key("a"), encryption: key("d", "x25519") }, LATER);
    const seenAgain = observe(changed.contact, BOB, null, { signing: key("a"), encryption: key("d", "x25519") }, LATER);
    expect(seenAgain.status).toBe("unchanged");
    expect(keyChangeWarning(seenAgain.contact)).not.toBeNull();
    expect(keyChangeWarning(markVerified(seenAgain.contact, LATER))).toBeNull();
  });

  it("does not unpin a key the server stops listing", () => {
    const first = observe(undefined, BOB, "bob", { signing: key("a"), encryption: key("b", "x25519") }, NOW);
    const partial = observe(first.contact, BOB, null, { signing: key("a"), encryption: null }, LATER);
    expect(partial.status).toBe("unchanged");
    expect(partial.contact.encryption?.fingerprint).toBe("b".repeat(64));
  });
});

describe("the text two people compare", () => {
  it("groups a fingerprint by four hex digits, as the CLI prints it", () => {
    expect(grouped("06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9")).toBe(
      "06e3 fd8f da29 bb60 ab59 557d e61e db0a ecdb 2311 34be 30e7 5b45 5f8e 1b79 2fa9",
    );
  });

  it("puts the CLI's safety payload in the QR code", () => {
    expect(safetyPayload(BOB, "a".repeat(64), "b".repeat(64))).toBe(`beyou-keys:v1:${BOB}:${"a".repeat(64)}:${"b".repeat(64)}`);
  });
});

describe("the contact book", () => {
  const accept = async () => undefined;

  it("keeps each signed-in user's contacts apart", async () => {
    const book = new ContactBook(memoryRecords(), accept, () => NOW);
    await book.observe(ALICE, BOB, "bob", { signing: key("a") });
    expect(await book.get(ALICE, BOB)).toBeDefined();
    expect(await book.get(BOB, BOB)).toBeUndefined();
    expect(await book.all(BOB)).toEqual([]);
  });

  it("pins nothing when a key's PEM is not the key its fingerprint names", async () => {
    const book = new ContactBook(
      memoryRecords(),
      async (k) => {
        if (k.fingerprint.startsWith("e")) throw new Error("fingerprint mismatch");
      },
      () => NOW,
    );
    await expect(book.observe(ALICE, BOB, "bob", { signing: key("a"), encryption: key("e", "x25519") })).rejects.toThrow("fingerprint mismatch");
    expect(await book.get(ALICE, BOB)).toBeUndefined();
  });

  it("reports one change when two screens observe the same new key at once", async () => {
    const book = new ContactBook(memoryRecords(), accept, () => NOW);
    await book.observe(ALICE, BOB, "bob", { signing: key("a") });
    const [one, two] = await Promise.all([book.observe(ALICE, BOB, null, { signing: key("c") }), book.observe(ALICE, BOB, null, { signing: key("c") })]);
    expect([one.status, two.status].sort()).toEqual(["changed", "unchanged"]);
  });

  it("marks a contact verified and tells subscribers", async () => {
    const book = new ContactBook(memoryRecords(), accept, () => NOW);
    await book.observe(ALICE, BOB, "bob", { signing: key("a"), encryption: key("b", "x25519") });
    const seen: boolean[] = [];
    book.subscribe((_owner, contact) => seen.push(contact.verified));
    await book.markVerified(ALICE, BOB);
    expect((await book.get(ALICE, BOB))?.verified).toBe(true);
    expect(seen).toEqual([true]);
  });
});
