// Signed notes, leaves and the whole "recorded in ledger, proof verified" check, against the worked
// example of docs/ledger-formats.md and a small ledger played by a fake fetch (tree, proofs, checkpoints).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { concatBytes, fromBase64, fromHex, sha256, sha256Hex, toBase64, toHex, utf8, type Bytes } from "../crypto/encoding";
import { contentSha256 } from "../crypto/envelope";
import { decodeLeaf } from "./leaves";
import { leafHash, LedgerVerificationError, nodeHash } from "./merkle";
import { noteKeyId, parseVerifierKey, verifyCheckpoint, verifyNote } from "./note";
import { LedgerClient, MemoryLedgerMemory, type LedgerFetch, type RecordedMessage } from "./verify";

const EXAMPLE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const EXAMPLE_NOTE = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

// docs/ledger-formats.md §10.
const LEDGER_VKEY = "beyou.example/ledger+6ca955b3+AT1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM";
const LEDGER_CHECKPOINT = "beyou.example/ledger\n1\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1MI=\n\n— beyou.example/ledger bKlVs5envCYmH0lpt7r+Pw1tY85rlnTg6YLc/tinS6086JTM1LtP+PnEpQfYoz2v942t1BJlim5X3ErXYmKzIJwsGQk=\n";
const MESSAGE_LEAF = "01013f2b8c1e6d4a4b9e8f7c1a2b3c4d5e6fc0de00015a1e4c0a8b1d0000000000a1a11ce000000040008000000000000001111aebc7c2ab9aa14a020934cdd1b73764a07693931fd51ddf4c85cdea3f19f60106e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa900064752550dd240";
const KEY_LEAF = "0201a11ce00000004000800000000000000106e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa901020006473c1ec37600002c302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

describe("signed notes", () => {
  it("the C2SP example verifies, and a changed text or another key does not", async () => {
    const key = parseVerifierKey(EXAMPLE_VKEY);
    expect(await verifyNote(EXAMPLE_NOTE, key)).toBe("This is an example message.\n");
    await expect(verifyNote(EXAMPLE_NOTE.replace("example message", "exemplary message"), key)).rejects.toThrow(/does not verify/);
    const other = parseVerifierKey(LEDGER_VKEY);
    await expect(verifyNote(EXAMPLE_NOTE, other)).rejects.toThrow(/not signed by/);
  });

  it("ignores other signers' lines and refuses malformed notes", async () => {
    const key = parseVerifierKey(EXAMPLE_VKEY);
    const witnessed = EXAMPLE_NOTE + "— witness.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    expect(await verifyNote(witnessed, key)).toBe("This is an example message.\n");
    await expect(verifyNote(EXAMPLE_NOTE.slice(0, -1), key)).rejects.toThrow(/newline/);
    await expect(verifyNote(EXAMPLE_NOTE.replace("This", "Th\tis"), key)).rejects.toThrow(/control/);
    await expect(verifyNote(EXAMPLE_NOTE + "not a signature\n", key)).rejects.toThrow(/not a signature line/);
  });

  it("refuses a verifier key whose id does not match its name and key", () => {
    expect(() => parseVerifierKey(EXAMPLE_VKEY.replace("530d903a", "530d903b"))).toThrow(/id does not match/);
    expect(() => parseVerifierKey("no plus signs")).toThrow(LedgerVerificationError);
  });

  it("the ledger's worked example: its checkpoint verifies to size 1 and the leaf's hash", async () => {
    const checkpoint = await verifyCheckpoint(LEDGER_CHECKPOINT, parseVerifierKey(LEDGER_VKEY));
    expect(checkpoint.treeSize).toBe(1);
    expect(toHex(checkpoint.rootHash)).toBe(toHex(leafHash(fromHex(MESSAGE_LEAF))));
    expect(toHex(leafHash(fromHex(MESSAGE_LEAF)))).toBe("4dc7806daaec1348ae8eac8e009e189e9afcf68a01487b775702802f1e67d4c2");
  });
});

