/**
 * The ledger's leaves (docs/ledger-formats.md §2): fixed-width, big-endian records of a message, a
 * key registered or a key revoked. A reader refuses an unknown kind or version, a short leaf,
 * trailing bytes and any value the tables do not allow (as client/beyou/ledger.py's decode_leaf).
 */
import { sha256Hex, toHex, type Bytes } from "../crypto/encoding";
import type { KeyAlgorithm, KeyPurpose } from "../crypto/keys";
import { LedgerVerificationError } from "./merkle";

export const MAX_LEAF_BYTES = 65535;
const LEAF_VERSION = 1;
const PURPOSES: Record<number, KeyPurpose> = { 1: "signing", 2: "encryption" };
const ALGORITHMS: Record<number, KeyAlgorithm> = { 1: "rsa", 2: "ed25519", 3: "x25519" };

export interface MessageLeaf {
  kind: "message";
  messageId: string;
  conversationId: string;
  senderId: string;
  contentSha256: string;
  signatureFingerprint: string | null;
  /** Microseconds since the Unix epoch. */
  createdAtMicros: bigint;
}

export interface KeyRegisteredLeaf {
  kind: "key-registered";
  userId: string;
  fingerprint: string;
  purpose: KeyPurpose;
  algorithm: KeyAlgorithm;
  createdAtMicros: bigint;
  der: Bytes;
}

export interface KeyRevokedLeaf {
  kind: "key-revoked";
  userId: string;
  fingerprint: string;
  purpose: KeyPurpose;
  deactivatedAtMicros: bigint;
}

export type Leaf = MessageLeaf | KeyRegisteredLeaf | KeyRevokedLeaf;

class Reader {
  private at = 0;
  constructor(private readonly data: Uint8Array) {}

  take(size: number): Bytes {
    if (this.at + size > this.data.length) throw new LedgerVerificationError("the leaf is too short");
    this.at += size;
    return this.data.slice(this.at - size, this.at);
  }

  integer(size: number): bigint {
    return this.take(size).reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
  }

  small(size: 1 | 2): number {
    return Number(this.integer(size));
  }

  uuid(): string {
    const hex = toHex(this.take(16));
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  code<T>(names: Record<number, T>, what: string): T {
    const value = this.small(1);
    if (!(value in names)) throw new LedgerVerificationError(`the leaf's ${what} code ${value} is unknown`);
    return names[value];
  }

  end(): void {
    if (this.at !== this.data.length) throw new LedgerVerificationError("the leaf has trailing bytes");
  }
}

/** A leaf's record; LedgerVerificationError for anything but the canonical encoding, version 1. */
export function decodeLeaf(leaf: Uint8Array): Leaf {
  if (leaf.length > MAX_LEAF_BYTES) throw new LedgerVerificationError("the leaf is longer than 65,535 bytes");
  const reader = new Reader(leaf);
  const kind = reader.small(1);
  const version = reader.small(1);
  if (version !== LEAF_VERSION || ![1, 2, 3].includes(kind)) throw new LedgerVerificationError(`unknown leaf kind ${kind} version ${version}`);
  const record = kind === 1 ? message(reader) : kind === 2 ? keyRegistered(reader) : keyRevoked(reader);
  reader.end();
  return record;
}

function message(reader: Reader): MessageLeaf {
  const messageId = reader.uuid();
  const conversationId = reader.uuid();
  const senderId = reader.uuid();
  const contentSha256 = toHex(reader.take(32));
  const signed = reader.small(1);
  if (signed !== 0 && signed !== 1) throw new LedgerVerificationError(`the leaf's signature marker ${signed} is neither 0 nor 1`);
  const signatureFingerprint = signed ? toHex(reader.take(32)) : null;
  return { kind: "message", messageId, conversationId, senderId, contentSha256, signatureFingerprint, createdAtMicros: reader.integer(8) };
}

function keyRegistered(reader: Reader): KeyRegisteredLeaf {
  const userId = reader.uuid();
  const fingerprint = toHex(reader.take(32));
  const purpose = reader.code(PURPOSES, "purpose");
  const algorithm = reader.code(ALGORITHMS, "algorithm");
  const createdAtMicros = reader.integer(8);
  const der = reader.take(reader.small(2));
  if (sha256Hex(der) !== fingerprint) throw new LedgerVerificationError("the key leaf's DER is not the key its fingerprint names");
  return { kind: "key-registered", userId, fingerprint, purpose, algorithm, createdAtMicros, der };
}

function keyRevoked(reader: Reader): KeyRevokedLeaf {
  const userId = reader.uuid();
  const fingerprint = toHex(reader.take(32));
  const purpose = reader.code(PURPOSES, "purpose");
  return { kind: "key-revoked", userId, fingerprint, purpose, deactivatedAtMicros: reader.integer(8) };
}
