// The browser's envelope against docs/e2e-vectors.json (docs/e2e-envelope.md §14), and round trips.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fromBase64, fromHex, toBase64, toHex, utf8 } from "./encoding";
import {
  contentSha256,
  decryptAttachment,
  encryptAttachment,
  envelopeSignedBytes,
  openEnvelope,
  seal,
  signStandard,
  verifyStandard,
  wrapContentKey,
  BadSignature,
  EnvelopeError,
  MalformedEnvelope,
  Misplaced,
  NotForMe,
  TamperedCiphertext,
  type Envelope,
  type KeyPairRef,
} from "./envelope";
import { generateKeyPair, importPrivateKey, importPublicKey, pemToDer, type KeyPurpose } from "./keys";

const VECTORS = JSON.parse(readFileSync(new URL("../../../docs/e2e-vectors.json", import.meta.url), "utf8"));
const KEYS: Record<string, { purpose: KeyPurpose; algorithm: string; fingerprint: string; public_pem: string; private_pem: string }> = VECTORS.keys;
const ERRORS: Record<string, new (...args: never[]) => EnvelopeError> = { BadSignature, MalformedEnvelope, Misplaced, NotForMe, TamperedCiphertext };

async function pair(name: string): Promise<KeyPairRef> {
  const key = KEYS[name];
  const loaded = await importPrivateKey(pemToDer(key.private_pem, "PRIVATE KEY"), key.algorithm as never, key.purpose);
  expect(loaded.publicKey.fingerprint).toBe(key.fingerprint);
  return loaded;
}

async function publicKey(name: string) {
  const key = KEYS[name];
  return importPublicKey({ fingerprint: key.fingerprint, algorithm: key.algorithm, pem: key.public_pem }, key.purpose);
}

describe("the valid vectors", () => {
  for (const vector of VECTORS.envelopes.valid) {
    it(`${vector.name}: every participant opens it to its message`, async () => {
      const senderKey = await publicKey(vector.sender.signing_key);
      for (const keyName of Object.values(vector.participants) as string[]) {
        const opened = await openEnvelope(vector.envelope, {
          senderKey,
          myKeys: [await pair(keyName)],
          conversationId: vector.conversation_id,
          messageId: vector.envelope.message_id,
        });
        expect(opened.body).toBe(vector.message.body);
        expect(opened.attachments.map((a) => ({ ...a, key: toBase64(a.key), nonce: toBase64(a.nonce) }))).toEqual(vector.message.attachments ?? []);
        expect(opened.contentSha256).toBe(vector.content_sha256);
      }
    });

    it(`${vector.name}: the signed bytes and content hash are the vector's`, () => {
      expect(new TextDecoder().decode(envelopeSignedBytes(vector.envelope))).toBe(vector.signed_bytes);
      expect(contentSha256(vector.envelope)).toBe(vector.content_sha256);
    });

    it(`${vector.name}: its attachment files decrypt`, async () => {
      for (const file of vector.attachment_files) {
        const named = vector.message.attachments.find((a: { id: string }) => a.id === file.id);
        const plaintext = await decryptAttachment({ ...named, key: fromBase64(named.key), nonce: fromBase64(named.nonce) }, fromBase64(file.ciphertext));
        expect(toBase64(plaintext)).toBe(file.plaintext);
      }
    });
  }

  it("ed25519-x25519-direct is reproduced byte for byte from its inputs (wrapping and signature)", async () => {
    const vector = VECTORS.envelopes.valid.find((v: { name: string }) => v.name === "ed25519-x25519-direct");
    const contentKey = fromBase64(vector.inputs.content_key);
    for (const input of vector.inputs.recipients) {
      const recipient = await publicKey(input.recipient);
      // An X25519 private key as PKCS#8: the RFC 8410 prefix, then the 32 raw bytes.
      const pkcs8 = fromHex("302e020100300506032b656e04220420" + toHex(fromBase64(input.ephemeral_private_key)));
      const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, true, ["deriveBits"]);
      const jwk = await crypto.subtle.exportKey("jwk", privateKey);
      const ephemeralPublic = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "X25519", x: jwk.x }, { name: "X25519" }, true, []);
      const entry = await wrapContentKey(contentKey, recipient, vector.envelope.message_id, { privateKey, publicKey: ephemeralPublic });
      expect(entry).toEqual(vector.envelope.recipients.find((r: { key: string }) => r.key === recipient.fingerprint));
    }
    const sender = await pair(vector.sender.signing_key);
    const signature = await crypto.subtle.sign({ name: "Ed25519" }, sender.privateKey, envelopeSignedBytes(vector.envelope));
    expect(toBase64(new Uint8Array(signature))).toBe(vector.envelope.signature);
  });
});

