/**
 * RFC 9162 §2.1 Merkle tree proofs with SHA-256, as docs/ledger-formats.md §3 and
 * client/beyou/ledger.py verify them: inclusion (§2.1.3.2) and consistency (§2.1.4.2).
 */
import { concatBytes, equalBytes, sha256, type Bytes } from "../crypto/encoding";

export const HASH_SIZE = 32;

export class LedgerVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LedgerVerificationError";
  }
}

export function leafHash(leaf: Uint8Array): Bytes {
  return sha256(concatBytes(new Uint8Array([0]), leaf));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Bytes {
  return sha256(concatBytes(new Uint8Array([1]), left, right));
}

function checkHashes(hashes: Uint8Array[]): void {
  if (hashes.some((node) => node.length !== HASH_SIZE)) {
    throw new LedgerVerificationError("a proof node (or the leaf hash, or the root) is not a SHA-256 hash");
  }
}

function checkSize(value: number, what: string): void {
  // Sizes and indexes beyond 2^53 cannot be told apart in a JavaScript number.
  if (!Number.isSafeInteger(value) || value < 0) throw new LedgerVerificationError(`${what} is not a tree size or index`);
}

/** That the leaf hash `leaf` is at `index` in the tree of `size` leaves whose root is `root`. */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: Uint8Array[], root: Uint8Array): void {
  checkSize(index, "the leaf index");
  checkSize(size, "the tree size");
  if (!(index < size)) throw new LedgerVerificationError(`leaf index ${index} is outside a tree of ${size} leaves`);
  checkHashes([leaf, root, ...proof]);
  // BigInt: the shifts below are on 64-bit values, and JavaScript's bit operators stop at 32 bits.
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let result: Uint8Array = leaf;
  for (const sibling of proof) {
    if (sn === 0n) throw new LedgerVerificationError("the inclusion proof is too long");
    if (fn & 1n || fn === sn) {
      result = nodeHash(sibling, result);
      while (!(fn & 1n) && fn) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      result = nodeHash(result, sibling);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new LedgerVerificationError("the inclusion proof is too short");
  if (!equalBytes(result, root)) throw new LedgerVerificationError("the inclusion proof does not lead to the checkpoint's root");
}

/** That the tree of `second` leaves (root `root2`) extends the tree of `first` leaves (root `root1`). */
export function verifyConsistency(first: number, second: number, root1: Uint8Array, root2: Uint8Array, proof: Uint8Array[]): void {
  checkSize(first, "the first size");
  checkSize(second, "the second size");
  if (!(first <= second)) throw new LedgerVerificationError(`no consistency between sizes ${first} and ${second}`);
  // Every tree extends the empty one: such a "proof" proves nothing, and is refused as meaningless.
  if (first === 0) throw new LedgerVerificationError("a consistency proof from the empty tree proves nothing");
  if (first === second) {
    if (proof.length) throw new LedgerVerificationError("equal sizes need an empty consistency proof");
    if (!equalBytes(root1, root2)) throw new LedgerVerificationError("two different roots for the same tree size");
    return;
  }
  if (!proof.length) throw new LedgerVerificationError("the consistency proof is empty");
  checkHashes(proof);
  // When `first` is a power of two, its root is a node of the second tree and the proof omits it.
  const path = BigInt(first) & (BigInt(first) - 1n) ? [...proof] : [root1, ...proof];
  let fn = BigInt(first - 1);
  let sn = BigInt(second - 1);
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let firstRoot: Uint8Array = path[0];
  let secondRoot: Uint8Array = path[0];
  for (const node of path.slice(1)) {
    if (sn === 0n) throw new LedgerVerificationError("the consistency proof is too long");
    if (fn & 1n || fn === sn) {
      firstRoot = nodeHash(node, firstRoot);
      secondRoot = nodeHash(node, secondRoot);
      while (!(fn & 1n) && fn) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      secondRoot = nodeHash(secondRoot, node);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new LedgerVerificationError("the consistency proof is too short");
  if (!equalBytes(firstRoot, root1) || !equalBytes(secondRoot, root2)) {
    throw new LedgerVerificationError("the consistency proof does not lead to both roots");
  }
}
