/**
 * The user's private keys in this browser: stored encrypted (keystore.ts) and, once unlocked with
 * the passphrase, held in this tab's memory as non-extractable CryptoKeys until the tab closes, the
 * user locks them or signs out. Screens observe the state (`subscribe`/`getState`, or
 * `useKeyVault()` in features/keys) and ask for the keys with `unlocked()`.
 *
 * Generating and rotating follow the CLI (client/beyou/identity.py): keys are made here and saved
 * "pending" first, then their public halves registered with auth (docs/key-registration.md):
 * the signing key first, proving possession by signing its own statement, then the encryption key,
 * vouched for by the now active signing key. A registered key becomes "active" and the one it
 * replaces "retired" (kept: old messages were sealed for it). The file is saved after every step,
 * so a failure half-way leaves it true to what the server has, and `registerPending()` finishes.
 */
import { api, ApiError, onAccessToken } from "../api/client";
import {
  generateKeyPair,
  importPrivateKey,
  registrationBody,
  type KeyAlgorithm,
  type KeyFamily,
  type KeyPurpose,
  type PublicKey,
  type RegisteredKey,
} from "./keys";
import {
  activate,
  addPending,
  BACKUP_KDF,
  BROWSER_KDF,
  decryptKeyFile,
  encryptKeyFile,
  IndexedDbKeyFileStorage,
  KeyFileError,
  openWithKey,
  pendingKey,
  privateKeyDer,
  resealKeyFile,
  storedKey,
  WrongPassphrase,
  type FileKey,
  type KeyFileStorage,
  type KeyringContent,
  type KeyStatus,
} from "./keystore";

export { KeyFileError, WrongPassphrase };

export type VaultStatus = "unknown" | "none" | "locked" | "unlocked";

export interface KeySummary {
  fingerprint: string;
  purpose: KeyPurpose;
  algorithm: KeyAlgorithm;
  status: KeyStatus;
  createdAt: string;
  registeredAt: string | null;
  retiredAt: string | null;
}

/** A private key held in memory (non-extractable) with its public half. */
export interface HeldKey extends KeySummary {
  privateKey: CryptoKey;
  publicKey: PublicKey;
}

export interface VaultState {
  status: VaultStatus;
  userId: string | null;
  /** The keys of the stored file: known once unlocked (a locked file reveals nothing). */
  keys: KeySummary[];
}

export interface UnlockedKeys {
  userId: string;
  keys: HeldKey[];
  /** The active signing key. */
  signing: HeldKey | undefined;
  /** The active encryption key. */
  encryption: HeldKey | undefined;
  /** Every encryption key ever held, newest first: old messages were wrapped for old keys. */
  decryptionKeys: HeldKey[];
  find(fingerprint: string): HeldKey | undefined;
}

export class KeysLocked extends Error {
  constructor(message = "Your keys are locked: unlock them with your passphrase.") {
    super(message);
    this.name = "KeysLocked";
  }
}

/** This browser's keys are not the ones the server has as the user's active keys (rotated elsewhere, or never registered). */
export class KeysNotRegistered extends Error {
  constructor(message = "The keys in this browser are not your active keys on the server: import your latest backup, or make new keys here.") {
    super(message);
    this.name = "KeysNotRegistered";
  }
}

export class KeyRegistrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyRegistrationError";
  }
}

/** What the vault needs from auth's key registry (the real one below; a fake in unit tests). */
export interface KeyRegistry {
  challenge(): Promise<string>;
  register(body: Awaited<ReturnType<typeof registrationBody>>): Promise<{ fingerprint: string; created_at?: string }>;
  /** The owner of a registered key, or null if no such key is registered. */
  owner(fingerprint: string): Promise<string | null>;
}

