// Sending and reading as the conversation screen does it (sending.ts, reading.ts), against a small
// fake of the API (the fetch the shared client uses): the participants' keys as messaging lists
// them, auth's key registry, and the message store. The envelope crypto itself is crypto/'s (tested
// there with the spec's vectors); this checks what this feature adds around it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { concatBytes, fromBase64, sha256Hex, toBase64, utf8 } from "../../crypto/encoding";
import { contentSha256, type Envelope } from "../../crypto/envelope";
import { generateKeyPair, importPrivateKey, type KeyPurpose } from "../../crypto/keys";
import type { HeldKey, UnlockedKeys } from "../../crypto/vault";
import type { Message } from "./api";
import { contactBook } from "./contactBook";
import { readMessage, senderTrust } from "./reading";
import { CannotSend, sendE2e, sendStandard } from "./sending";

interface Person {
  id: string;
  name: string;
  keys: UnlockedKeys;
}

async function held(purpose: KeyPurpose): Promise<HeldKey> {
  const generated = await generateKeyPair(purpose);
  const { privateKey, publicKey } = await importPrivateKey(generated.pkcs8, generated.algorithm, purpose);
  const now = new Date().toISOString();
  return { fingerprint: publicKey.fingerprint, purpose, algorithm: generated.algorithm, status: "active", createdAt: now, registeredAt: now, retiredAt: null, privateKey, publicKey };
}

async function person(name: string): Promise<Person> {
  const signing = await held("signing");
  const encryption = await held("encryption");
  const keys = [signing, encryption];
  const id = crypto.randomUUID();
  return {
    id,
    name,
    keys: { userId: id, keys, signing, encryption, decryptionKeys: [encryption], find: (fp) => keys.find((k) => k.fingerprint === fp) },
  };
}

const listed = (key: HeldKey | undefined) => key && { fingerprint: key.fingerprint, algorithm: key.algorithm, pem: key.publicKey.pem };

/** The API as far as these flows use it. */
class FakeApi {
  participants: Person[] = [];
  /** Keys messaging lists for a participant instead of their own (a server handing out another key). */
  listedKeys = new Map<string, { signing: HeldKey | undefined; encryption: HeldKey | undefined }>();
  sent: Message[] = [];
  sender: Person | null = null;
  conversationId = crypto.randomUUID();

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), "http://app.test");
    const path = url.pathname;
    if (path === `/api/messaging/conversations/${this.conversationId}/keys`) {
      return json({
        conversation_id: this.conversationId,
        participants: this.participants.map((p) => {
          const keys = this.listedKeys.get(p.id) ?? { signing: p.keys.signing, encryption: p.keys.encryption };
          return { user_id: p.id, username: p.name, signing_key: listed(keys.signing) ?? null, encryption_key: listed(keys.encryption) ?? null };
        }),
      });
    }
    const userKeys = /^\/api\/auth\/users\/([^/]+)\/keys$/.exec(path);
    if (userKeys) {
      const owner = this.participants.find((p) => p.id === userKeys[1]);
      const items = (owner?.keys.keys ?? []).map((k) => ({ ...listed(k), purpose: k.purpose, user_id: owner!.id, active: true, deactivated_at: null }));
      return json({ items, next_cursor: null });
    }
    if (path === `/api/messaging/conversations/${this.conversationId}/messages` && init?.method === "POST") {
      return json(this.store(JSON.parse(String(init.body))), 201);
    }
    return json({ title: "Not Found", status: 404 }, 404);
  };

  /** What messaging stores and serves for a message sent by `this.sender`. */
  private store(body: Record<string, unknown>): Message {
    const e2e = body.kind === "e2e";
    const envelope = e2e ? (body.envelope as Envelope) : null;
    const salt = e2e ? null : toBase64(crypto.getRandomValues(new Uint8Array(16)));
    const text = e2e ? null : String(body.body);
    const message: Message = {
      id: envelope?.message_id ?? String(body.message_id ?? crypto.randomUUID()),
      seq: this.sent.length + 1,
      conversation_id: this.conversationId,
      sender_id: this.sender!.id,
      kind: e2e ? "e2e" : "standard",
      body: text,
      content_salt: salt,
      content_sha256: envelope ? contentSha256(envelope) : sha256Hex(concatBytes(fromBase64(salt!), utf8(text!))),
      envelope: envelope as unknown as Record<string, unknown> | null,
      sender_key: envelope?.sender_key ?? (body.sender_key as string | undefined) ?? null,
      signature: e2e ? null : ((body.signature as string | undefined) ?? null),
      attachment_ids: [],
      created_at: new Date().toISOString(),
    };
    this.sent.push(message);
    return message;
  }
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": status < 400 ? "application/json" : "application/problem+json" } });
}

let server: FakeApi;
let alice: Person;
let bob: Person;
const realFetch = globalThis.fetch;

beforeEach(async () => {
  server = new FakeApi();
  [alice, bob] = await Promise.all([person("alice"), person("bob")]);
  server.participants = [alice, bob];
  globalThis.fetch = server.fetch as typeof fetch;
});

afterEach(() => {
  globalThis.fetch = realFetch;
});

async function aliceSends(body: string) {
  server.sender = alice;
  return sendE2e({ conversationId: server.conversationId, body, files: [], keys: alice.keys, me: alice.id });
}

