// The vault's flows (generate + register, lock/unlock, rotate, backup) on an in-memory store and a
// fake key registry that checks each proof of possession the way auth does (docs/key-registration.md).
import { describe, expect, it } from "vitest";
import { fromBase64 } from "./encoding";
import { asAlgorithm, importSpki, pemToDer, registrationStatement, verifyBytes, type KeyPurpose, type PublicKey } from "./keys";
import { MemoryKeyFileStorage, KeyFileError, WrongPassphrase } from "./keystore";
import { KeyVault, type KeyRegistry } from "./vault";

const USER = "0f0f0f0f-0000-4000-8000-000000000001";

/** Auth's registry in miniature: single-use challenges, the statement's signature checked. */
class FakeRegistry implements KeyRegistry {
  active: Partial<Record<KeyPurpose, PublicKey>> = {};
  registered: string[] = [];
  failNext: KeyPurpose | null = null;
  private challenges = new Set<string>();

  async challenge() {
    const challenge = crypto.randomUUID();
    this.challenges.add(challenge);
    return challenge;
  }

  async register(body: { purpose: string; algorithm: string; pem: string; challenge: string; signature: string }) {
    const purpose = body.purpose as KeyPurpose;
    if (this.failNext === purpose) {
      this.failNext = null;
      throw new Error("the network failed");
    }
    if (!this.challenges.delete(body.challenge)) throw new Error("challenge not issued or used");
    const spkiKey = await importSpki(pemToDer(body.pem), asAlgorithm(body.algorithm), purpose);
    const signer = purpose === "signing" ? spkiKey : this.active.signing;
    if (!signer) throw new Error("no active signing key to vouch");
    const statement = registrationStatement(body.challenge, purpose, spkiKey.fingerprint);
    if (!(await verifyBytes(signer, fromBase64(body.signature), statement))) throw new Error("bad proof of possession");
    this.active[purpose] = spkiKey;
    this.registered.push(spkiKey.fingerprint);
    return { fingerprint: spkiKey.fingerprint, created_at: new Date().toISOString() };
  }

  async owner(fingerprint: string) {
    return this.registered.includes(fingerprint) ? USER : null;
  }
}

async function newVault(storage = new MemoryKeyFileStorage(), registry = new FakeRegistry()) {
  const vault = new KeyVault(storage, registry);
  await vault.load(USER);
  return { vault, storage, registry };
}