export const apiKeyRegistry: KeyRegistry = {
  async challenge() {
    return (await api<{ challenge: string }>("/api/auth/keys/challenge", { method: "POST" })).challenge;
  },
  register(body) {
    return api<RegisteredKey & { created_at?: string }>("/api/auth/keys", { json: body });
  },
  async owner(fingerprint) {
    try {
      return (await api<RegisteredKey>(`/api/auth/keys/${fingerprint}`)).user_id ?? null;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  },
};

interface Session {
  userId: string;
  fileKey: FileKey;
  keys: HeldKey[];
}

export class KeyVault {
  private state: VaultState = { status: "unknown", userId: null, keys: [] };
  private session: Session | null = null;
  private readonly listeners = new Set<() => void>();
  // One operation at a time: two saves racing would lose one of them.
  private queue: Promise<unknown> = Promise.resolve();
  // The state to show once an operation run `atOnce` ends (null: none is running).
  private held: VaultState | null = null;

  constructor(
    private readonly storage: KeyFileStorage,
    private readonly registry: KeyRegistry,
  ) {}

  getState = (): VaultState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Look for `userId`'s stored keys (a different user than before locks the previous one's). */
  load(userId: string): Promise<VaultState> {
    return this.serial(async () => {
      if (this.state.userId === userId && this.state.status !== "unknown") return this.state;
      this.session = null;
      const stored = await this.storage.get(userId);
      this.set({ status: stored ? "locked" : "none", userId, keys: [] });
      return this.state;
    });
  }

  /** Unlock the stored keys; WrongPassphrase if the passphrase does not open them. */
  unlock(passphrase: string): Promise<void> {
    return this.serial(async () => {
      const userId = this.requireUser();
      const stored = await this.storage.get(userId);
      if (!stored) throw new KeyFileError("This browser holds no keys for your account.");
      const { content, fileKey } = await decryptKeyFile(stored, passphrase);
      checkOwner(content, userId);
      await this.hold(userId, fileKey, content);
    });
  }

  /** Forget the keys held in memory (they stay stored, encrypted). */
  lock(): void {
    if (!this.session) return;
    this.session = null;
    this.set({ ...this.state, status: "locked", keys: [] });
  }

  /** Signed out: forget who and what. */
  reset(): void {
    this.session = null;
    this.set({ status: "unknown", userId: null, keys: [] });
  }

  unlocked(): UnlockedKeys {
    if (!this.session) throw new KeysLocked();
    const { userId, keys } = this.session;
    const active = (purpose: KeyPurpose) => keys.find((key) => key.purpose === purpose && key.status === "active");
    return {
      userId,
      keys,
      signing: active("signing"),
      encryption: active("encryption"),
      decryptionKeys: keys.filter((key) => key.purpose === "encryption").reverse(),
      find: (fingerprint) => keys.find((key) => key.fingerprint === fingerprint),
    };
  }

  /** This browser's first keys: generated, stored under `passphrase`, registered with auth. */
  createKeys(passphrase: string, family: KeyFamily = "ed25519"): Promise<void> {
    return this.serial(() => this.atOnce(async () => {
      const userId = this.requireUser();
      if (await this.storage.get(userId)) throw new KeyFileError("This browser already holds keys for your account: unlock them, or make new ones with Rotate.");
      let content: KeyringContent = { owner_id: userId, keys: [] };
      for (const purpose of ["signing", "encryption"] as const) {
        const made = await generateKeyPair(purpose, family);
        content = addPending(content, storedKey(purpose, made.algorithm, made.pkcs8));
      }
      const { file, fileKey } = await encryptKeyFile(content, passphrase, BROWSER_KDF);
      await this.storage.put(userId, file);
      await this.hold(userId, fileKey, content);
      await this.registerAll();
    }));
  }

  /** New keys replace the active ones (the old stay, retired, to read and verify old messages). */
  rotate(family: KeyFamily = "ed25519", purposes: KeyPurpose[] = ["signing", "encryption"]): Promise<void> {
    return this.serial(() => this.atOnce(async () => {
      const made = await Promise.all(purposes.map((purpose) => generateKeyPair(purpose, family)));
      await this.change((content) => made.reduce((next, key) => addPending(next, storedKey(key.purpose, key.algorithm, key.pkcs8)), content));
      await this.registerAll();
    }));
  }

  /** Register the keys left pending (a registration that failed half-way). */
  registerPending(): Promise<void> {
    return this.serial(() => this.registerAll());
  }

  /** A backup of the stored keys: the CLI's key file format (Argon2id), under the same passphrase. */
  exportBackup(passphrase: string): Promise<Blob> {
    return this.serial(async () => {
      const userId = this.requireUser();
      const stored = await this.storage.get(userId);
      if (!stored) throw new KeyFileError("This browser holds no keys to back up.");
      const { content } = await decryptKeyFile(stored, passphrase);
      const { file } = await encryptKeyFile(content, passphrase, BACKUP_KDF);
      return new Blob([JSON.stringify(file, null, 2) + "\n"], { type: "application/json" });
    });
  }

  /** Keep the keys of a backup (or of the CLI's keys.json) in this browser, replacing any here, and unlock them. */
  importBackup(backup: Blob, passphrase: string): Promise<void> {
    return this.serial(async () => {
      const userId = this.requireUser();
      let document: unknown;
      try {
        document = JSON.parse(await backup.text());
      } catch {
        throw new KeyFileError("This file is not a BeYou key backup (not JSON).");
      }
      const opened = await decryptKeyFile(document, passphrase);
      checkOwner(opened.content, userId);
      const content = { ...opened.content, owner_id: userId };
      const held = await describe(content); // refuses a file whose keys do not load, before anything is replaced
      const { file, fileKey } = await encryptKeyFile(content, passphrase, BROWSER_KDF);
      await this.storage.put(userId, file);
      this.session = { userId, fileKey, keys: held };
      this.set({ status: "unlocked", userId, keys: held.map(summary) });
    });
  }

  /** Delete this browser's copy of the keys. */
  forget(): Promise<void> {
    return this.serial(async () => {
      const userId = this.requireUser();
      await this.storage.delete(userId);
      this.session = null;
      this.set({ status: "none", userId, keys: [] });
    });
  }

  // --- inside ---------------------------------------------------------------------------------

  private async registerAll(): Promise<void> {
    const session = this.requireSession();
    for (const purpose of ["signing", "encryption"] as const) {
      const content = await openWithKey(await this.storage.get(session.userId), session.fileKey);
      const pending = pendingKey(content, purpose);
      if (!pending) continue;
      // The session's keys were described from this same content, in its order.
      const keys = this.requireSession().keys;
      const key = keys[content.keys.indexOf(pending)];
      const signer = purpose === "signing" ? key : keys.find((held) => held.purpose === "signing" && held.status === "active");
      if (!key || key.purpose !== purpose || key.status !== "pending") throw new KeyFileError("The key file changed while registering: reload the page.");
      if (!signer) throw new KeyRegistrationError("An encryption key is registered with the signature of your active signing key, and you have none: make new keys.");
      const registered = await this.register(key.publicKey, signer.privateKey);
      await this.change((current) => activate(current, pending.private_pem, registered.created_at ?? ""));
    }
  }

  private async register(key: PublicKey, signer: CryptoKey): Promise<{ created_at?: string }> {
    const userId = this.requireSession().userId;
    try {
      return await this.registry.register(await registrationBody(key, await this.registry.challenge(), signer));
    } catch (error) {
      // Registered already (the answer was lost before the file was saved): if it is ours, it stands.
      if (error instanceof ApiError && error.status === 409 && !Object.keys(error.fields).length) {
        if ((await this.registry.owner(key.fingerprint)) === userId) return {};
      }
      throw error;
    }
  }

  /** Re-read the stored file with the session's key, change it, save it, hold the result. */
  private async change(edit: (content: KeyringContent) => KeyringContent): Promise<void> {
    const session = this.requireSession();
    const content = edit(await openWithKey(await this.storage.get(session.userId), session.fileKey));
    await this.storage.put(session.userId, await resealKeyFile(content, session.fileKey));
    await this.hold(session.userId, session.fileKey, content);
  }

  private async hold(userId: string, fileKey: FileKey, content: KeyringContent): Promise<void> {
    const keys = await describe(content);
    this.session = { userId, fileKey, keys };
    this.set({ status: "unlocked", userId, keys: keys.map(summary) });
  }

  private requireUser(): string {
    if (!this.state.userId) throw new Error("No account is loaded: sign in first.");
    return this.state.userId;
  }

  private requireSession(): Session {
    if (!this.session) throw new KeysLocked();
    return this.session;
  }

  private set(state: VaultState): void {
    if (this.held) {
      this.held = state;
      return;
    }
    this.state = state;
    for (const listener of this.listeners) listener();
  }

  /** Run `operation` showing its outcome only at its end: keys being registered are not shown as
   *  "pending" (what an interrupted registration leaves) while the registration is under way. */
  private async atOnce<T>(operation: () => Promise<T>): Promise<T> {
    this.held = this.state;
    try {
      return await operation();
    } finally {
      const state = this.held;
      this.held = null;
      this.set(state);
    }
  }

  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation, operation);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function checkOwner(content: KeyringContent, userId: string): void {
  if (content.owner_id && content.owner_id !== userId) {
    throw new KeyFileError("These keys belong to another BeYou account than the one signed in.");
  }
}