describe("the invalid vectors", () => {
  const refused = VECTORS.envelopes.invalid.filter((v: { client: unknown }) => v.client);
  for (const vector of refused) {
    it(`${vector.name}: a reader refuses it with ${vector.client.error}`, async () => {
      const senderKey = await publicKey(vector.client.sender_signing_key ?? vector.sender.signing_key);
      const attempt = openEnvelope(vector.envelope, {
        senderKey,
        myKeys: [await pair(vector.client.encryption_key)],
        conversationId: vector.client.conversation_id ?? vector.conversation_id,
      });
      await expect(attempt).rejects.toBeInstanceOf(ERRORS[vector.client.error]);
    });
  }

  it("cover every error a reader can raise", () => {
    expect(new Set(refused.map((v: { client: { error: string } }) => v.client.error))).toEqual(new Set(Object.keys(ERRORS)));
  });
});

describe("standard messages", () => {
  for (const vector of VECTORS.standard_messages.valid) {
    it(`${vector.name} verifies`, async () => {
      await verifyStandard({ body: vector.body, conversationId: vector.conversation_id, messageId: vector.message_id, senderKey: vector.sender_key, signature: vector.signature, senderPublicKey: await publicKey(vector.sender.signing_key) });
    });
  }
  for (const vector of VECTORS.standard_messages.invalid) {
    it(`${vector.name} is refused`, async () => {
      const attempt = verifyStandard({ body: vector.body, conversationId: vector.conversation_id, messageId: vector.message_id, senderKey: vector.sender_key, signature: vector.signature, senderPublicKey: await publicKey(vector.sender.signing_key) });
      await expect(attempt).rejects.toBeInstanceOf(EnvelopeError);
    });
  }

  it("an Ed25519 standard signature is the vector's byte for byte, and a changed body does not verify", async () => {
    const vector = VECTORS.standard_messages.valid.find((v: { name: string }) => v.name === "standard-ed25519");
    const sender = await pair(vector.sender.signing_key);
    const signed = await signStandard({ body: vector.body, conversationId: vector.conversation_id, messageId: vector.message_id, sender });
    expect(signed).toEqual({ message_id: vector.message_id, sender_key: vector.sender_key, signature: vector.signature });
    const changed = verifyStandard({ body: vector.body + "!", conversationId: vector.conversation_id, messageId: vector.message_id, senderKey: signed.sender_key, signature: signed.signature, senderPublicKey: sender.publicKey });
    await expect(changed).rejects.toBeInstanceOf(BadSignature);
  });
});

