// Encodings and keys: canonical base64, fingerprints, PEM, and docs/key-registration.md's worked example.
import { describe, expect, it } from "vitest";
import { EncodingError, fromBase64, fromHex, sha256Hex, toBase64, toHex } from "./encoding";
import { generateKeyPair, groupedFingerprint, importPrivateKey, importPublicKey, KeyError, registrationBody, registrationStatement, verifyBytes } from "./keys";

const ALICE_SIGNING_PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";
const ALICE_SIGNING_FP = "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9";
const ALICE_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const CHALLENGE = ".eJwVyksKwzAMBcC7aF2BrMh-UW7jjwzZlZZCIeTuSWY9B-2DNlqmdG1rcK6W2AaCvS-FZerILcVaAXrR7xufe6N7lAJnmGY2Gfc2axyC2dN0qfHs-L9pSyhQzS5yXhZ8HDQ.p-k1XDWX8QyJWySCocTdhbqWKPs";

describe("canonical base64", () => {
  it("round-trips and refuses every non-canonical spelling", () => {
    const data = fromHex("00ff10203040");
    expect(fromBase64(toBase64(data))).toEqual(data);
    for (const bad of ["AP8QIDBA\n", "AP8QIDB", "AP8QIDB=", "AP8-IDBA", "AP8_IDBA", " AP8QIDBA", "AQ=", "AR==", 5]) {
      expect(() => fromBase64(bad), String(bad)).toThrow(EncodingError);
    }
    expect(toBase64(fromBase64("AQ=="))).toBe("AQ==");
  });
});

describe("keys", () => {
  it("a registry key imports when its PEM hashes to its fingerprint, and not otherwise", async () => {
    const key = await importPublicKey({ fingerprint: ALICE_SIGNING_FP, algorithm: "ed25519", pem: ALICE_SIGNING_PEM }, "signing");
    expect(toHex(key.spki)).toBe("302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    await expect(importPublicKey({ fingerprint: "0".repeat(64), algorithm: "ed25519", pem: ALICE_SIGNING_PEM }, "signing")).rejects.toThrow(KeyError);
    await expect(importPublicKey({ fingerprint: ALICE_SIGNING_FP, algorithm: "x25519", pem: ALICE_SIGNING_PEM }, "encryption")).rejects.toThrow(KeyError);
    await expect(importPublicKey({ fingerprint: ALICE_SIGNING_FP, algorithm: "ed25519", pem: ALICE_SIGNING_PEM }, "encryption")).rejects.toThrow(/signs/);
  });

  it("the registration statement and Ed25519 proof are key-registration.md's byte for byte", async () => {
    const pkcs8 = fromHex("302e020100300506032b657004220420" + ALICE_SEED);
    const alice = await importPrivateKey(pkcs8, "ed25519", "signing");
    expect(alice.publicKey.fingerprint).toBe(ALICE_SIGNING_FP);
    expect(alice.publicKey.pem).toBe(ALICE_SIGNING_PEM);
    expect(sha256Hex(registrationStatement(CHALLENGE, "signing", ALICE_SIGNING_FP))).toBe("e76aaf2b50d1c6c1b043b967c5629a03d88980603db3496ef3999fd15806a198");
    const body = await registrationBody(alice.publicKey, CHALLENGE, alice.privateKey);
    expect(body).toEqual({
      purpose: "signing",
      algorithm: "ed25519",
      pem: ALICE_SIGNING_PEM,
      challenge: CHALLENGE,
      signature: "wNZi6SkV/EMn/qwCQ1wXIGxQLZYGe9rQhSZu10vq8rzJgZs5SGMwJ4RFKj4bjnAT7QecLkviWnkk4jA8F3z0BA==",
    });
  });

  it("generates RSA-3072 keys whose PSS proofs verify", async () => {
    const rsa = await generateKeyPair("signing", "rsa");
    expect(rsa.algorithm).toBe("rsa");
    const held = await importPrivateKey(rsa.pkcs8, "rsa", "signing");
    expect(held.publicKey.fingerprint).toBe(rsa.publicKey.fingerprint);
    const body = await registrationBody(held.publicKey, "challenge", held.privateKey);
    expect(fromBase64(body.signature)).toHaveLength(384);
    expect(await verifyBytes(rsa.publicKey, fromBase64(body.signature), registrationStatement("challenge", "signing", rsa.publicKey.fingerprint))).toBe(true);
    expect(await verifyBytes(rsa.publicKey, fromBase64(body.signature), registrationStatement("challengf", "signing", rsa.publicKey.fingerprint))).toBe(false);
  }, 30_000);

  it("groups a fingerprint for reading aloud", () => {
    expect(groupedFingerprint(ALICE_SIGNING_FP).startsWith("06e3 fd8f da29 bb60")).toBe(true);
  });
});
