import { describe, expect, it } from "vitest";
import {
  apiQuery,
  filtersFromParams,
  isoToLocalInput,
  localInputToIso,
  mapLimited,
  MAX_BUCKETS,
  paramsFromFilters,
  periodBuckets,
  startOfPeriod,
} from "./loginActivityFilters";

describe("login-activity filters in the address bar", () => {
  it("read back what they wrote, leaving defaults and empty values out", () => {
    const filters = filtersFromParams(new URLSearchParams("username=Alice&success=false&from=2025-01-02T03:04:00Z&period=hour&cursor=abc"));
    expect(filters).toEqual({
      username: "Alice",
      ip: "",
      success: "false",
      from: "2025-01-02T03:04:00.000Z",
      to: "",
      period: "hour",
      cursor: "abc",
    });
    expect(paramsFromFilters(filters).toString()).toBe("username=Alice&success=false&from=2025-01-02T03%3A04%3A00.000Z&period=hour&cursor=abc");
    expect(paramsFromFilters({ ...filters, period: "day", username: "", success: "", from: "", cursor: "" }).toString()).toBe("");
  });

  it("ignore values the API would refuse instead of sending them", () => {
    const filters = filtersFromParams(new URLSearchParams("success=maybe&from=yesterday&period=month"));
    expect(filters.success).toBe("");
    expect(filters.from).toBe("");
    expect(filters.period).toBe("day");
  });

  it("become the API's query: success as a boolean, blanks left out", () => {
    const filters = filtersFromParams(new URLSearchParams("ip=10.0.0.1&success=true&period=week"));
    expect(apiQuery(filters)).toEqual({ username: undefined, ip: "10.0.0.1", success: true, from: undefined, to: undefined });
    expect(apiQuery({ ...filters, success: "false" }).success).toBe(false);
    expect(apiQuery({ ...filters, success: "" }).success).toBeUndefined();
  });

  it("convert between datetime-local inputs (local time) and UTC instants", () => {
    const local = "2025-03-04T05:06";
    const iso = localInputToIso(local);
    expect(iso).toBe(new Date(2025, 2, 4, 5, 6).toISOString());
    expect(isoToLocalInput(iso)).toBe(local);
    expect(localInputToIso("")).toBe("");
    expect(isoToLocalInput("not a date")).toBe("");
  });
});

describe("periods of the per-period chart", () => {
  it("start hours at :00, days at midnight and weeks on Monday", () => {
    const thursday = new Date(2025, 0, 16, 15, 42, 7); // Thursday 16 January 2025
    expect(startOfPeriod(thursday, "hour")).toEqual(new Date(2025, 0, 16, 15));
    expect(startOfPeriod(thursday, "day")).toEqual(new Date(2025, 0, 16));
    expect(startOfPeriod(thursday, "week")).toEqual(new Date(2025, 0, 13));
    expect(startOfPeriod(new Date(2025, 0, 19, 23), "week")).toEqual(new Date(2025, 0, 13)); // a Sunday
  });

  it("cover the last 14 days by default, the last ending now", () => {
    const now = new Date(2025, 0, 16, 15, 42);
    const { buckets, truncated } = periodBuckets("day", {}, now, "en-GB");
    expect(truncated).toBe(false);
    expect(buckets).toHaveLength(14);
    expect(buckets[0].from).toEqual(new Date(2025, 0, 3));
    expect(buckets[13].from).toEqual(new Date(2025, 0, 16));
    expect(buckets[13].to).toEqual(now);
    expect(buckets[13].label).toBe("16 Jan");
    // Back to back: no attempt is counted twice or missed.
    for (let i = 1; i < buckets.length; i++) expect(buckets[i].from).toEqual(buckets[i - 1].to);
  });

  it("are clamped to a chosen range so that they add up to its totals", () => {
    const from = new Date(2025, 0, 10, 9, 30).toISOString();
    const to = new Date(2025, 0, 10, 12, 15).toISOString();
    const { buckets } = periodBuckets("hour", { from, to }, new Date(2025, 5, 1), "en-GB");
    expect(buckets.map((b) => [b.from.toISOString(), b.to.toISOString()])).toEqual([
      [from, new Date(2025, 0, 10, 10).toISOString()],
      [new Date(2025, 0, 10, 10).toISOString(), new Date(2025, 0, 10, 11).toISOString()],
      [new Date(2025, 0, 10, 11).toISOString(), new Date(2025, 0, 10, 12).toISOString()],
      [new Date(2025, 0, 10, 12).toISOString(), to],
    ]);
    // A bar is labelled with when it starts: the first one at the range's own start.
    expect(buckets.map((b) => b.label)).toEqual(["09:30", "10:00", "11:00", "12:00"]);
  });

  it("have unique labels, dating the hours when the range spans days", () => {
    const now = new Date(2025, 0, 16, 15, 42);
    const { buckets } = periodBuckets("hour", {}, now, "en-GB");
    expect(buckets).toHaveLength(24);
    const labels = buckets.map((b) => b.label);
    expect(new Set(labels).size).toBe(24);
    expect(labels[0]).toContain("15 Jan");
  });

  it("keep only the most recent periods of a long range, and say so", () => {
    const { buckets, truncated } = periodBuckets("day", { from: new Date(2024, 0, 1).toISOString(), to: new Date(2025, 0, 1).toISOString() }, new Date(), "en-GB");
    expect(truncated).toBe(true);
    expect(buckets).toHaveLength(MAX_BUCKETS);
    expect(buckets[MAX_BUCKETS - 1].to).toEqual(new Date(2025, 0, 1));
  });

  it("are none for an empty or reversed range", () => {
    const at = new Date(2025, 0, 1).toISOString();
    expect(periodBuckets("day", { from: at, to: at }, new Date(), "en-GB").buckets).toEqual([]);
  });
});

describe("mapLimited", () => {
  it("keeps the inputs' order and never runs more than the limit at once", async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimited([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, n));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });
});