describe("sealing", () => {
  const CONVERSATION = "c0de0009-5a1e-4c0a-8b1d-000000000099";

  it.each(["alice-signing", "bob-signing"])("a message sealed by %s opens for X25519 and RSA recipients alike", async (signer) => {
    const sender = await pair(signer);
    const group = ["alice-encryption", "bob-encryption", "carol-encryption", "dave-encryption"];
    const families = new Set(group.map((name) => KEYS[name].algorithm));
    expect(families).toEqual(new Set(["x25519", "rsa"]));
    const envelope = await seal({ body: "Hello group 👋\nline two", conversationId: CONVERSATION, sender, recipients: await Promise.all(group.map(publicKey)) });
    expect(envelope.recipients.map((r) => r.key)).toEqual([...envelope.recipients.map((r) => r.key)].sort());
    for (const name of group) {
      const opened = await openEnvelope(envelope, { senderKey: sender.publicKey, myKeys: [await pair(name)], conversationId: CONVERSATION, messageId: envelope.message_id });
      expect(opened.body).toBe("Hello group 👋\nline two");
    }
  });

  it("with a browser-generated identity, an attachment travels and another file is detected", async () => {
    const signing = await generateKeyPair("signing");
    const encryption = await generateKeyPair("encryption");
    const sender = await importPrivateKey(signing.pkcs8, "ed25519", "signing");
    const reader = await importPrivateKey(encryption.pkcs8, "x25519", "encryption");
    const file = await encryptAttachment(utf8("a file"));
    const attachment = { id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", key: file.key, nonce: file.nonce, name: "a.txt", content_type: "text/plain" };
    const envelope = await seal({ body: "see file", attachments: [attachment], conversationId: CONVERSATION, sender, recipients: [encryption.publicKey] });
    const opened = await openEnvelope(envelope, { senderKey: signing.publicKey, myKeys: [reader] });
    expect(new TextDecoder().decode(await decryptAttachment(opened.attachments[0], file.ciphertext))).toBe("a file");
    const other = await encryptAttachment(utf8("another file"));
    await expect(decryptAttachment(opened.attachments[0], other.ciphertext)).rejects.toBeInstanceOf(TamperedCiphertext);
  });

  it("a tampered byte anywhere in the signed members is refused before decryption", async () => {
    const sender = await pair("alice-signing");
    const envelope = await seal({ body: "original", conversationId: CONVERSATION, sender, recipients: [await publicKey("carol-encryption")] });
    const ciphertext = fromBase64(envelope.ciphertext);
    ciphertext[3] ^= 0x01;
    const tampered: Envelope = { ...envelope, ciphertext: toBase64(ciphertext) };
    await expect(openEnvelope(tampered, { senderKey: sender.publicKey, myKeys: [await pair("carol-encryption")] })).rejects.toBeInstanceOf(BadSignature);
  });

  it("non-canonical base64 (stray padding bits) is refused as malformed", async () => {
    const sender = await pair("alice-signing");
    const envelope = await seal({ body: "x", conversationId: CONVERSATION, sender, recipients: [await publicKey("carol-encryption")] });
    // A line break inside: atob would accept it, the canonical reader does not.
    const broken = { ...envelope, signature: envelope.signature.slice(0, 40) + "\n" + envelope.signature.slice(40) };
    await expect(openEnvelope(broken, { senderKey: sender.publicKey, myKeys: [await pair("carol-encryption")] })).rejects.toBeInstanceOf(MalformedEnvelope);
    // 64 signature bytes end in one character carrying 4 unused bits, then "==": set one of them.
    const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const last = envelope.signature.at(-3)!;
    const lastBits = envelope.signature.slice(0, -3) + ALPHABET[ALPHABET.indexOf(last) | 1] + "==";
    // A lenient decoder (atob) reads the same bytes from both spellings: only the first is canonical.
    expect(Uint8Array.from(atob(lastBits), (c) => c.charCodeAt(0))).toEqual(fromBase64(envelope.signature));
    await expect(openEnvelope({ ...envelope, signature: lastBits }, { senderKey: sender.publicKey, myKeys: [await pair("carol-encryption")] })).rejects.toBeInstanceOf(MalformedEnvelope);
  });

  it("a reader it was not sealed for is told so, and an envelope served as another message is misplaced", async () => {
    const sender = await pair("alice-signing");
    const envelope = await seal({ body: "x", conversationId: CONVERSATION, sender, recipients: [await publicKey("carol-encryption")] });
    await expect(openEnvelope(envelope, { senderKey: sender.publicKey, myKeys: [await pair("dave-encryption")] })).rejects.toBeInstanceOf(NotForMe);
    const elsewhere = openEnvelope(envelope, { senderKey: sender.publicKey, myKeys: [await pair("carol-encryption")], messageId: crypto.randomUUID() });
    await expect(elsewhere).rejects.toBeInstanceOf(Misplaced);
  });

  it("seal refuses a recipient listed twice and a message too large", async () => {
    const sender = await pair("alice-signing");
    const carol = await publicKey("carol-encryption");
    await expect(seal({ body: "x", conversationId: CONVERSATION, sender, recipients: [carol, carol] })).rejects.toThrow(/twice/);
    await expect(seal({ body: "x".repeat(65521), conversationId: CONVERSATION, sender, recipients: [carol] })).rejects.toThrow(/too large/);
  });
});

it("the vectors' Ed25519 public key DER hashes to its registry fingerprint", () => {
  const der = pemToDer(KEYS["alice-signing"].public_pem);
  expect(toHex(der)).toBe("302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
});