describe("leaves", () => {
  it("decode the worked example's message and key records", () => {
    expect(decodeLeaf(fromHex(MESSAGE_LEAF))).toEqual({
      kind: "message",
      messageId: "3f2b8c1e-6d4a-4b9e-8f7c-1a2b3c4d5e6f",
      conversationId: "c0de0001-5a1e-4c0a-8b1d-0000000000a1",
      senderId: "a11ce000-0000-4000-8000-000000000001",
      contentSha256: "111aebc7c2ab9aa14a020934cdd1b73764a07693931fd51ddf4c85cdea3f19f6",
      signatureFingerprint: "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9",
      createdAtMicros: 1767268800123456n,
    });
    expect(decodeLeaf(fromHex(KEY_LEAF))).toMatchObject({ kind: "key-registered", purpose: "signing", algorithm: "ed25519", fingerprint: "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9" });
  });

  it("refuse unknown kinds, short leaves and trailing bytes", () => {
    expect(() => decodeLeaf(fromHex("0901" + MESSAGE_LEAF.slice(4)))).toThrow(/unknown leaf kind/);
    expect(() => decodeLeaf(fromHex(MESSAGE_LEAF.slice(0, -2)))).toThrow(/too short/);
    expect(() => decodeLeaf(fromHex(MESSAGE_LEAF + "00"))).toThrow(/trailing/);
    expect(() => decodeLeaf(fromHex(KEY_LEAF.replace("d75a98", "d75a99")))).toThrow(/DER is not the key/);
  });
});

// --- a small ledger -----------------------------------------------------------------------------------

function mth(leaves: Bytes[]): Bytes {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0];
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

