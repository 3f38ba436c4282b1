import { describe, expect, it } from "vitest";
import { hasLeadingZeroBits, isSolution, solve, type Progress } from "./solver";

// Solved with client/beyou/proof_of_work.py (the CLI's solver, which the server accepts):
//   solve(TOKEN, 16) == "3147" and solve(TOKEN, 20) == "797105"; SHA-256("<TOKEN>:3147") = 00008a42eb...
const TOKEN = "eyJpZCI6ImZpeGVkIiwiZGlmZmljdWx0eSI6MTYsImV4cCI6MH0.test-vector";

describe("the proof-of-work solver", () => {
  it("accepts the solution the CLI's solver found", () => {
    expect(isSolution(TOKEN, "3147", 16)).toBe(true);
    expect(isSolution(TOKEN, "797105", 20)).toBe(true);
  });

  it("refuses a nonce that does not solve the challenge", () => {
    expect(isSolution(TOKEN, "3146", 16)).toBe(false);
    expect(isSolution(TOKEN, "3147", 20)).toBe(false); // 16 zero bits are not 20
    expect(isSolution(`${TOKEN}x`, "3147", 16)).toBe(false); // the nonce belongs to its token
  });

  it("finds the same first solution as the CLI", () => {
    expect(solve(TOKEN, 16)).toBe("3147");
    expect(solve(TOKEN, 8)).toBe("0");
  });

  it("solves a fresh low-difficulty challenge with a nonce the verifier accepts", () => {
    const token = `fresh-${Math.random()}`;
    const nonce = solve(token, 12);
    expect(isSolution(token, nonce, 12)).toBe(true);
    expect(/^(0|[1-9][0-9]*)$/.test(nonce)).toBe(true); // a decimal string, as the server parses it
  });

  it("reports progress against the expected work, ending with the hashes tried", () => {
    const reports: Progress[] = [];
    let clock = 0;
    // Each clock read advances a second, so every check of the clock reports.
    solve(TOKEN, 16, { onProgress: (p) => reports.push(p), now: () => (clock += 1000) });
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.every((p) => p.expected === 2 ** 16)).toBe(true);
    expect(reports.at(-1)).toEqual({ tried: 3148, expected: 2 ** 16 });
  });

  it("counts leading zero bits across byte boundaries", () => {
    const digest = new Uint8Array(32);
    digest[1] = 0b0001_0000; // 8 + 3 zero bits, then a one
    expect(hasLeadingZeroBits(digest, 11)).toBe(true);
    expect(hasLeadingZeroBits(digest, 12)).toBe(false);
    expect(hasLeadingZeroBits(new Uint8Array(32), 256)).toBe(true);
    expect(hasLeadingZeroBits(new Uint8Array(32).fill(0x80), 0)).toBe(true);
    expect(hasLeadingZeroBits(new Uint8Array(32).fill(0x80), 1)).toBe(false);
  });

  it("refuses a difficulty no hash can meet", () => {
    expect(() => solve(TOKEN, 257)).toThrow(RangeError);
    expect(() => isSolution(TOKEN, "0", -1)).toThrow(RangeError);
  });
});
