// RFC 9162 proofs against transparency-dev's vectors (the shared testdata, as the ledger's and the CLI's tests).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fromBase64, fromHex, toHex } from "../crypto/encoding";
import { leafHash, LedgerVerificationError, nodeHash, verifyConsistency, verifyInclusion } from "./merkle";

const VECTORS = fileURLToPath(new URL("../../../../shared/testdata/rfc9162", import.meta.url));

function vectors(kind: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".json")) found.push(path);
    }
  };
  walk(join(VECTORS, kind));
  return found;
}

const INCLUSION = vectors("inclusion");
const CONSISTENCY = vectors("consistency");
const read = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const decode = (values: string[] | null) => (values ?? []).map((value) => fromBase64(value));

it("the shared vectors are there, with valid and invalid cases", () => {
  for (const paths of [INCLUSION, CONSISTENCY]) {
    expect(paths.length).toBeGreaterThan(50);
    expect(new Set(paths.map((path) => read(path).wantErr))).toEqual(new Set([true, false]));
  }
});

describe("inclusion proofs", () => {
  for (const path of INCLUSION) {
    const vector = read(path);
    it(`${relative(VECTORS, path)}: ${vector.wantErr ? "refused" : "accepted"}`, () => {
      const check = () => verifyInclusion(vector.leafIdx, vector.treeSize, fromBase64(vector.leafHash), decode(vector.proof), fromBase64(vector.root));
      if (vector.wantErr) expect(check).toThrow(LedgerVerificationError);
      else expect(check).not.toThrow();
    });
  }
});

describe("consistency proofs", () => {
  for (const path of CONSISTENCY) {
    const vector = read(path);
    it(`${relative(VECTORS, path)}: ${vector.wantErr ? "refused" : "accepted"}`, () => {
      const check = () => verifyConsistency(vector.size1, vector.size2, fromBase64(vector.root1), fromBase64(vector.root2), decode(vector.proof));
      if (vector.wantErr) expect(check).toThrow(LedgerVerificationError);
      else expect(check).not.toThrow();
    });
  }
});

it("hashes leaves and nodes with RFC 9162's domain separation", () => {
  // The 8 leaves behind the vectors: their tree's root is the README's.
  const leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map((hex) => leafHash(fromHex(hex)));
  let level = leaves;
  while (level.length > 1) level = level.flatMap((_, i) => (i % 2 ? [] : [nodeHash(level[i], level[i + 1])]));
  expect(toHex(level[0])).toBe("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
});

it("handles indexes and sizes beyond 32 bits", () => {
  // A single-leaf path at index 2^32 in a tree of 2^32 + 1 leaves: the last leaf's only sibling is the left subtree.
  const leaf = leafHash(fromHex("01"));
  const left = leafHash(fromHex("02"));
  expect(() => verifyInclusion(2 ** 32, 2 ** 32 + 1, leaf, [left], nodeHash(left, leaf))).not.toThrow();
});