describe("the key vault", () => {
  it("generates and registers keys, and they are the registry's active keys", async () => {
    const { vault, registry } = await newVault();
    expect(vault.getState().status).toBe("none");
    await vault.createKeys("a long passphrase");
    const keys = vault.unlocked();
    expect(vault.getState()).toMatchObject({ status: "unlocked", userId: USER });
    expect(keys.signing?.algorithm).toBe("ed25519");
    expect(keys.encryption?.algorithm).toBe("x25519");
    expect(keys.signing?.fingerprint).toBe(registry.active.signing?.fingerprint);
    expect(keys.encryption?.fingerprint).toBe(registry.active.encryption?.fingerprint);
    expect(vault.getState().keys.every((key) => key.status === "active")).toBe(true);
    expect(keys.signing?.privateKey.extractable).toBe(false);
  });

  it("after locking, only the right passphrase unlocks, to the same keys", async () => {
    const { vault, storage, registry } = await newVault();
    await vault.createKeys("a long passphrase");
    const fingerprints = vault.getState().keys.map((key) => key.fingerprint);
    // A reload: a new tab's vault over the same storage finds the keys locked.
    const { vault: reloaded } = await newVault(storage, registry);
    expect(reloaded.getState()).toEqual({ status: "locked", userId: USER, keys: [] });
    expect(() => reloaded.unlocked()).toThrow(/locked/);
    await expect(reloaded.unlock("a wrong passphrase")).rejects.toBeInstanceOf(WrongPassphrase);
    expect(reloaded.getState().status).toBe("locked");
    await reloaded.unlock("a long passphrase");
    expect(reloaded.getState().keys.map((key) => key.fingerprint)).toEqual(fingerprints);
    reloaded.lock();
    expect(reloaded.getState().status).toBe("locked");
  });

  it("rotates: new active keys registered (the new encryption key vouched for by the new signing key), the old retired and kept", async () => {
    const { vault, registry } = await newVault();
    await vault.createKeys("a long passphrase");
    const before = vault.unlocked();
    await vault.rotate();
    const after = vault.unlocked();
    expect(after.signing?.fingerprint).not.toBe(before.signing?.fingerprint);
    expect(after.signing?.fingerprint).toBe(registry.active.signing?.fingerprint);
    expect(after.encryption?.fingerprint).toBe(registry.active.encryption?.fingerprint);
    expect(after.find(before.signing!.fingerprint)?.status).toBe("retired");
    expect(after.decryptionKeys.map((key) => key.fingerprint)).toEqual([after.encryption!.fingerprint, before.encryption!.fingerprint]);
  });

  it("a registration that fails half-way leaves the key pending, and registerPending finishes it", async () => {
    const { vault, registry } = await newVault();
    registry.failNext = "encryption";
    await expect(vault.createKeys("a long passphrase")).rejects.toThrow(/network/);
    expect(vault.getState().keys.map((key) => [key.purpose, key.status])).toEqual([["signing", "active"], ["encryption", "pending"]]);
    await vault.registerPending();
    expect(vault.unlocked().encryption?.fingerprint).toBe(registry.active.encryption?.fingerprint);
  });

  it("a backup imports in another browser with its passphrase, and not with another", async () => {
    const { vault } = await newVault();
    await vault.createKeys("a long passphrase");
    await expect(vault.exportBackup("not it")).rejects.toBeInstanceOf(WrongPassphrase);
    const backup = await vault.exportBackup("a long passphrase");
    expect(JSON.parse(await backup.text()).kdf.name).toBe("argon2id");
    const { vault: other } = await newVault();
    await expect(other.importBackup(backup, "not it")).rejects.toBeInstanceOf(WrongPassphrase);
    expect(other.getState().status).toBe("none");
    await other.importBackup(backup, "a long passphrase");
    expect(other.getState().keys).toEqual(vault.getState().keys);
    other.lock();
    await other.unlock("a long passphrase"); // stored here under PBKDF2 now
    expect(other.unlocked().signing?.fingerprint).toBe(vault.unlocked().signing?.fingerprint);
  }, 60_000);

  it("refuses another account's backup and a file that is not one", async () => {
    const { vault } = await newVault();
    await vault.createKeys("a long passphrase");
    const backup = await vault.exportBackup("a long passphrase");
    const stranger = new KeyVault(new MemoryKeyFileStorage(), new FakeRegistry());
    await stranger.load("0f0f0f0f-0000-4000-8000-000000000002");
    await expect(stranger.importBackup(backup, "a long passphrase")).rejects.toThrow(/another BeYou account/);
    await expect(stranger.importBackup(new Blob(["not json"]), "x")).rejects.toBeInstanceOf(KeyFileError);
  }, 60_000);

  it("tells its listeners, and forgets on reset and forget", async () => {
    const { vault } = await newVault();
    const seen: string[] = [];
    vault.subscribe(() => seen.push(`${vault.getState().status} ${vault.getState().keys.map((key) => key.status).join(" ")}`.trim()));
    await vault.createKeys("a long passphrase");
    await vault.rotate();
    await vault.forget();
    // Keys being registered are never shown as pending (that is what an interrupted registration leaves).
    expect(seen).toEqual(["unlocked active active", "unlocked retired retired active active", "none"]);
    expect(vault.getState().status).toBe("none");
    vault.reset();
    expect(vault.getState()).toEqual({ status: "unknown", userId: null, keys: [] });
  });
});
