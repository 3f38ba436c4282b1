import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { Attempt } from "./attempt";

function counter() {
  let n = 0;
  return () => `key-${++n}`;
}

describe("idempotency keys per checkout or pay attempt", () => {
  it("retries with the same key when no answer came back", async () => {
    const attempt = new Attempt(counter());
    const sent: string[] = [];
    const failing = (key: string) => {
      sent.push(key);
      return Promise.reject(new ApiError(0, { title: "Network error" }));
    };
    await expect(attempt.run({ a: 1 }, failing)).rejects.toThrow();
    await expect(attempt.run({ a: 1 }, (key) => { sent.push(key); return Promise.reject(new ApiError(502, { title: "Bad gateway" })); })).rejects.toThrow();
    await attempt.run({ a: 1 }, async (key) => { sent.push(key); return "ok"; });
    expect(sent).toEqual(["key-1", "key-1", "key-1"]);
  });

  it("starts a new attempt after an answer, success or refusal", async () => {
    const attempt = new Attempt(counter());
    const sent: string[] = [];
    await expect(attempt.run({ card: "0002" }, (key) => { sent.push(key); return Promise.reject(new ApiError(402, { title: "Payment failed" })); })).rejects.toThrow();
    await attempt.run({ card: "0002" }, async (key) => { sent.push(key); });
    await attempt.run({ card: "0002" }, async (key) => { sent.push(key); });
    expect(sent).toEqual(["key-1", "key-2", "key-3"]);
  });

  it("takes a new key when the request changes", () => {
    const attempt = new Attempt(counter());
    expect(attempt.keyFor({ city: "Berlin" })).toBe("key-1");
    expect(attempt.keyFor({ city: "Berlin" })).toBe("key-1");
    expect(attempt.keyFor({ city: "Paris" })).toBe("key-2");
  });

  it("uses random UUIDs by default", () => {
    expect(new Attempt().keyFor({})).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
