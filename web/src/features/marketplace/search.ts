/**
 * The search screen's filters live in the page URL (so a search can be linked, bookmarked and
 * walked back with the browser's back button). This module reads them from and writes them to
 * the URL, and turns them into the API's query (prices in minor units of the chosen currency).
 */
import { CONDITIONS, type Condition } from "./api";
import { parseMajor } from "./money";

export const SORTS = ["newest", "price_asc", "price_desc", "relevance"] as const;
export type Sort = (typeof SORTS)[number];

export const SORT_LABELS: Record<Sort, string> = {
  newest: "Newest first",
  price_asc: "Price, lowest first",
  price_desc: "Price, highest first",
  relevance: "Best match (needs search words)",
};

/** What the search form shows; prices as typed (major units). */
export interface Filters {
  q: string;
  category: string;
  min: string;
  max: string;
  currency: string;
  condition: Condition | "";
  available: boolean;
  sort: Sort;
}

export const NO_FILTERS: Filters = { q: "", category: "", min: "", max: "", currency: "", condition: "", available: false, sort: "newest" };

export function filtersFromUrl(params: URLSearchParams): Filters {
  const condition = params.get("condition") ?? "";
  const sort = params.get("sort") ?? "newest";
  return {
    q: params.get("q") ?? "",
    category: params.get("category") ?? "",
    min: params.get("min") ?? "",
    max: params.get("max") ?? "",
    currency: (params.get("currency") ?? "").toUpperCase(),
    condition: (CONDITIONS as readonly string[]).includes(condition) ? (condition as Condition) : "",
    available: params.get("available") === "1",
    sort: (SORTS as readonly string[]).includes(sort) ? (sort as Sort) : "newest",
  };
}

/** The URL query for these filters; defaults are left out so links stay short. */
export function filtersToUrl(filters: Filters): URLSearchParams {
  const params = new URLSearchParams();
  const set = (name: string, value: string) => {
    if (value.trim()) params.set(name, value.trim());
  };
  set("q", filters.q);
  set("category", filters.category);
  set("min", filters.min);
  set("max", filters.max);
  set("currency", filters.currency.toUpperCase());
  set("condition", filters.condition);
  if (filters.available) params.set("available", "1");
  if (filters.sort !== "newest") params.set("sort", filters.sort);
  return params;
}

export type ApiSearchQuery = Record<string, string | number | boolean | undefined>;

/** Field name → message: why these filters cannot be searched as they are. */
export type FilterErrors = Partial<Record<keyof Filters, string>>;

export function checkFilters(filters: Filters): FilterErrors {
  const errors: FilterErrors = {};
  const currency = filters.currency.trim().toUpperCase();
  if (currency && !/^[A-Z]{3}$/.test(currency)) errors.currency = "A currency is a three-letter code, like EUR.";
  for (const name of ["min", "max"] as const) {
    if (!filters[name].trim()) continue;
    // Prices only compare within one currency: the API wants one named with a price filter.
    if (!currency) errors[name] = "Choose a currency to filter by price.";
    else if (!errors.currency && parseMajor(filters[name], currency) === null) errors[name] = `Enter an amount like 12.50.`;
  }
  if (!errors.min && !errors.max && filters.min.trim() && filters.max.trim() && currency) {
    if ((parseMajor(filters.min, currency) ?? 0) > (parseMajor(filters.max, currency) ?? 0)) errors.max = "The highest price is below the lowest.";
  }
  if (filters.sort === "relevance" && !filters.q.trim()) errors.sort = "Sorting by best match needs search words.";
  return errors;
}

/**
 * The API's query (GET /items) for filters that passed `checkFilters`; a filter that cannot be
 * used (a price without a currency, in a hand-edited link) is left out rather than guessed.
 */
export function toApiQuery(filters: Filters): ApiSearchQuery {
  const currency = filters.currency.trim().toUpperCase();
  const validCurrency = /^[A-Z]{3}$/.test(currency) ? currency : undefined;
  const price = (text: string) => (validCurrency && text.trim() ? (parseMajor(text, validCurrency) ?? undefined) : undefined);
  const q = filters.q.trim() || undefined;
  return {
    q,
    category: filters.category || undefined,
    min_price: price(filters.min),
    max_price: price(filters.max),
    currency: validCurrency,
    condition: filters.condition || undefined,
    available: filters.available || undefined,
    sort: filters.sort === "relevance" && !q ? undefined : filters.sort === "newest" ? undefined : filters.sort,
  };
}
