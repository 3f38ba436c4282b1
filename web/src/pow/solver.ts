/**
 * Solving auth's registration challenge (hashcash style), exactly as client/beyou/proof_of_work.py:
 * a solution is a nonce (a decimal string) such that SHA-256("<token>:<nonce>") starts with
 * `difficulty` zero bits. Finding one takes 2**difficulty hashes on average, which is what
 * progress is measured against.
 *
 * This module is the pure core (no Worker, no DOM) so that Vitest can check it in Node; worker.ts
 * runs `solve` off the main thread and index.ts is what screens call.
 */
import { sha256 } from "@noble/hashes/sha2";
import { utf8ToBytes } from "@noble/hashes/utils";

export interface Progress {
  /** Hashes tried so far. */
  tried: number;
  /** Hashes a solution takes on average (2**difficulty). */
  expected: number;
}

export interface SolveOptions {
  /** Called now and then with the work done so far (see `progressEveryMs`). */
  onProgress?: (progress: Progress) => void;
  /** At most this often, in milliseconds (a few times a second by default). */
  progressEveryMs?: number;
  /** The first nonce to try (tests start elsewhere than 0). */
  start?: number;
  /** Read the time; injectable so tests do not depend on the machine's speed. */
  now?: () => number;
}

// The clock is read only every this many hashes: reading it per hash would cost more than the hash.
const CLOCK_EVERY = 4096;

function checkDifficulty(difficulty: number): void {
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > 256) {
    throw new RangeError(`a difficulty of ${difficulty} bits cannot be solved`);
  }
}

/** Whether `digest` starts with at least `difficulty` zero bits. */
export function hasLeadingZeroBits(digest: Uint8Array, difficulty: number): boolean {
  const fullBytes = difficulty >>> 3;
  for (let i = 0; i < fullBytes; i++) if (digest[i] !== 0) return false;
  const rest = difficulty & 7;
  return rest === 0 || digest[fullBytes] >>> (8 - rest) === 0;
}

/** Whether `nonce` solves the challenge `token` at `difficulty` (what the server checks). */
export function isSolution(token: string, nonce: string, difficulty: number): boolean {
  checkDifficulty(difficulty);
  return hasLeadingZeroBits(sha256(utf8ToBytes(`${token}:${nonce}`)), difficulty);
}

/** The first nonce from `start` (a decimal string) that solves the challenge. */
export function solve(token: string, difficulty: number, options: SolveOptions = {}): string {
  checkDifficulty(difficulty);
  const { onProgress, progressEveryMs = 250, start = 0, now = () => Date.now() } = options;
  const expected = 2 ** difficulty;
  // "<token>:" is hashed once; each try clones that state into one scratch hash and adds the nonce.
  const prefix = sha256.create().update(utf8ToBytes(`${token}:`));
  let scratch = prefix.clone();
  const digest = new Uint8Array(32);
  let lastReport = now();
  for (let nonce = start; ; nonce++) {
    scratch = prefix._cloneInto(scratch);
    scratch.update(utf8ToBytes(String(nonce)));
    scratch.digestInto(digest);
    if (hasLeadingZeroBits(digest, difficulty)) {
      onProgress?.({ tried: nonce - start + 1, expected });
      return String(nonce);
    }
    if (onProgress && (nonce - start) % CLOCK_EVERY === 0) {
      const time = now();
      if (time - lastReport >= progressEveryMs) {
        lastReport = time;
        onProgress({ tried: nonce - start + 1, expected });
      }
    }
    if (nonce === Number.MAX_SAFE_INTEGER) throw new RangeError("no solution below 2**53");
  }
}
