/**
 * Checking the ledger from the browser (client/beyou/ledger.py's LedgerClient). Before a message is
 * shown as "recorded in ledger, proof verified":
 *
 * - its content hash is recomputed here (e2e: SHA-256 of the envelope's signed bytes; standard:
 *   SHA-256 of the salt and the text) and the leaf, decoded, names this message, conversation,
 *   sender, content hash and signing key; the leaf hash is computed here from the leaf's bytes;
 * - the inclusion proof leads from that hash to the root of a checkpoint (RFC 9162 §2.1.3.2);
 * - the checkpoint is a note signed by the ledger's verifier key: the one built in
 *   (VITE_BEYOU_LEDGER_VKEY) if any, else the one served, pinned in this browser on first use —
 *   once pinned, a different served key is a failure;
 * - the checkpoint is consistent with the last one this browser verified (RFC 9162 §2.1.4.2),
 *   which it keeps, so the ledger cannot show it a history that forked or was rewritten.
 *
 * The pinned key and checkpoint are public data (no secret), kept in localStorage.
 */
import { api, ApiError } from "../api/client";
import { concatBytes, fromBase64, sha256Hex, toBase64, utf8, type Bytes } from "../crypto/encoding";
import { contentSha256, readEnvelopeForm } from "../crypto/envelope";
import type { KeyPurpose } from "../crypto/keys";
import { decodeLeaf, type Leaf } from "./leaves";
import { leafHash, LedgerVerificationError, verifyConsistency, verifyInclusion } from "./merkle";
import { parseVerifierKey, verifyCheckpoint, type Checkpoint, type VerifierKey } from "./note";

export type RecordStatus = "verified" | "pending" | "missing" | "failed";
export type TrustSource = "given" | "pinned" | "tofu";

export interface LedgerVerdict {
  status: RecordStatus;
  /** Why it is not verified (a sentence for people). */
  problem?: string;
  leafIndex?: number;
  blockHeight?: number | null;
  treeSize?: number;
  /** The checkpoint verified before, proven consistent with this one. */
  previousTreeSize?: number | null;
  removed?: boolean;
  trust?: TrustSource;
  leaf?: Leaf;
}

/** What the browser remembers about the ledger. */
export interface LedgerMemory {
  vkey?: string;
  vkeySource?: TrustSource;
  pinnedAt?: string;
  checkpoint?: { origin: string; tree_size: number; root_hash: string; note: string; verified_at: string };
  forks?: { seen_at: string; reason: string; verified_before: string; inconsistent: string }[];
}

export interface LedgerMemoryStore {
  load(): LedgerMemory;
  save(memory: LedgerMemory): void;
}

/** GET a ledger path's JSON; rejects with ApiError for an error answer. */
export type LedgerFetch = (path: string, query?: Record<string, string | number>) => Promise<unknown>;

const STORAGE_KEY = "beyou.ledger.v1";

export const localLedgerMemory: LedgerMemoryStore = {
  load() {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}") as LedgerMemory;
    } catch {
      return {};
    }
  },
  save(memory) {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(memory));
  },
};

export class MemoryLedgerMemory implements LedgerMemoryStore {
  memory: LedgerMemory = {};
  load() {
    return structuredClone(this.memory);
  }
  save(memory: LedgerMemory) {
    this.memory = structuredClone(memory);
  }
}

const apiFetch: LedgerFetch = (path, query) => api(`/api/ledger/${path}`, { auth: false, query });

interface Trust {
  key: VerifierKey;
  source: TrustSource;
}

export class LedgerClient {
  private trustPromise: Promise<Trust> | null = null;
  // Checkpoints are adopted one at a time: two at once could let a smaller one overwrite a larger.
  private adopting: Promise<unknown> = Promise.resolve();
  private readonly proven = new Set<string>();

  constructor(
    private readonly fetch: LedgerFetch = apiFetch,
    private readonly memory: LedgerMemoryStore = localLedgerMemory,
    private readonly givenVkey: string | undefined = import.meta.env?.VITE_BEYOU_LEDGER_VKEY,
  ) {}

  /** The verifier key checkpoints are checked with (pinned now if it is the first use). */
  trust(): Promise<Trust> {
    this.trustPromise ??= this.resolveTrust();
    this.trustPromise.catch(() => (this.trustPromise = null));
    return this.trustPromise;
  }

