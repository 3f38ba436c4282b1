/**
 * The key file: every private key of the user, encrypted with a passphrase. The format is the CLI's
 * (client/beyou/keystore.py, "beyou-keyfile" v1), so a browser backup is a `keys.json` the `beyou`
 * CLI opens, and the CLI's `keys.json` imports here:
 *
 *     {"format": "beyou-keyfile", "version": 1,
 *      "kdf": {"name": "argon2id", "salt": <b64, 16 bytes>, "iterations": 3, "lanes": 4, "memory_kib": 65536},
 *      "cipher": {"name": "aes-256-gcm", "nonce": <b64, 12 bytes>},
 *      "ciphertext": <b64 of AES-256-GCM({"owner_id": ..., "keys": [{purpose, algorithm, private_pem, ...}]})>}
 *
 * Everything but the ciphertext is the GCM associated data (as sorted, compact JSON), so a file
 * whose header was altered (its KDF cost lowered, say) does not open.
 *
 * The copy this browser keeps in IndexedDB is the same document with one difference: its KDF is
 * {"name": "pbkdf2-sha256", "salt", "iterations": 600000} (OWASP's 2023 figure for PBKDF2-SHA256),
 * because Web Crypto does PBKDF2 natively in a fraction of a second, while Argon2id runs in
 * JavaScript (@noble/hashes) for seconds; backups, written once and kept long, get the CLI's
 * memory-hard Argon2id. Opening accepts either KDF.
 */
import { argon2idAsync } from "@noble/hashes/argon2";
import { bytes, EncodingError, fromBase64, fromUtf8, randomBytes, toBase64, utf8, type Bytes } from "./encoding";
import { asAlgorithm, derToPem, pemToDer, type KeyAlgorithm, type KeyPurpose } from "./keys";

export const FORMAT = "beyou-keyfile";
export const FORMAT_VERSION = 1;

export type KdfParameters =
  | { name: "argon2id"; iterations: number; lanes: number; memory_kib: number }
  | { name: "pbkdf2-sha256"; iterations: number };

/** The CLI's parameters (RFC 9106's second recommended set, 64 MiB): for backups. */
export const BACKUP_KDF: KdfParameters = { name: "argon2id", iterations: 3, lanes: 4, memory_kib: 64 * 1024 };
/** For the copy kept in this browser. */
export const BROWSER_KDF: KdfParameters = { name: "pbkdf2-sha256", iterations: 600_000 };

// Refuse files that would make the browser spin or exhaust memory, and ones too weak to be ours.
const LIMITS = { argon2Memory: [8 * 1024, 1024 * 1024], argon2Iterations: [1, 64], lanes: [1, 64], pbkdf2: [100_000, 10_000_000] } as const;

export type KeyStatus = "pending" | "active" | "retired";

/** One private key with what the client records about it (the CLI's KeyPair). */
export interface StoredKey {
  purpose: KeyPurpose;
  algorithm: KeyAlgorithm;
  private_pem: string;
  created_at: string;
  status: KeyStatus;
  registered_at: string | null;
  retired_at: string | null;
}

/** The opened key file: whose keys, and the keys (active, pending and retired), oldest first. */
export interface KeyringContent {
  owner_id: string | null;
  keys: StoredKey[];
}

export interface KeyFile {
  format: typeof FORMAT;
  version: typeof FORMAT_VERSION;
  kdf: Record<string, unknown>;
  cipher: { name: "aes-256-gcm"; nonce: string };
  ciphertext: string;
}

/** The key a passphrase opens, held as a non-extractable AES-GCM key, with the header it belongs to. */
export interface FileKey {
  key: CryptoKey;
  kdf: Record<string, unknown>;
}

export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyFileError";
  }
}

/** The passphrase does not open the key file (or the file was altered). */
export class WrongPassphrase extends KeyFileError {
  constructor(message = "Wrong passphrase: it does not open these keys.") {
    super(message);
    this.name = "WrongPassphrase";
  }
}

