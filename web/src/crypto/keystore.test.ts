// The key file (keystore.ts): the CLI's format both ways, wrong passphrases and altered headers refused.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "./encoding";
import { generateKeyPair, importPrivateKey } from "./keys";
import {
  BACKUP_KDF,
  BROWSER_KDF,
  decryptKeyFile,
  encryptKeyFile,
  KeyFileError,
  openWithKey,
  resealKeyFile,
  storedKey,
  WrongPassphrase,
  privateKeyDer,
  type KeyringContent,
} from "./keystore";

// Written by the CLI: client/beyou/keystore.save() of the e2e vectors' alice-signing and alice-encryption
// (active) and carol-encryption (retired), owner a11ce000-…-0001, passphrase "correct horse battery staple".
const CLI_FILE = JSON.parse(readFileSync(new URL("./testdata/cli-keyfile.json", import.meta.url), "utf8"));
const CLI_PASSPHRASE = "correct horse battery staple";

async function someContent(): Promise<KeyringContent> {
  const signing = await generateKeyPair("signing");
  const encryption = await generateKeyPair("encryption");
  return { owner_id: "0f0f0f0f-0000-4000-8000-000000000001", keys: [storedKey("signing", signing.algorithm, signing.pkcs8), storedKey("encryption", encryption.algorithm, encryption.pkcs8)] };
}

describe("the CLI's key file", () => {
  it("opens with the CLI's passphrase, with its keys and their history", async () => {
    const { content } = await decryptKeyFile(CLI_FILE, CLI_PASSPHRASE);
    expect(content.owner_id).toBe("a11ce000-0000-4000-8000-000000000001");
    expect(content.keys.map((key) => [key.purpose, key.algorithm, key.status])).toEqual([
      ["encryption", "x25519", "retired"],
      ["signing", "ed25519", "active"],
      ["encryption", "x25519", "active"],
    ]);
    const signing = await importPrivateKey(privateKeyDer(content.keys[1]), "ed25519", "signing");
    expect(signing.publicKey.fingerprint).toBe("06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9");
  }, 30_000);

  it("refuses a wrong passphrase", async () => {
    await expect(decryptKeyFile(CLI_FILE, "correct horse battery stapler")).rejects.toBeInstanceOf(WrongPassphrase);
  }, 30_000);
});

describe("a browser key file", () => {
  it("round-trips under PBKDF2, and a wrong passphrase is refused", async () => {
    const content = await someContent();
    const { file } = await encryptKeyFile(content, "pass phrase ☂", BROWSER_KDF);
    expect(file.kdf).toMatchObject({ name: "pbkdf2-sha256", iterations: 600_000 });
    expect((await decryptKeyFile(file, "pass phrase ☂")).content).toEqual(content);
    await expect(decryptKeyFile(file, "pass phrase")).rejects.toBeInstanceOf(WrongPassphrase);
  });

  it("written as a backup, is the CLI's Argon2id format and opens again", async () => {
    const content = await someContent();
    const { file } = await encryptKeyFile(content, CLI_PASSPHRASE, BACKUP_KDF);
    expect(file).toMatchObject({ format: "beyou-keyfile", version: 1, kdf: { name: "argon2id", iterations: 3, lanes: 4, memory_kib: 65536 }, cipher: { name: "aes-256-gcm" } });
    expect(fromBase64(file.kdf.salt as string)).toHaveLength(16);
    expect((await decryptKeyFile(JSON.parse(JSON.stringify(file)), CLI_PASSPHRASE)).content).toEqual(content);
  }, 30_000);

  it("does not open once its header is altered (a lower KDF cost), even with the right passphrase", async () => {
    const { file } = await encryptKeyFile(await someContent(), "secret words", { name: "pbkdf2-sha256", iterations: 200_000 });
    const cheaper = { ...file, kdf: { ...file.kdf, iterations: 100_000 } };
    await expect(decryptKeyFile(cheaper, "secret words")).rejects.toBeInstanceOf(WrongPassphrase);
    const renamed = { ...file, cipher: { ...file.cipher, nonce: toBase64(new Uint8Array(12)) } };
    await expect(decryptKeyFile(renamed, "secret words")).rejects.toBeInstanceOf(WrongPassphrase);
  });

  it("resealed with the session's key opens with the passphrase, under a fresh nonce", async () => {
    const content = await someContent();
    const { file, fileKey } = await encryptKeyFile(content, "secret words", BROWSER_KDF);
    const again = await resealKeyFile({ ...content, owner_id: null }, fileKey);
    expect(again.cipher.nonce).not.toBe(file.cipher.nonce);
    expect(await openWithKey(again, fileKey)).toEqual({ ...content, owner_id: null });
    expect((await decryptKeyFile(again, "secret words")).content.owner_id).toBeNull();
  });

  it("refuses what is not a key file, and KDF costs outside the accepted range", async () => {
    await expect(decryptKeyFile({ hello: "world" }, "x")).rejects.toBeInstanceOf(KeyFileError);
    await expect(decryptKeyFile({ ...CLI_FILE, version: 2 }, "x")).rejects.toThrow(/version 2/);
    await expect(decryptKeyFile({ ...CLI_FILE, kdf: { ...CLI_FILE.kdf, memory_kib: 64 * 1024 * 1024 } }, "x")).rejects.toThrow(/outside/);
    await expect(decryptKeyFile({ ...CLI_FILE, kdf: { ...CLI_FILE.kdf, name: "scrypt" } }, "x")).rejects.toThrow(/unsupported KDF/);
    await expect(encryptKeyFile(await someContent(), "", BROWSER_KDF)).rejects.toThrow(/passphrase/);
  });
});
