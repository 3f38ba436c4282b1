/**
 * Key pairs for end-to-end messaging (client/beyou/keys.py's counterpart): Ed25519 or RSA-PSS
 * signing keys, X25519 or RSA-OAEP encryption keys, their fingerprints (SHA-256 of the DER
 * SubjectPublicKeyInfo, docs/key-registration.md §2), PEM, and the registration statement.
 *
 * A public key from the API is always imported through `importPublicKey`, which checks that the
 * PEM is a key of the named algorithm and has the named fingerprint: a fingerprint is how every
 * other place (envelopes, the ledger, people comparing aloud) names a key, so a PEM that does not
 * hash to it is refused rather than trusted.
 */
import { bytes, EncodingError, fromBase64, sha256Hex, toBase64, utf8, type Bytes } from "./encoding";

export type KeyAlgorithm = "ed25519" | "x25519" | "rsa";
export type KeyPurpose = "signing" | "encryption";
export type KeyFamily = "ed25519" | "rsa";

/** A key as the API lists it (auth's registry, messaging's conversation keys). */
export interface RegisteredKey {
  fingerprint: string;
  algorithm: string;
  pem: string;
  purpose?: string;
  active?: boolean;
  user_id?: string;
  created_at?: string;
  deactivated_at?: string | null;
}

/** A public key, checked and imported for its purpose. */
export interface PublicKey {
  fingerprint: string;
  algorithm: KeyAlgorithm;
  purpose: KeyPurpose;
  spki: Bytes;
  pem: string;
  key: CryptoKey;
  /** X25519 only: the 32-byte raw public key (RFC 7748 u-coordinate). */
  raw: Bytes | null;
}

/** A freshly generated pair: the private half as PKCS#8 (to be encrypted at once), the public half imported. */
export interface GeneratedKey {
  purpose: KeyPurpose;
  algorithm: KeyAlgorithm;
  pkcs8: Bytes;
  publicKey: PublicKey;
}

export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyError";
  }
}

export const RSA_BITS = 3072;
export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 8192;
const RSA_EXPONENT = new Uint8Array([1, 0, 1]);
const FINGERPRINT = /^[0-9a-f]{64}$/;

export function isFingerprint(value: unknown): value is string {
  return typeof value === "string" && FINGERPRINT.test(value);
}

/** Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo. */
export function fingerprintOf(spki: Uint8Array): string {
  return sha256Hex(spki);
}

/** "06e3 fd8f da29 …": a fingerprint as people compare it aloud. */
export function groupedFingerprint(fingerprint: string, size = 4): string {
  return fingerprint.match(new RegExp(`.{1,${size}}`, "g"))?.join(" ") ?? fingerprint;
}

export function derToPem(der: Uint8Array, label = "PUBLIC KEY"): string {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export function pemToDer(pem: string, label = "PUBLIC KEY"): Bytes {
  const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  if (!match) throw new KeyError(`not a PEM ${label.toLowerCase()}`);
  try {
    return fromBase64(match[1].replace(/\s+/g, ""), "PEM body");
  } catch (error) {
    if (error instanceof EncodingError) throw new KeyError(`not a PEM ${label.toLowerCase()}: ${error.message}`);
    throw error;
  }
}

/** The Web Crypto algorithm (and usages) a key of `algorithm` serves `purpose` with. */
function webAlgorithm(algorithm: KeyAlgorithm, purpose: KeyPurpose): { params: RsaHashedImportParams | Algorithm; publicUsages: KeyUsage[]; privateUsages: KeyUsage[] } {
  if (algorithm === "ed25519") {
    if (purpose !== "signing") throw new KeyError("an Ed25519 key signs; it cannot be an encryption key");
    return { params: { name: "Ed25519" }, publicUsages: ["verify"], privateUsages: ["sign"] };
  }
  if (algorithm === "x25519") {
    if (purpose !== "encryption") throw new KeyError("an X25519 key encrypts; it cannot be a signing key");
    return { params: { name: "X25519" }, publicUsages: [], privateUsages: ["deriveBits"] };
  }
  if (purpose === "signing") return { params: { name: "RSA-PSS", hash: "SHA-256" }, publicUsages: ["verify"], privateUsages: ["sign"] };
  return { params: { name: "RSA-OAEP", hash: "SHA-256" }, publicUsages: ["encrypt"], privateUsages: ["decrypt"] };
}

export function asAlgorithm(value: unknown): KeyAlgorithm {
  if (value === "ed25519" || value === "x25519" || value === "rsa") return value;
  throw new KeyError(`unsupported key algorithm ${JSON.stringify(value)} (ed25519, x25519 or rsa)`);
}

/** Import an SPKI public key, checking its algorithm and (RSA) size. */
export async function importSpki(spki: Uint8Array, algorithm: KeyAlgorithm, purpose: KeyPurpose): Promise<PublicKey> {
  const der = bytes(spki);
  const { params, publicUsages } = webAlgorithm(algorithm, purpose);
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("spki", der, params, true, publicUsages);
  } catch {
    throw new KeyError(`not an ${algorithm} public key`);
  }
  if (algorithm === "rsa") checkRsaSize(key);
  const raw = algorithm === "x25519" ? bytes(await crypto.subtle.exportKey("raw", key)) : null;
  return { fingerprint: fingerprintOf(der), algorithm, purpose, spki: der, pem: derToPem(der), key, raw };
}