/** Every key of the file imported (non-extractable) with its public half and fingerprint. */
async function describe(content: KeyringContent): Promise<HeldKey[]> {
  const held: HeldKey[] = [];
  for (const key of content.keys) {
    let loaded;
    try {
      loaded = await importPrivateKey(privateKeyDer(key), key.algorithm, key.purpose);
    } catch (error) {
      throw new KeyFileError(`A ${key.purpose} key in this file cannot be read (${error instanceof Error ? error.message : String(error)}).`);
    }
    held.push({
      fingerprint: loaded.publicKey.fingerprint,
      purpose: key.purpose,
      algorithm: key.algorithm,
      status: key.status,
      createdAt: key.created_at,
      registeredAt: key.registered_at,
      retiredAt: key.retired_at,
      privateKey: loaded.privateKey,
      publicKey: loaded.publicKey,
    });
  }
  return held;
}

function summary(key: HeldKey): KeySummary {
  const { privateKey: _private, publicKey: _public, ...rest } = key;
  return rest;
}

/** This tab's vault, on IndexedDB and auth's registry. */
export const vault = new KeyVault(new IndexedDbKeyFileStorage(), apiKeyRegistry);

// Signing out (or a session that cannot be refreshed) drops the keys held in memory.
onAccessToken((token) => {
  if (!token) vault.reset();
});