function auditPath(m: number, leaves: Bytes[]): Bytes[] {
  if (leaves.length <= 1) return [];
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return m < k ? [...auditPath(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...auditPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

function subproof(m: number, leaves: Bytes[], complete: boolean): Bytes[] {
  if (m === leaves.length) return complete ? [] : [mth(leaves)];
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return m <= k ? [...subproof(m, leaves.slice(0, k), complete), mth(leaves.slice(k))] : [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}

const ORIGIN = "test.example/ledger";
const uuidBytes = (id: string) => fromHex(id.replaceAll("-", ""));

function messageLeaf(m: { id: string; conversation: string; sender: string; content: string; signer: string | null }): Bytes {
  const time = new Uint8Array(8);
  new DataView(time.buffer).setBigUint64(0, 1767268800123456n);
  const signed = m.signer ? concatBytes(new Uint8Array([1]), fromHex(m.signer)) : new Uint8Array([0]);
  return concatBytes(new Uint8Array([1, 1]), uuidBytes(m.id), uuidBytes(m.conversation), uuidBytes(m.sender), fromHex(m.content), signed, time);
}

/** A ledger with an Ed25519 key, leaves, checkpoints at chosen sizes and the JSON API's answers. */
class FakeLedger {
  leaves: Bytes[] = [];
  ids = new Map<string, number>();
  sealed = 0;
  vkey = "";
  private key!: CryptoKeyPair;
  private keyId!: Bytes;

  async init(): Promise<this> {
    this.key = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", this.key.publicKey));
    this.keyId = noteKeyId(ORIGIN, raw);
    this.vkey = `${ORIGIN}+${toHex(this.keyId)}+${toBase64(concatBytes(new Uint8Array([1]), raw))}`;
    return this;
  }

  add(id: string, leaf: Bytes): void {
    this.ids.set(id, this.leaves.length);
    this.leaves.push(leaf);
  }

  async checkpoint(size = this.sealed, leaves = this.leaves) {
    const root = mth(leaves.slice(0, size).map(leafHash));
    const body = `${ORIGIN}\n${size}\n${toBase64(root)}\n`;
    const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, this.key.privateKey, utf8(body)));
    return { origin: ORIGIN, tree_size: size, root_hash: toBase64(root), note: `${body}\n— ${ORIGIN} ${toBase64(concatBytes(this.keyId, signature))}\n` };
  }

  fetch: LedgerFetch = async (path, query) => {
    const hashes = this.leaves.map(leafHash);
    if (path === "verifier-key") return { vkey: this.vkey };
    if (path === "checkpoint") return { ...(await this.checkpoint()), integrity: "ok" };
    if (path.startsWith("entries/")) {
      const index = this.ids.get(path.slice("entries/".length));
      if (index === undefined) throw new ApiError(404, { title: "Not found" });
      return { leaf_index: index, leaf: toBase64(this.leaves[index]), leaf_hash: toBase64(hashes[index]), block_height: index < this.sealed ? 0 : null, removed: false };
    }
    if (path === "proofs/inclusion") {
      const index = this.ids.get(String(query?.message_id))!;
      return { leaf_index: index, tree_size: this.sealed, leaf_hash: toBase64(hashes[index]), audit_path: auditPath(index, hashes.slice(0, this.sealed)).map(toBase64), checkpoint: await this.checkpoint() };
    }
    if (path === "proofs/consistency") {
      const [first, second] = [Number(query?.first), Number(query?.second)];
      return { first, second, proof: subproof(first, hashes.slice(0, second), true).map(toBase64) };
    }
    throw new ApiError(404, { title: "Not found" });
  };
}

// The e2e vector of docs/e2e-envelope.md §12, as messaging would serve it.
const VECTORS = JSON.parse(readFileSync(new URL("../../../docs/e2e-vectors.json", import.meta.url), "utf8"));
const VECTOR = VECTORS.envelopes.valid[0];
const ALICE = VECTORS.users.alice.id;
const E2E: RecordedMessage = { id: VECTOR.envelope.message_id, conversation_id: VECTOR.conversation_id, sender_id: ALICE, kind: "e2e", content_sha256: VECTOR.content_sha256, envelope: VECTOR.envelope, sender_key: VECTOR.envelope.sender_key };

function e2eLeaf(content = VECTOR.content_sha256) {
  return messageLeaf({ id: E2E.id, conversation: E2E.conversation_id, sender: ALICE, content, signer: E2E.sender_key! });
}

function filler(ledger: FakeLedger, count: number) {
  for (let i = 0; i < count; i++) ledger.add(crypto.randomUUID(), utf8(`other record ${ledger.leaves.length}`));
}

describe("verifyMessage", () => {
  it("proves an e2e message in a signed checkpoint, pinning the ledger's key on first use", async () => {
    const ledger = await new FakeLedger().init();
    filler(ledger, 5);
    ledger.add(E2E.id, e2eLeaf());
    filler(ledger, 3);
    ledger.sealed = 9;
    const memory = new MemoryLedgerMemory();
    const verdict = await new LedgerClient(ledger.fetch, memory, "").verifyMessage(E2E);
    expect(verdict).toMatchObject({ status: "verified", leafIndex: 5, treeSize: 9, trust: "tofu", previousTreeSize: null });
    expect(memory.memory.vkey).toBe(ledger.vkey);
    const again = await new LedgerClient(ledger.fetch, memory, "").verifyMessage(E2E);
    expect(again).toMatchObject({ status: "verified", trust: "pinned" });
  });

  it("proves the log only grew since the checkpoint verified before", async () => {
    const ledger = await new FakeLedger().init();
    filler(ledger, 2);
    ledger.add(E2E.id, e2eLeaf());
    ledger.sealed = 3;
    const memory = new MemoryLedgerMemory();
    await new LedgerClient(ledger.fetch, memory, "").verifyMessage(E2E);
    filler(ledger, 10);
    ledger.sealed = 13;
    const verdict = await new LedgerClient(ledger.fetch, memory, "").verifyMessage(E2E);
    expect(verdict).toMatchObject({ status: "verified", treeSize: 13, previousTreeSize: 3 });
    expect(memory.memory.checkpoint?.tree_size).toBe(13);
  });

  it("catches a log that rewrote its history, and keeps both checkpoints as evidence", async () => {
    const ledger = await new FakeLedger().init();
    filler(ledger, 2);
    ledger.add(E2E.id, e2eLeaf());
    ledger.sealed = 3;
    const memory = new MemoryLedgerMemory();
    await new LedgerClient(ledger.fetch, memory, "").verifyMessage(E2E);
    ledger.leaves[0] = utf8("a rewritten record");
    filler(ledger, 4);
    ledger.sealed = 7;
    const verdict = await new LedgerClient(ledger.fetch, memory, "").verifyMessage(E2E);
    expect(verdict.status).toBe("failed");
    expect(verdict.problem).toMatch(/forked or rewrote/);
    expect(memory.memory.forks).toHaveLength(1);
    expect(memory.memory.checkpoint?.tree_size).toBe(3);
  });

  it("fails when the ledger records other content, another sender or is signed by another key than pinned", async () => {
    const ledger = await new FakeLedger().init();
    ledger.add(E2E.id, e2eLeaf("00".repeat(32)));
    ledger.sealed = 1;
    expect(await new LedgerClient(ledger.fetch, new MemoryLedgerMemory(), "").verifyMessage(E2E)).toMatchObject({ status: "failed", problem: expect.stringMatching(/other content/) });
    expect(await new LedgerClient(ledger.fetch, new MemoryLedgerMemory(), "").verifyMessage({ ...E2E, sender_id: VECTORS.users.bob.id })).toMatchObject({ status: "failed" });
    const honest = await new FakeLedger().init();
    honest.add(E2E.id, e2eLeaf());
    honest.sealed = 1;
    const impostor = await new FakeLedger().init();
    expect(await new LedgerClient(honest.fetch, new MemoryLedgerMemory(), honest.vkey).verifyMessage(E2E)).toMatchObject({ status: "verified", trust: "given" });
    const verdict = await new LedgerClient(honest.fetch, new MemoryLedgerMemory(), impostor.vkey).verifyMessage(E2E);
    expect(verdict).toMatchObject({ status: "failed", problem: expect.stringMatching(/not signed by/) });
    const pinnedElsewhere = new MemoryLedgerMemory();
    pinnedElsewhere.memory = { vkey: impostor.vkey };
    const changed = await new LedgerClient(honest.fetch, pinnedElsewhere, "").verifyMessage(E2E);
    expect(changed).toMatchObject({ status: "failed", problem: expect.stringMatching(/now serves the verifier key/) });
  });

  it("refuses an envelope whose content hash is not what the server says", async () => {
    const ledger = await new FakeLedger().init();
    ledger.add(E2E.id, e2eLeaf());
    ledger.sealed = 1;
    const verdict = await new LedgerClient(ledger.fetch, new MemoryLedgerMemory(), "").verifyMessage({ ...E2E, content_sha256: "ab".repeat(32) });
    expect(verdict).toMatchObject({ status: "failed", problem: expect.stringMatching(/not the hash of its content/) });
    expect(contentSha256(VECTOR.envelope)).toBe(VECTOR.content_sha256);
  });

  it("says pending before a block seals it, and missing before the ledger has it", async () => {
    const ledger = await new FakeLedger().init();
    ledger.add(E2E.id, e2eLeaf());
    expect(await new LedgerClient(ledger.fetch, new MemoryLedgerMemory(), "").verifyMessage(E2E)).toMatchObject({ status: "pending", leafIndex: 0 });
    expect(await new LedgerClient(ledger.fetch, new MemoryLedgerMemory(), "").verifyMessage({ ...E2E, id: crypto.randomUUID() })).toMatchObject({ status: "missing" });
  });

  it("proves a standard message from its salt and text", async () => {
    const salt = fromBase64("c2FsdHNhbHRzYWx0c2FsdA==");
    const message: RecordedMessage = { id: "5d0c4b6e-8f1a-4e2b-9c3d-7a6b5c4d3e21", conversation_id: VECTOR.conversation_id, sender_id: ALICE, kind: "standard", body: "Hi 👋", content_salt: toBase64(salt), sender_key: null };
    const content = sha256Hex(concatBytes(salt, utf8("Hi 👋")));
    const ledger = await new FakeLedger().init();
    ledger.add(message.id, messageLeaf({ id: message.id, conversation: message.conversation_id, sender: ALICE, content, signer: null }));
    ledger.sealed = 1;
    expect(await new LedgerClient(ledger.fetch, new MemoryLedgerMemory(), "").verifyMessage({ ...message, content_sha256: content })).toMatchObject({ status: "verified" });
    expect(await new LedgerClient(ledger.fetch, new MemoryLedgerMemory(), "").verifyMessage({ ...message, body: "Hi 👋!" })).toMatchObject({ status: "failed" });
  });
});
