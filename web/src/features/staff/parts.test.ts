import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration } from "./parts";

describe("staff page formatting", () => {
  it("gives document sizes in the unit that reads best", () => {
    expect(formatBytes(68)).toBe("68 B");
    expect(formatBytes(12_288)).toBe("12.0 KB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MB");
  });

  it("gives a suspension's length in the largest whole unit", () => {
    expect(formatDuration(86_400)).toBe("1 day");
    expect(formatDuration(3 * 86_400)).toBe("3 days");
    expect(formatDuration(7_200)).toBe("2 hours");
    expect(formatDuration(90)).toBe("90 seconds");
    expect(formatDuration(1)).toBe("1 second");
  });
});