// --- the keyring's rules (client/beyou/keystore.py's Keyring) ---------------------------------------

export function activeKey(content: KeyringContent, purpose: KeyPurpose): StoredKey | undefined {
  return content.keys.find((key) => key.purpose === purpose && key.status === "active");
}

export function pendingKey(content: KeyringContent, purpose: KeyPurpose): StoredKey | undefined {
  return [...content.keys].reverse().find((key) => key.purpose === purpose && key.status === "pending");
}

/** A new key, pending until registered (an older pending key of that purpose was never used: dropped). */
export function addPending(content: KeyringContent, key: StoredKey): KeyringContent {
  return { ...content, keys: [...content.keys.filter((k) => !(k.purpose === key.purpose && k.status === "pending")), key] };
}

/** `privatePem` is registered: it becomes the active key, and the one it replaces is retired (kept). */
export function activate(content: KeyringContent, privatePem: string, registeredAt: string): KeyringContent {
  const target = content.keys.find((key) => key.private_pem === privatePem);
  if (!target) throw new KeyFileError("no such key in the key file");
  return {
    ...content,
    keys: content.keys.map((key) => {
      if (key === target) return { ...key, status: "active", registered_at: registeredAt };
      if (key.purpose === target.purpose && key.status === "active") return { ...key, status: "retired", retired_at: registeredAt };
      return key;
    }),
  };
}

export function storedKey(purpose: KeyPurpose, algorithm: KeyAlgorithm, pkcs8: Uint8Array): StoredKey {
  return { purpose, algorithm, private_pem: derToPem(pkcs8, "PRIVATE KEY"), created_at: isoNow(), status: "pending", registered_at: null, retired_at: null };
}

export function privateKeyDer(key: StoredKey): Bytes {
  return pemToDer(key.private_pem, "PRIVATE KEY");
}

/** "2026-01-01T12:00:00+00:00", as the CLI writes times. */
export function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

// --- encrypting and opening ------------------------------------------------------------------------

/** A new key file of `content` under `passphrase`, with a fresh salt and nonce. */
export async function encryptKeyFile(content: KeyringContent, passphrase: string, kdf: KdfParameters): Promise<{ file: KeyFile; fileKey: FileKey }> {
  if (!passphrase) throw new KeyFileError("a key file needs a passphrase");
  const header = { ...kdf, salt: toBase64(randomBytes(16)) };
  const fileKey = { key: await deriveFileKey(passphrase, header), kdf: header };
  return { file: await resealKeyFile(content, fileKey), fileKey };
}

/** `content` encrypted again under a key already derived (same salt and KDF), with a fresh nonce. */
export async function resealKeyFile(content: KeyringContent, fileKey: FileKey): Promise<KeyFile> {
  const header = { format: FORMAT as typeof FORMAT, version: FORMAT_VERSION as typeof FORMAT_VERSION, kdf: fileKey.kdf, cipher: { name: "aes-256-gcm" as const, nonce: toBase64(randomBytes(12)) } };
  const plaintext = utf8(JSON.stringify(content));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: fromBase64(header.cipher.nonce), additionalData: associatedData(header) },
    fileKey.key,
    plaintext,
  );
  return { ...header, ciphertext: toBase64(new Uint8Array(ciphertext)) };
}

/** Open a key file (parsed JSON) with `passphrase`: WrongPassphrase, or KeyFileError for a damaged or foreign file. */
export async function decryptKeyFile(document: unknown, passphrase: string): Promise<{ content: KeyringContent; fileKey: FileKey }> {
  const file = readKeyFile(document);
  const fileKey = { key: await deriveFileKey(passphrase, file.kdf), kdf: file.kdf };
  return { content: await openWithKey(file, fileKey), fileKey };
}

