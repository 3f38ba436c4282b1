import { describe, expect, it } from "vitest";
import { formatDuration, secondsLeft } from "./countdown";

describe("the reservation countdown", () => {
  it("counts whole seconds left and stops at zero", () => {
    const until = "2030-01-01T00:10:00Z";
    expect(secondsLeft(until, Date.parse("2030-01-01T00:00:00Z"))).toBe(600);
    expect(secondsLeft(until, Date.parse("2030-01-01T00:09:59.500Z"))).toBe(1);
    expect(secondsLeft(until, Date.parse("2030-01-01T00:10:01Z"))).toBe(0);
  });

  it("reads as minutes and seconds, with hours when there are some", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(245)).toBe("4:05");
    expect(formatDuration(3723)).toBe("1:02:03");
  });
});