  private async resolveTrust(): Promise<Trust> {
    const memory = this.memory.load();
    if (this.givenVkey) {
      const key = parseVerifierKey(this.givenVkey);
      if (memory.vkey !== key.text) this.pin(key);
      return { key, source: "given" };
    }
    const served = parseVerifierKey(field(await this.fetch("verifier-key"), "vkey", "string"));
    if (!memory.vkey) {
      this.pin(served);
      return { key: served, source: "tofu" };
    }
    const pinned = parseVerifierKey(memory.vkey);
    if (pinned.text !== served.text) {
      throw new LedgerVerificationError(
        `the ledger now serves the verifier key ${served.text}, not ${pinned.text} that this browser pinned: its checkpoints are not trusted`,
      );
    }
    return { key: pinned, source: "pinned" };
  }

  private pin(key: VerifierKey): void {
    const memory = this.memory.load();
    const previous = memory.vkey ? parseVerifierKey(memory.vkey) : null;
    // Another log: its history says nothing of this one.
    if (previous && previous.name !== key.name) delete memory.checkpoint;
    this.memory.save({ ...memory, vkey: key.text, vkeySource: this.givenVkey ? "given" : "tofu", pinnedAt: new Date().toISOString() });
  }

  /** The latest checkpoint, verified and proven consistent with the one verified before. */
  async latestCheckpoint(): Promise<{ checkpoint: Checkpoint; integrity: unknown; previousTreeSize: number | null; trust: TrustSource }> {
    const answer = await this.fetch("checkpoint");
    const trust = await this.trust();
    const checkpoint = await signedCheckpoint(answer, trust.key);
    return { checkpoint, integrity: (answer as Record<string, unknown>).integrity, previousTreeSize: await this.adopt(checkpoint), trust: trust.source };
  }

  /** Whether message `message` (as messaging served it) is in the ledger, proven against a signed checkpoint. */
  async verifyMessage(message: RecordedMessage): Promise<LedgerVerdict> {
    let expected: string;
    try {
      expected = expectedContentHash(message);
    } catch (error) {
      return { status: "failed", problem: reason(error) };
    }
    const entry = await this.entry(`entries/${message.id}`);
    if (entry === null) return { status: "missing", problem: "The ledger has no record of this message yet (it logs a message shortly after it is sent)." };
    const signer = message.sender_key ?? envelopeSender(message.envelope);
    const verdict = await this.verifyEntry(entry, { message_id: message.id }, (leaf) => {
      if (leaf.kind !== "message" || leaf.messageId !== message.id) throw new LedgerVerificationError("the leaf served is not this message's record");
      if (leaf.conversationId !== message.conversation_id) throw new LedgerVerificationError("the ledger records this message in another conversation");
      if (leaf.senderId !== message.sender_id) throw new LedgerVerificationError("the ledger records another sender for this message");
      if (leaf.contentSha256 !== expected) throw new LedgerVerificationError("the ledger records other content for this message");
      if (leaf.signatureFingerprint !== (signer ?? null)) throw new LedgerVerificationError("the ledger records another signing key for this message");
    });
    return { ...verdict, removed: Boolean((entry as Record<string, unknown>).removed) };
  }

  /** Whether key `fingerprint` is registered in the ledger (for `userId` and `purpose` when given). */
  async verifyKey(fingerprint: string, options: { userId?: string; purpose?: KeyPurpose } = {}): Promise<LedgerVerdict> {
    const entry = await this.entry(`entries/keys/${fingerprint}`);
    if (entry === null) return { status: "missing", problem: "The ledger has no record of this key yet." };
    return this.verifyEntry(entry, { fingerprint }, (leaf) => {
      if (leaf.kind !== "key-registered" || leaf.fingerprint !== fingerprint) throw new LedgerVerificationError("the leaf served is not this key's registration");
      if (options.userId && leaf.userId !== options.userId) throw new LedgerVerificationError(`the ledger has this key as user ${leaf.userId}'s`);
      if (options.purpose && leaf.purpose !== options.purpose) throw new LedgerVerificationError(`the ledger has this key as a ${leaf.purpose} key`);
    });
  }