/** Open a key file with a key derived before (an unlocked session re-reading its stored file). */
export async function openWithKey(document: unknown, fileKey: FileKey): Promise<KeyringContent> {
  const file = readKeyFile(document);
  const { ciphertext, ...header } = file as KeyFile & Record<string, unknown>;
  let plaintext: ArrayBuffer;
  try {
    plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: decode(file.cipher.nonce, "cipher.nonce"), additionalData: associatedData(header) },
      fileKey.key,
      decode(ciphertext, "ciphertext"),
    );
  } catch (error) {
    if (error instanceof KeyFileError) throw error;
    throw new WrongPassphrase();
  }
  return readContent(new Uint8Array(plaintext));
}

/** The header's form, checked before any key is derived. */
export function readKeyFile(document: unknown): KeyFile {
  if (!isObject(document) || document.format !== FORMAT) throw new KeyFileError("This is not a BeYou key file.");
  if (document.version !== FORMAT_VERSION) throw new KeyFileError(`This key file is of version ${String(document.version)}; this app reads version ${FORMAT_VERSION}.`);
  const { kdf, cipher } = document;
  if (!isObject(kdf) || !isObject(cipher) || cipher.name !== "aes-256-gcm" || typeof cipher.nonce !== "string" || typeof document.ciphertext !== "string") {
    throw new KeyFileError("This key file is damaged (its header is incomplete).");
  }
  kdfParameters(kdf);
  if (decode(kdf.salt, "kdf.salt").length < 16 || decode(cipher.nonce, "cipher.nonce").length !== 12) {
    throw new KeyFileError("This key file is damaged (salt or nonce of the wrong size).");
  }
  return document as unknown as KeyFile;
}

function kdfParameters(kdf: Record<string, unknown>): KdfParameters {
  const within = (value: unknown, [low, high]: readonly [number, number]) => Number.isInteger(value) && (value as number) >= low && (value as number) <= high;
  if (kdf.name === "argon2id") {
    if (!within(kdf.iterations, LIMITS.argon2Iterations) || !within(kdf.lanes, LIMITS.lanes) || !within(kdf.memory_kib, LIMITS.argon2Memory)) {
      throw new KeyFileError("This key file's Argon2id parameters are outside what this app accepts.");
    }
    return { name: "argon2id", iterations: kdf.iterations as number, lanes: kdf.lanes as number, memory_kib: kdf.memory_kib as number };
  }
  if (kdf.name === "pbkdf2-sha256") {
    if (!within(kdf.iterations, LIMITS.pbkdf2)) throw new KeyFileError("This key file's PBKDF2 iteration count is outside what this app accepts.");
    return { name: "pbkdf2-sha256", iterations: kdf.iterations as number };
  }
  throw new KeyFileError(`This key file uses an unsupported KDF (${String(kdf.name)}).`);
}

async function deriveFileKey(passphrase: string, kdf: Record<string, unknown>): Promise<CryptoKey> {
  const parameters = kdfParameters(kdf);
  const salt = decode(kdf.salt, "kdf.salt");
  const secret = utf8(passphrase);
  if (parameters.name === "pbkdf2-sha256") {
    const base = await crypto.subtle.importKey("raw", secret, "PBKDF2", false, ["deriveKey"]);
    return crypto.subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations: parameters.iterations }, base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  }
  // asyncTick: yield to the event loop every few milliseconds, so the page stays responsive meanwhile.
  const raw = await argon2idAsync(secret, salt, { t: parameters.iterations, m: parameters.memory_kib, p: parameters.lanes, dkLen: 32, asyncTick: 25 });
  const key = await crypto.subtle.importKey("raw", bytes(raw), "AES-GCM", false, ["encrypt", "decrypt"]);
  raw.fill(0);
  return key;
}

/** The header as the CLI authenticates it: json.dumps(header, sort_keys=True, separators=(",", ":")). */
function associatedData(header: Record<string, unknown>): Bytes {
  return utf8(sortedJson(header));
}

function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${asciiJson(key)}:${sortedJson(value[key])}`)
      .join(",")}}`;
  }
  return asciiJson(value);
}

