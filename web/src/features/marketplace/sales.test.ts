import { describe, expect, it } from "vitest";
import { monthLabel, monthlyRevenue, salesCurrencies } from "./sales";

const byMonth = [
  { month: "2025-11", currency: "EUR", revenue_minor: 1000, units: 1 },
  { month: "2026-02", currency: "EUR", revenue_minor: 2500, units: 2 },
  { month: "2025-12", currency: "USD", revenue_minor: 700, units: 1 },
];

describe("revenue by month", () => {
  it("keeps one currency and fills the months without sales with zero", () => {
    expect(monthlyRevenue(byMonth, "EUR")).toEqual([
      { month: "2025-11", revenue_minor: 1000 },
      { month: "2025-12", revenue_minor: 0 },
      { month: "2026-01", revenue_minor: 0 },
      { month: "2026-02", revenue_minor: 2500 },
    ]);
    expect(monthlyRevenue(byMonth, "USD")).toEqual([{ month: "2025-12", revenue_minor: 700 }]);
    expect(monthlyRevenue(byMonth, "GBP")).toEqual([]);
  });

  it("labels months in UTC, as the API counts them", () => {
    expect(monthLabel("2026-01", "en-GB")).toBe("Jan 2026");
    expect(monthLabel("2025-12", "en-US")).toBe("Dec 2025");
  });

  it("lists the biggest currency first", () => {
    const sales = { revenue: [{ currency: "USD", revenue_minor: 700, units: 1, orders: 1 }, { currency: "EUR", revenue_minor: 3500, units: 3, orders: 2 }], units: 4, unique_buyers: 2, by_month: byMonth, by_item: [] };
    expect(salesCurrencies(sales)).toEqual(["EUR", "USD"]);
  });
});