  private async entry(path: string): Promise<unknown | null> {
    try {
      return await this.fetch(path);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  private async verifyEntry(entry: unknown, query: Record<string, string>, namesIt: (leaf: Leaf) => void): Promise<LedgerVerdict> {
    let leaf: Leaf;
    let hashed: Bytes;
    let index: number;
    try {
      const leafBytes = fromBase64(field(entry, "leaf", "string"), "the leaf");
      hashed = leafHash(leafBytes);
      if (toBase64(hashed) !== field(entry, "leaf_hash", "string")) throw new LedgerVerificationError("the leaf hash served is not the hash of the leaf served");
      leaf = decodeLeaf(leafBytes);
      namesIt(leaf);
      index = field(entry, "leaf_index", "number");
    } catch (error) {
      return { status: "failed", problem: reason(error) };
    }
    const blockHeight = (entry as Record<string, unknown>).block_height as number | null | undefined;
    const found: LedgerVerdict = { status: "pending", leaf, leafIndex: index, blockHeight: blockHeight ?? null };
    if (blockHeight === null || blockHeight === undefined) {
      return { ...found, problem: "Logged, but not sealed into a block yet: no signed checkpoint covers it (it will be after the next block)." };
    }
    let answer: unknown;
    try {
      answer = await this.fetch("proofs/inclusion", query);
    } catch (error) {
      if (error instanceof ApiError && error.status < 500 && error.status > 0) {
        return { ...found, status: "failed", problem: `The ledger has it in block ${blockHeight} but gives no inclusion proof (${error.message}).` };
      }
      throw error;
    }
    let trust: Trust | undefined;
    try {
      trust = await this.trust();
      const checkpoint = await signedCheckpoint(field(answer, "checkpoint", "object"), trust.key);
      const previousTreeSize = await this.adopt(checkpoint);
      const proof = answer as Record<string, unknown>;
      if (proof.leaf_index !== index || proof.tree_size !== checkpoint.treeSize) throw new LedgerVerificationError("the inclusion proof is for another leaf or tree size");
      if (field(answer, "leaf_hash", "string") !== toBase64(hashed)) throw new LedgerVerificationError("the inclusion proof is for another leaf hash");
      verifyInclusion(index, checkpoint.treeSize, hashed, hashes(field(answer, "audit_path", "array"), "the audit path"), checkpoint.rootHash);
      return { ...found, status: "verified", treeSize: checkpoint.treeSize, previousTreeSize, trust: trust.source };
    } catch (error) {
      if (!(error instanceof LedgerVerificationError)) throw error;
      return { ...found, status: "failed", problem: reason(error), trust: trust?.source };
    }
  }

  /** Prove `served` consistent with the checkpoint verified before and remember the larger; the size of
   *  the one verified before (null if none). LedgerVerificationError, with the evidence kept, if not. */
  private adopt(served: Checkpoint): Promise<number | null> {
    const run = this.adopting.then(() => this.adoptNow(served));
    this.adopting = run.catch(() => undefined);
    return run;
  }

  private async adoptNow(served: Checkpoint): Promise<number | null> {
    const memory = this.memory.load();
    const stored = memory.checkpoint;
    if (!stored || stored.origin !== served.origin || stored.tree_size === 0) {
      this.remember(served);
      return null;
    }
    if (this.proven.has(served.note) || stored.note === served.note) return stored.tree_size;
    const known: Checkpoint = { origin: stored.origin, treeSize: stored.tree_size, rootHash: fromBase64(stored.root_hash, "the stored root"), note: stored.note };
    // A smaller checkpoint than the one known is a stale answer (a cache, a replica behind): fine if the known one extends it.
    const [older, newer] = known.treeSize <= served.treeSize ? [known, served] : [served, known];
    try {
      const proof = older.treeSize === newer.treeSize ? [] : await this.consistencyProof(older.treeSize, newer.treeSize);
      verifyConsistency(older.treeSize, newer.treeSize, older.rootHash, newer.rootHash, proof);
    } catch (error) {
      if (error instanceof ApiError && (error.status >= 500 || error.status === 0)) throw error;
      const why = `the ledger's checkpoint of size ${served.treeSize} is not consistent with the one of size ${known.treeSize} this browser verified before (${reason(error)}): the log forked or rewrote its history`;
      this.memory.save({ ...memory, forks: [...(memory.forks ?? []), { seen_at: new Date().toISOString(), reason: why, verified_before: known.note, inconsistent: served.note }] });
      throw new LedgerVerificationError(why);
    }
    this.proven.add(served.note);
    if (served.treeSize > known.treeSize) this.remember(served);
    return known.treeSize;
  }

  private remember(checkpoint: Checkpoint): void {
    const memory = this.memory.load();
    this.memory.save({ ...memory, checkpoint: { origin: checkpoint.origin, tree_size: checkpoint.treeSize, root_hash: toBase64(checkpoint.rootHash), note: checkpoint.note, verified_at: new Date().toISOString() } });
  }

  private async consistencyProof(first: number, second: number): Promise<Bytes[]> {
    const answer = await this.fetch("proofs/consistency", { first, second });
    const stated = answer as Record<string, unknown>;
    if (stated.first !== first || stated.second !== second) throw new LedgerVerificationError(`asked for a consistency proof ${first}→${second}, got another`);
    return hashes(field(answer, "proof", "array"), "the consistency proof");
  }
}

export interface RecordedMessage {
  id: string;
  conversation_id: string;
  sender_id: string;
  kind: string;
  content_sha256?: string;
  envelope?: unknown;
  body?: string | null;
  content_salt?: string | null;
  sender_key?: string | null;
}

/** The content hash the ledger must record for `message`, recomputed from what was served. */
export function expectedContentHash(message: RecordedMessage): string {
  let computed: string | undefined;
  if (message.kind === "e2e") computed = contentSha256(readEnvelopeForm(message.envelope));
  else if (typeof message.body === "string" && message.content_salt) computed = sha256Hex(concatBytes(fromBase64(message.content_salt, "content_salt"), utf8(message.body)));
  // A removed standard message has no body left to hash: only the server's statement remains.
  const hash = computed ?? message.content_sha256;
  if (!hash) throw new LedgerVerificationError("this message has no content to check against the ledger");
  if (message.content_sha256 && message.content_sha256 !== hash) throw new LedgerVerificationError("the server's content hash for this message is not the hash of its content");
  return hash;
}

function envelopeSender(envelope: unknown): string | undefined {
  return envelope && typeof envelope === "object" ? ((envelope as Record<string, unknown>).sender_key as string | undefined) : undefined;
}

async function signedCheckpoint(answer: unknown, key: VerifierKey): Promise<Checkpoint> {
  const checkpoint = await verifyCheckpoint(field(answer, "note", "string"), key);
  const stated = answer as Record<string, unknown>;
  if (stated.origin !== checkpoint.origin || stated.tree_size !== checkpoint.treeSize || stated.root_hash !== toBase64(checkpoint.rootHash)) {
    throw new LedgerVerificationError("the checkpoint's fields do not say what its signed note says");
  }
  return checkpoint;
}

function field(answer: unknown, name: string, kind: "string"): string;
function field(answer: unknown, name: string, kind: "number"): number;
function field(answer: unknown, name: string, kind: "array"): unknown[];
function field(answer: unknown, name: string, kind: "object"): Record<string, unknown>;
function field(answer: unknown, name: string, kind: "string" | "number" | "array" | "object"): unknown {
  const value = answer && typeof answer === "object" ? (answer as Record<string, unknown>)[name] : undefined;
  const ok =
    kind === "array" ? Array.isArray(value) : kind === "number" ? Number.isSafeInteger(value) : kind === "object" ? typeof value === "object" && value !== null && !Array.isArray(value) : typeof value === kind;
  if (!ok) throw new LedgerVerificationError(`the ledger's answer has no valid ${JSON.stringify(name)}`);
  return value;
}

function hashes(values: unknown[], what: string): Bytes[] {
  return values.map((value) => {
    if (typeof value !== "string") throw new LedgerVerificationError(`${what} is not a list of base64 hashes`);
    try {
      return fromBase64(value, what);
    } catch {
      throw new LedgerVerificationError(`${what} is not base64`);
    }
  });
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

let shared: LedgerClient | null = null;

function client(): LedgerClient {
  shared ??= new LedgerClient();
  return shared;
}

/** A served message (standard or e2e) proven in the ledger (see the module's comment). */
export function verifyRecorded(message: RecordedMessage): Promise<LedgerVerdict> {
  return client().verifyMessage(message);
}

/** A registered key proven in the ledger (key transparency). */
export function verifyKeyLogged(fingerprint: string, options: { userId?: string; purpose?: KeyPurpose } = {}): Promise<LedgerVerdict> {
  return client().verifyKey(fingerprint, options);
}
