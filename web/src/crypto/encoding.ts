/**
 * Byte encodings shared by the envelope, the key registry and the ledger (docs/e2e-envelope.md §2).
 *
 * Base64 is RFC 4648 §4 and *canonical*: a reader refuses text that encoding the decoded bytes
 * would not give back (line breaks, missing padding, stray bits before the padding), because
 * signed bytes contain base64 text and one value must have one spelling.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2";

/** Bytes backed by a plain ArrayBuffer: what Web Crypto's BufferSource accepts. */
export type Bytes = Uint8Array<ArrayBuffer>;

export class EncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EncodingError";
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  // In chunks: String.fromCharCode(...bytes) overflows the call stack on large inputs.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Decode canonical base64 only; `what` names the value in the error. */
export function fromBase64(text: unknown, what = "value"): Bytes {
  if (typeof text !== "string" || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new EncodingError(`${what}: not canonical base64 (RFC 4648 §4, standard alphabet, with padding)`);
  }
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new EncodingError(`${what}: not base64`);
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  // atob is lenient about the unused bits before the padding: re-encoding catches them.
  if (toBase64(bytes) !== text) throw new EncodingError(`${what}: not canonical base64 (non-zero padding bits)`);
  return bytes;
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

export function fromHex(text: string): Bytes {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new EncodingError("not hex");
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

const encoder = new TextEncoder();

export function utf8(text: string): Bytes {
  return encoder.encode(text) as Bytes;
}

/** Strict UTF-8 decoding: invalid bytes throw instead of becoming U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
}

export function concatBytes(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A copy on a fresh ArrayBuffer (for bytes whose buffer type is not known to be plain). */
export function bytes(data: Uint8Array | ArrayBuffer): Bytes {
  return new Uint8Array(data instanceof ArrayBuffer ? data.slice(0) : data);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Synchronous SHA-256 (fingerprints and Merkle trees are computed in loops, not awaited). */
export function sha256(data: Uint8Array): Bytes {
  return bytes(nobleSha256(data));
}

export function sha256Hex(data: Uint8Array): string {
  return toHex(nobleSha256(data));
}

/** Fresh random bytes from the platform's CSPRNG. */
export function randomBytes(length: number): Bytes {
  return crypto.getRandomValues(new Uint8Array(length));
}