/** A key from the API ({fingerprint, algorithm, pem}), refused unless the PEM hashes to the fingerprint. */
export async function importPublicKey(key: { fingerprint: string; algorithm: string; pem: string }, purpose: KeyPurpose): Promise<PublicKey> {
  const imported = await importSpki(pemToDer(key.pem), asAlgorithm(key.algorithm), purpose);
  if (imported.fingerprint !== key.fingerprint) {
    throw new KeyError(`the key served as ${key.fingerprint} has the fingerprint ${imported.fingerprint}`);
  }
  return imported;
}

export function checkRsaSize(key: CryptoKey): void {
  const bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
  if (!(bits >= MIN_RSA_BITS && bits <= MAX_RSA_BITS)) {
    throw new KeyError(`RSA keys have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits, not ${bits}`);
  }
}

/** A new key pair for `purpose` of `family` (Ed25519/X25519, or RSA-3072 for both purposes). */
export async function generateKeyPair(purpose: KeyPurpose, family: KeyFamily = "ed25519"): Promise<GeneratedKey> {
  const algorithm: KeyAlgorithm = family === "rsa" ? "rsa" : purpose === "signing" ? "ed25519" : "x25519";
  const { params, privateUsages, publicUsages } = webAlgorithm(algorithm, purpose);
  const generation = algorithm === "rsa" ? { ...params, modulusLength: RSA_BITS, publicExponent: RSA_EXPONENT } : params;
  const pair = (await crypto.subtle.generateKey(generation, true, [...privateUsages, ...publicUsages])) as CryptoKeyPair;
  const pkcs8 = bytes(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const publicKey = await importSpki(bytes(await crypto.subtle.exportKey("spki", pair.publicKey)), algorithm, purpose);
  return { purpose, algorithm, pkcs8, publicKey };
}

/**
 * A stored private key (PKCS#8) as a non-extractable CryptoKey, with its public half.
 * Web Crypto cannot derive a public key from a non-extractable private one, so the key is first
 * imported extractable, its public parameters read from its JWK, and that copy dropped.
 */
export async function importPrivateKey(pkcs8: Uint8Array, algorithm: KeyAlgorithm, purpose: KeyPurpose): Promise<{ privateKey: CryptoKey; publicKey: PublicKey }> {
  const der = bytes(pkcs8);
  const { params, privateUsages, publicUsages } = webAlgorithm(algorithm, purpose);
  let transient: CryptoKey;
  try {
    transient = await crypto.subtle.importKey("pkcs8", der, params, true, privateUsages);
  } catch {
    throw new KeyError(`not an ${algorithm} private key`);
  }
  const jwk = await crypto.subtle.exportKey("jwk", transient);
  const publicJwk: JsonWebKey = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, n: jwk.n, e: jwk.e, ext: true };
  const publicCrypto = await crypto.subtle.importKey("jwk", publicJwk, params, true, publicUsages);
  const publicKey = await importSpki(bytes(await crypto.subtle.exportKey("spki", publicCrypto)), algorithm, purpose);
  const privateKey = await crypto.subtle.importKey("pkcs8", der, params, false, privateUsages);
  return { privateKey, publicKey };
}

/** Ed25519, or RSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (key-registration.md §4). */
export async function signBytes(privateKey: CryptoKey, data: Uint8Array): Promise<Bytes> {
  const name = privateKey.algorithm.name;
  if (name === "Ed25519") return bytes(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, bytes(data)));
  if (name === "RSA-PSS") {
    checkRsaSize(privateKey);
    return bytes(await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, privateKey, bytes(data)));
  }
  throw new KeyError("an encryption key cannot sign");
}

export async function verifyBytes(publicKey: PublicKey, signature: Uint8Array, data: Uint8Array): Promise<boolean> {
  if (publicKey.purpose !== "signing") throw new KeyError("an encryption key does not verify signatures");
  const params = publicKey.algorithm === "rsa" ? { name: "RSA-PSS", saltLength: 32 } : { name: "Ed25519" };
  return crypto.subtle.verify(params, publicKey.key, bytes(signature), bytes(data));
}

/** What a registration's proof of possession signs (docs/key-registration.md §3, v1). */
export function registrationStatement(challenge: string, purpose: KeyPurpose, fingerprint: string): Bytes {
  return utf8(`BeYou key registration v1\n${challenge}\n${purpose}\n${fingerprint}`);
}

/** The body of POST /api/auth/keys for `key`, its statement signed by `signer` (the key itself for a
 *  signing key, the active signing key for an encryption key). */
export async function registrationBody(key: PublicKey, challenge: string, signer: CryptoKey) {
  const signature = await signBytes(signer, registrationStatement(challenge, key.purpose, key.fingerprint));
  return { purpose: key.purpose, algorithm: key.algorithm, pem: key.pem, challenge, signature: toBase64(signature) };
}