describe("an end-to-end message", () => {
  it("is sealed for every participant and opens for the recipient, verified, with its text", async () => {
    const { message, warnings } = await aliceSends("Hello Bob 👋\nSee you at noon.");
    expect(warnings).toEqual([]);
    const envelope = message.envelope as unknown as Envelope;
    expect(envelope.recipients.map((r) => r.key).sort()).toEqual([alice.keys.encryption!.fingerprint, bob.keys.encryption!.fingerprint].sort());

    const read = await readMessage(message, { me: bob.id, keys: bob.keys });
    expect(read.mark).toEqual({ state: "verified", senderKey: alice.keys.signing!.fingerprint });
    expect(read.body).toBe("Hello Bob 👋\nSee you at noon.");
    // First sight of Alice's key: pinned, not verified, no change.
    expect(await senderTrust(message, alice.keys.signing!.fingerprint, bob.id)).toEqual({ own: false, contactVerified: false, keyChanged: false });
    // The sender reads her own message with her own keys.
    expect((await readMessage(message, { me: alice.id, keys: alice.keys })).body).toBe("Hello Bob 👋\nSee you at noon.");
  });

  it("waits for the keys while they are locked, and shows nothing of it", async () => {
    const { message } = await aliceSends("secret");
    const read = await readMessage(message, { me: bob.id, keys: null });
    expect(read.mark.state).toBe("locked");
    expect(read.body).toBeNull();
  });

  it("is refused when the hash the ledger records is not the envelope's", async () => {
    const { message } = await aliceSends("recorded");
    const read = await readMessage({ ...message, content_sha256: "0".repeat(64) }, { me: bob.id, keys: bob.keys });
    expect(read.mark).toMatchObject({ state: "failed", failure: "tampered" });
    expect(read.body).toBeNull();
  });

  it("says 'signature invalid' for an envelope changed after it was signed", async () => {
    const { message } = await aliceSends("original");
    const envelope = { ...(message.envelope as unknown as Envelope) };
    const bytes = fromBase64(envelope.ciphertext);
    bytes[0] ^= 1;
    envelope.ciphertext = toBase64(bytes);
    const changed = { ...message, envelope: envelope as unknown as Record<string, unknown>, content_sha256: contentSha256(envelope) };
    const read = await readMessage(changed, { me: bob.id, keys: bob.keys });
    expect(read.mark).toMatchObject({ state: "failed", failure: "bad-signature" });
  });

  it("cannot be sent while a participant has no encryption key, and says who", async () => {
    server.listedKeys.set(bob.id, { signing: bob.keys.signing, encryption: undefined });
    await expect(aliceSends("hello")).rejects.toThrow(CannotSend);
    await expect(aliceSends("hello")).rejects.toThrow(/for bob/);
    expect(server.sent).toEqual([]);
  });

  it("warns the sender when a contact's keys changed since this browser pinned them", async () => {
    await aliceSends("first");
    const replacement = await person("bob");
    server.listedKeys.set(bob.id, { signing: replacement.keys.signing, encryption: replacement.keys.encryption });
    const { message, warnings } = await aliceSends("second");
    expect(warnings).toEqual(["bob's keys changed: verify them again."]);
    // Sealed for the key the server lists now (it checks the envelope against exactly those).
    expect((message.envelope as unknown as Envelope).recipients.map((r) => r.key)).toContain(replacement.keys.encryption!.fingerprint);
    const contact = await contactBook.get(alice.id, bob.id);
    expect(contact?.verified).toBe(false);
    expect(contact?.changed_at).not.toBeNull();
  });

  it("is not sealed with a signing key the server does not have as mine", async () => {
    const other = await held("signing");
    server.listedKeys.set(alice.id, { signing: other, encryption: alice.keys.encryption });
    await expect(aliceSends("hello")).rejects.toThrow(/not the one this browser holds/);
  });
});

describe("a standard message", () => {
  it("is signed when my keys are unlocked, and verifies", async () => {
    server.sender = alice;
    const { message } = await sendStandard({ conversationId: server.conversationId, body: "Plain hello", files: [], keys: alice.keys });
    expect(message.signature).toBeTruthy();
    const read = await readMessage(message, { me: bob.id, keys: null });
    expect(read.mark).toEqual({ state: "verified", senderKey: alice.keys.signing!.fingerprint });
    expect(read.body).toBe("Plain hello");
  });

  it("is unsigned without keys, and says so", async () => {
    server.sender = alice;
    const { message } = await sendStandard({ conversationId: server.conversationId, body: "No keys here", files: [], keys: null });
    const read = await readMessage(message, { me: bob.id, keys: null });
    expect(read.mark).toEqual({ state: "unsigned" });
    expect(read.body).toBe("No keys here");
  });

  it("is refused when its text is not what the ledger's hash records", async () => {
    server.sender = alice;
    const { message } = await sendStandard({ conversationId: server.conversationId, body: "What was sent", files: [], keys: null });
    const read = await readMessage({ ...message, body: "What was not sent" }, { me: bob.id, keys: null });
    expect(read.mark).toMatchObject({ state: "failed", failure: "tampered" });
    expect(read.body).toBeNull();
  });
});
