/**
 * C2SP signed notes and tlog checkpoints (docs/ledger-formats.md §8–9), as client/beyou/ledger.py
 * verifies them: the verifier key `<name>+<hex key id>+<base64(0x01 ‖ Ed25519 key)>`, a note's
 * signature lines, and the checkpoint body `<origin>\n<size>\n<base64 root>\n[extensions]`.
 */
import { bytes, concatBytes, EncodingError, equalBytes, fromBase64, fromHex, fromUtf8, sha256, toHex, utf8, type Bytes } from "../crypto/encoding";
import { HASH_SIZE, LedgerVerificationError } from "./merkle";

const ED25519 = 0x01;
const SIGNATURE_PREFIX = "\u2014 ";
const MAX_NOTE_SIGNATURES = 100;

export interface VerifierKey {
  name: string;
  keyId: Bytes;
  publicKey: Bytes;
  text: string;
}

export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: Bytes;
  note: string;
}

function validName(name: string): boolean {
  return name.length > 0 && !name.includes("+") && !/[\s\u0000-\u001f\u007f]/u.test(name);
}

/** SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]: which key a signature line claims to be by. */
export function noteKeyId(name: string, publicKey: Uint8Array): Bytes {
  return sha256(concatBytes(utf8(name), new Uint8Array([0x0a, ED25519]), publicKey)).slice(0, 4);
}

export function parseVerifierKey(text: string): VerifierKey {
  const trimmed = text.trim();
  const first = trimmed.indexOf("+");
  const second = trimmed.indexOf("+", first + 1); // base64 has '+' too: the id ends at the second one
  const refuse = (why: string) => new LedgerVerificationError(`not a verifier key (${why}): ${JSON.stringify(text)}`);
  if (first < 0 || second < 0) throw refuse("name+id+key");
  const name = trimmed.slice(0, first);
  const hexId = trimmed.slice(first + 1, second);
  if (!validName(name) || !/^[0-9a-f]{8}$/.test(hexId)) throw refuse("name or id");
  let key: Bytes;
  try {
    key = fromBase64(trimmed.slice(second + 1), "the key");
  } catch {
    throw refuse("bad base64");
  }
  if (key.length !== 33 || key[0] !== ED25519) throw refuse("not an Ed25519 key");
  const keyId = fromHex(hexId);
  if (!equalBytes(keyId, noteKeyId(name, key.slice(1)))) throw refuse("its id does not match its name and key");
  return { name, keyId, publicKey: key.slice(1), text: trimmed };
}

interface SignatureLine {
  name: string;
  keyId: Bytes;
  signature: Bytes;
}

function splitNote(note: string): { text: string; signatures: SignatureLine[] } {
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(note)) throw new LedgerVerificationError("the note holds control characters");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new LedgerVerificationError("the note has no signatures (no blank line)");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith("\n")) throw new LedgerVerificationError("the note's signatures do not end with a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) throw new LedgerVerificationError(`the note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  return { text, signatures: lines.map(signatureLine) };
}

function signatureLine(line: string): SignatureLine {
  const rest = line.startsWith(SIGNATURE_PREFIX) ? line.slice(SIGNATURE_PREFIX.length) : null;
  const space = rest?.indexOf(" ") ?? -1;
  let signature: Bytes = new Uint8Array(0);
  if (rest !== null && space >= 0) {
    try {
      signature = fromBase64(rest.slice(space + 1), "signature");
    } catch (error) {
      if (!(error instanceof EncodingError)) throw error;
    }
  }
  const name = rest !== null && space >= 0 ? rest.slice(0, space) : "";
  if (!validName(name) || signature.length < 5) throw new LedgerVerificationError(`not a signature line: ${JSON.stringify(line)}`);
  return { name, keyId: signature.slice(0, 4), signature: signature.slice(4) };
}

/** The text of a note once a signature by `key` verifies; other signers' lines are ignored. */
export async function verifyNote(note: string | Uint8Array, key: VerifierKey): Promise<string> {
  let message: string;
  try {
    message = typeof note === "string" ? note : fromUtf8(note);
  } catch {
    throw new LedgerVerificationError("the note is not UTF-8");
  }
  const { text, signatures } = splitNote(message);
  const publicKey = await crypto.subtle.importKey("raw", bytes(key.publicKey), { name: "Ed25519" }, false, ["verify"]);
  const seen = new Set<string>();
  let accepted = false;
  for (const line of signatures) {
    const id = `${line.name} ${toHex(line.keyId)}`;
    if (seen.has(id)) continue; // a repeated signer's later lines count for nothing (as in Go's note)
    seen.add(id);
    if (line.name !== key.name || !equalBytes(line.keyId, key.keyId)) continue;
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, publicKey, line.signature, utf8(text)))) {
      throw new LedgerVerificationError(`the note's signature by ${key.name} does not verify`);
    }
    accepted = true;
  }
  if (!accepted) throw new LedgerVerificationError(`the note is not signed by ${key.name} (${toHex(key.keyId)})`);
  return text;
}

/** The origin, size and root of a checkpoint body. */
export function parseCheckpoint(text: string, note = ""): Checkpoint {
  const lines = text.split("\n");
  if (lines.length < 4 || lines[lines.length - 1] !== "" || !lines[0] || lines.slice(3, -1).some((line) => !line)) {
    throw new LedgerVerificationError("not a checkpoint: origin, size and root lines expected");
  }
  const [origin, size, root] = lines;
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    throw new LedgerVerificationError(`not a checkpoint: the size ${JSON.stringify(size)} is not a decimal number`);
  }
  let rootHash: Bytes;
  try {
    rootHash = fromBase64(root, "the checkpoint's root");
  } catch {
    throw new LedgerVerificationError("not a checkpoint: the root is not base64");
  }
  if (rootHash.length !== HASH_SIZE) throw new LedgerVerificationError("not a checkpoint: the root is not a SHA-256 hash");
  return { origin, treeSize: Number(size), rootHash, note };
}

/** The checkpoint a note signed by `key` states; its origin must be the key's name (the log's). */
export async function verifyCheckpoint(note: string, key: VerifierKey): Promise<Checkpoint> {
  const checkpoint = parseCheckpoint(await verifyNote(note, key), note);
  if (checkpoint.origin !== key.name) throw new LedgerVerificationError(`the checkpoint is of log ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(key.name)}`);
  return checkpoint;
}
