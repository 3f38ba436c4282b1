/**
 * /market: full-text search with filters. The filters are the page URL's query (see search.ts): a
 * search is a link, and the back button returns to the previous one. Results come a page at a time
 * with the API's keyset cursor ("Show more").
 */
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../../api/client";
import { useSession } from "../../api/session";
import { Button, Field, Loaded, Loading, Page, Select } from "../../ui/ui";
import { CONDITION_LABELS, CONDITIONS, MARKET, type Category, type ItemSummary, type Page as ResultPage } from "./api";
import { CategorySelect, useCategories } from "./categories";
import { useFocusFirstInvalid } from "./focus";
import { ItemCard } from "./ItemCard";
import { MarketNav } from "./MarketNav";
import { Paged } from "./Paged";
import { COMMON_CURRENCIES } from "./money";
import { checkFilters, filtersFromUrl, filtersToUrl, SORT_LABELS, SORTS, toApiQuery, type FilterErrors, type Filters } from "./search";
import "./marketplace.css";

const PAGE_SIZE = 24;

function searchItems(filters: Filters, cursor: string | undefined, signal?: AbortSignal) {
  return api<ResultPage<ItemSummary>>(`${MARKET}/items`, { query: { ...toApiQuery(filters), limit: PAGE_SIZE, cursor }, signal });
}

export function SearchPage() {
  const [searchParams, setSearchParams] = useSearchParams();
  const { status } = useSession();
  const categories = useCategories();
  const key = searchParams.toString();
  const filters = filtersFromUrl(searchParams);
  return (
    <Page title="Market">
      <MarketNav />
      <Loaded state={categories}>
        {(list) => (
          // Remounted when the URL changes (back button, a followed link), so the form shows the
          // filters of the search on screen rather than what was last typed.
          <SearchForm key={key} initial={filters} categories={list} onSearch={(next) => setSearchParams(filtersToUrl(next))} />
        )}
      </Loaded>
      <section aria-labelledby="results-heading">
        <h2 id="results-heading">Results</h2>
        {/* A signed-in search hides sellers blocked either way: wait to know who is asking. */}
        {status === "loading" ? <Loading /> : <Results key={`${key}|${status}`} filters={filters} />}
      </section>
    </Page>
  );
}

function SearchForm({ initial, categories, onSearch }: { initial: Filters; categories: Category[]; onSearch: (filters: Filters) => void }) {
  const [filters, setFilters] = useState(initial);
  const [errors, setErrors] = useState<FilterErrors>({});
  const formRef = useFocusFirstInvalid(errors);
  const set = <K extends keyof Filters>(name: K, value: Filters[K]) => setFilters((current) => ({ ...current, [name]: value }));

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = checkFilters(filters);
    setErrors(found);
    if (Object.keys(found).length === 0) onSearch({ ...filters, currency: filters.currency.trim().toUpperCase() });
  }

  return (
    <form ref={formRef} role="search" aria-label="Search items" className="market-search" onSubmit={submit} noValidate>
      <div className="market-search-box">
        <Field label="Search for" type="search" name="q" value={filters.q} placeholder="e.g. oak chair" onChange={(e) => set("q", e.target.value)} />
        <Button type="submit">Search</Button>
      </div>
      <fieldset className="market-filters">
        <legend>Filters</legend>
        <CategorySelect label="Category" anyLabel="All categories" value={filters.category} categories={categories} onChange={(id) => set("category", id)} />
        <Select label="Condition" value={filters.condition} onChange={(e) => set("condition", e.target.value as Filters["condition"])}>
          <option value="">Any condition</option>
          {CONDITIONS.map((condition) => (
            <option key={condition} value={condition}>{CONDITION_LABELS[condition]}</option>
          ))}
        </Select>
        <Field label="Lowest price" name="min" inputMode="decimal" value={filters.min} error={errors.min} onChange={(e) => set("min", e.target.value)} />
        <Field label="Highest price" name="max" inputMode="decimal" value={filters.max} error={errors.max} onChange={(e) => set("max", e.target.value)} />
        <Field label="Currency" name="currency" value={filters.currency} list="market-currencies" maxLength={3} autoCapitalize="characters" hint="Needed for a price range" error={errors.currency} onChange={(e) => set("currency", e.target.value.toUpperCase())} />
        <datalist id="market-currencies">
          {COMMON_CURRENCIES.map((code) => <option key={code} value={code} />)}
        </datalist>
        <div>
          <Select label="Sort by" value={filters.sort} aria-invalid={errors.sort ? true : undefined} aria-describedby={errors.sort ? "market-sort-error" : undefined} onChange={(e) => set("sort", e.target.value as Filters["sort"])}>
            {SORTS.map((sort) => (
              <option key={sort} value={sort}>{SORT_LABELS[sort]}</option>
            ))}
          </Select>
          {errors.sort && <small id="market-sort-error" className="field-error">{errors.sort}</small>}
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={filters.available} onChange={(e) => set("available", e.target.checked)} /> Only items I can buy now
        </label>
      </fieldset>
      <p className="row">
        <Button type="submit" className="button secondary">Apply filters</Button>
        <Link to="/market">Clear all</Link>
      </p>
    </form>
  );
}

function Results({ filters }: { filters: Filters }) {
  return (
    <Paged
      load={(cursor, signal) => searchItems(filters, cursor, signal)}
      summary={(count, more) => (count === 0 ? "No items match this search." : `Showing ${count} ${count === 1 ? "item" : "items"}${more ? "; there are more" : ""}.`)}
    >
      {(items) => (
        <ul className="market-results">
          {items.map((item) => (
            <li key={item.id}>
              <ItemCard item={item} />
            </li>
          ))}
        </ul>
      )}
    </Paged>
  );
}