/** JSON as Python's json.dumps writes it (ensure_ascii): non-ASCII characters as \uXXXX escapes. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function readContent(plaintext: Uint8Array): KeyringContent {
  let content: unknown;
  try {
    content = JSON.parse(fromUtf8(plaintext));
  } catch {
    throw new KeyFileError("This key file is damaged (its content is not JSON).");
  }
  if (!isObject(content) || !Array.isArray(content.keys) || !(content.owner_id === null || content.owner_id === undefined || typeof content.owner_id === "string")) {
    throw new KeyFileError("This key file is damaged (no list of keys).");
  }
  const keys = content.keys.map((key: unknown): StoredKey => {
    if (!isObject(key) || (key.purpose !== "signing" && key.purpose !== "encryption") || typeof key.private_pem !== "string" || !["pending", "active", "retired"].includes(key.status as string)) {
      throw new KeyFileError("This key file is damaged (a key entry is incomplete).");
    }
    return {
      purpose: key.purpose,
      algorithm: asAlgorithm(key.algorithm),
      private_pem: key.private_pem,
      created_at: typeof key.created_at === "string" ? key.created_at : "",
      status: key.status as KeyStatus,
      registered_at: typeof key.registered_at === "string" ? key.registered_at : null,
      retired_at: typeof key.retired_at === "string" ? key.retired_at : null,
    };
  });
  return { owner_id: (content.owner_id as string | null | undefined) ?? null, keys };
}

function decode(value: unknown, what: string): Bytes {
  try {
    return fromBase64(value, what);
  } catch (error) {
    if (error instanceof EncodingError) throw new KeyFileError(`This key file is damaged (${error.message}).`);
    throw error;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// --- where this browser keeps its copy ----------------------------------------------------------------

/** Storage of one key file per user. IndexedDB in the browser; a Map in unit tests (Node has no IndexedDB). */
export interface KeyFileStorage {
  get(userId: string): Promise<KeyFile | undefined>;
  put(userId: string, file: KeyFile): Promise<void>;
  delete(userId: string): Promise<void>;
}

export class MemoryKeyFileStorage implements KeyFileStorage {
  readonly files = new Map<string, KeyFile>();
  async get(userId: string) {
    const file = this.files.get(userId);
    return file && structuredClone(file);
  }
  async put(userId: string, file: KeyFile) {
    this.files.set(userId, structuredClone(file));
  }
  async delete(userId: string) {
    this.files.delete(userId);
  }
}

/** IndexedDB database `beyou-keys`, object store `keyfiles`, keyed by user id. Opened on first use. */
export class IndexedDbKeyFileStorage implements KeyFileStorage {
  private database: Promise<IDBDatabase> | null = null;

  private open(): Promise<IDBDatabase> {
    this.database ??= new Promise((resolve, reject) => {
      const request = indexedDB.open("beyou-keys", 1);
      request.onupgradeneeded = () => request.result.createObjectStore("keyfiles");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error("IndexedDB cannot be opened"));
      request.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
    });
    this.database.catch(() => (this.database = null));
    return this.database;
  }

  private async run<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest): Promise<T> {
    const database = await this.open();
    return new Promise<T>((resolve, reject) => {
      const transaction = database.transaction("keyfiles", mode);
      const request = action(transaction.objectStore("keyfiles"));
      // Resolve once the transaction commits, not when the request succeeds: a write is durable only then.
      transaction.oncomplete = () => resolve(request.result as T);
      transaction.onerror = () => reject(transaction.error ?? new Error("IndexedDB transaction failed"));
      transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB transaction aborted"));
    });
  }

  get(userId: string) {
    return this.run<KeyFile | undefined>("readonly", (store) => store.get(userId));
  }
  async put(userId: string, file: KeyFile) {
    await this.run("readwrite", (store) => store.put(file, userId));
  }
  async delete(userId: string) {
    await this.run("readwrite", (store) => store.delete(userId));
  }
}
