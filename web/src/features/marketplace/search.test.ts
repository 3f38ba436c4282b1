import { describe, expect, it } from "vitest";
import { checkFilters, filtersFromUrl, filtersToUrl, NO_FILTERS, toApiQuery } from "./search";

describe("search filters in the URL", () => {
  it("round-trips every filter through the URL", () => {
    const filters = { q: "oak chair", category: "c1", min: "10", max: "99.50", currency: "EUR", condition: "like_new" as const, available: true, sort: "price_asc" as const };
    const url = filtersToUrl(filters);
    expect(url.toString()).toBe("q=oak+chair&category=c1&min=10&max=99.50&currency=EUR&condition=like_new&available=1&sort=price_asc");
    expect(filtersFromUrl(url)).toEqual(filters);
  });

  it("leaves defaults out of the URL", () => {
    expect(filtersToUrl(NO_FILTERS).toString()).toBe("");
  });

  it("ignores unknown values in a hand-edited link", () => {
    expect(filtersFromUrl(new URLSearchParams("condition=broken&sort=random&currency=eur"))).toEqual({ ...NO_FILTERS, currency: "EUR" });
  });
});

describe("the API's search query", () => {
  it("sends prices in the currency's minor units", () => {
    expect(toApiQuery({ ...NO_FILTERS, min: "10", max: "99.5", currency: "EUR" })).toMatchObject({ min_price: 1000, max_price: 9950, currency: "EUR" });
    expect(toApiQuery({ ...NO_FILTERS, min: "1500", currency: "JPY" })).toMatchObject({ min_price: 1500 });
  });

  it("drops a price it cannot read instead of guessing its currency", () => {
    const query = toApiQuery({ ...NO_FILTERS, min: "10" });
    expect(query.min_price).toBeUndefined();
    expect(query.currency).toBeUndefined();
  });

  it("asks for relevance only with search words", () => {
    expect(toApiQuery({ ...NO_FILTERS, sort: "relevance" }).sort).toBeUndefined();
    expect(toApiQuery({ ...NO_FILTERS, q: "lamp", sort: "relevance" }).sort).toBe("relevance");
    expect(toApiQuery({ ...NO_FILTERS, available: true }).available).toBe(true);
  });
});

describe("checking the filters before a search", () => {
  it("wants a currency with a price", () => {
    expect(checkFilters({ ...NO_FILTERS, max: "5" })).toEqual({ max: "Choose a currency to filter by price." });
  });

  it("refuses a range upside down, a bad amount and a bad currency", () => {
    expect(checkFilters({ ...NO_FILTERS, min: "50", max: "5", currency: "EUR" })).toEqual({ max: "The highest price is below the lowest." });
    expect(checkFilters({ ...NO_FILTERS, min: "five", currency: "EUR" })).toEqual({ min: "Enter an amount like 12.50." });
    expect(checkFilters({ ...NO_FILTERS, currency: "EURO" })).toEqual({ currency: "A currency is a three-letter code, like EUR." });
    expect(checkFilters({ ...NO_FILTERS, sort: "relevance" })).toEqual({ sort: "Sorting by best match needs search words." });
  });

  it("accepts a sound search", () => {
    expect(checkFilters({ ...NO_FILTERS, q: "lamp", min: "5", max: "50", currency: "EUR", sort: "relevance" })).toEqual({});
  });
});
