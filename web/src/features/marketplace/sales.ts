/** The sales page's figures: the API's revenue by month, per currency, as a chart's bars. */
import type { Sales } from "./api";

/** "2025-06" → the month after it, "2025-07". */
function nextMonth(month: string): string {
  const [year, mon] = month.split("-").map(Number);
  return mon === 12 ? `${year + 1}-01` : `${year}-${String(mon + 1).padStart(2, "0")}`;
}

/**
 * One currency's revenue per month, from its first month with a sale to its last, with the months
 * between that had none as zero: a bar chart with gaps left out would hide them.
 */
export function monthlyRevenue(byMonth: Sales["by_month"], currency: string): { month: string; revenue_minor: number }[] {
  const rows = byMonth.filter((row) => row.currency === currency).sort((a, b) => a.month.localeCompare(b.month));
  if (rows.length === 0) return [];
  const revenue = new Map(rows.map((row) => [row.month, row.revenue_minor]));
  const out: { month: string; revenue_minor: number }[] = [];
  for (let month = rows[0].month; month <= rows[rows.length - 1].month; month = nextMonth(month)) {
    out.push({ month, revenue_minor: revenue.get(month) ?? 0 });
  }
  return out;
}

/** "2025-06" as the reader says it ("Jun 2025"); the month is UTC, as the API counts it. */
export function monthLabel(month: string, locale?: string): string {
  const [year, mon] = month.split("-").map(Number);
  return new Date(Date.UTC(year, mon - 1, 1)).toLocaleString(locale, { month: "short", year: "numeric", timeZone: "UTC" });
}

/** The currencies sold in, the biggest revenue first. */
export function salesCurrencies(sales: Sales): string[] {
  return [...sales.revenue].sort((a, b) => b.revenue_minor - a.revenue_minor).map((row) => row.currency);
}
