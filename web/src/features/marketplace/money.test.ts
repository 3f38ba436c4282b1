import { describe, expect, it } from "vitest";
import { currencyDigits, parseMajor, toMajorText } from "./money";

describe("prices typed as major units", () => {
  it("knows each currency's minor digits", () => {
    expect(currencyDigits("EUR")).toBe(2);
    expect(currencyDigits("JPY")).toBe(0);
    expect(currencyDigits("BHD")).toBe(3);
  });

  it("reads dots, commas and missing decimals", () => {
    expect(parseMajor("12.50", "EUR")).toBe(1250);
    expect(parseMajor("12,5", "EUR")).toBe(1250);
    expect(parseMajor("12", "EUR")).toBe(1200);
    expect(parseMajor(" 0.07 ", "EUR")).toBe(7);
    expect(parseMajor("1500", "JPY")).toBe(1500);
    expect(parseMajor("1.250", "BHD")).toBe(1250);
  });

  it("refuses what is not a plain amount instead of rounding it", () => {
    expect(parseMajor("12.505", "EUR")).toBeNull();
    expect(parseMajor("15.5", "JPY")).toBeNull();
    expect(parseMajor("-3", "EUR")).toBeNull();
    expect(parseMajor("1,000.00", "EUR")).toBeNull();
    expect(parseMajor("", "EUR")).toBeNull();
    expect(parseMajor("abc", "EUR")).toBeNull();
  });

  it("accepts trailing zeros beyond the currency's digits", () => {
    expect(parseMajor("1500.00", "JPY")).toBe(1500);
  });

  it("writes minor units back as the input's text", () => {
    expect(toMajorText(1250, "EUR")).toBe("12.50");
    expect(toMajorText(7, "EUR")).toBe("0.07");
    expect(toMajorText(0, "EUR")).toBe("0.00");
    expect(toMajorText(1500, "JPY")).toBe("1500");
    expect(parseMajor(toMajorText(123456, "EUR"), "EUR")).toBe(123456);
  });
});
