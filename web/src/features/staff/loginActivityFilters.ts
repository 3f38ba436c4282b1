/**
 * The login-activity dashboard's state as it lives in the address bar (so a filtered view can be
 * reloaded, shared and stepped back through), and the periods of its "per period" chart.
 *
 * Pure functions only: the screen reads and writes URLSearchParams through them, and the unit
 * tests check them without a browser.
 */
import type { LoginActivityQuery } from "./staffApi";

export type Period = "hour" | "day" | "week";
export const PERIODS: Period[] = ["hour", "day", "week"];
export type SuccessFilter = "" | "true" | "false";

export interface LoginActivityFilters {
  username: string;
  ip: string;
  success: SuccessFilter;
  /** ISO-8601 UTC, or "" for no bound. */
  from: string;
  to: string;
  period: Period;
  /** The opaque cursor of the page shown ("" for the first page). */
  cursor: string;
}

export const DEFAULT_PERIOD: Period = "day";

function validIso(value: string | null): string {
  if (!value) return "";
  return Number.isNaN(Date.parse(value)) ? "" : new Date(value).toISOString();
}

export function filtersFromParams(params: URLSearchParams): LoginActivityFilters {
  const success = params.get("success");
  const period = params.get("period");
  return {
    username: params.get("username")?.trim() ?? "",
    ip: params.get("ip")?.trim() ?? "",
    success: success === "true" || success === "false" ? success : "",
    from: validIso(params.get("from")),
    to: validIso(params.get("to")),
    period: PERIODS.includes(period as Period) ? (period as Period) : DEFAULT_PERIOD,
    cursor: params.get("cursor") ?? "",
  };
}

/** The address-bar form of `filters`: empty values and the default period left out. */
export function paramsFromFilters(filters: LoginActivityFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.username) params.set("username", filters.username);
  if (filters.ip) params.set("ip", filters.ip);
  if (filters.success) params.set("success", filters.success);
  if (filters.from) params.set("from", filters.from);
  if (filters.to) params.set("to", filters.to);
  if (filters.period !== DEFAULT_PERIOD) params.set("period", filters.period);
  if (filters.cursor) params.set("cursor", filters.cursor);
  return params;
}

/** What the attempts endpoint is asked (the period and cursor are not filters). */
export function apiQuery(filters: LoginActivityFilters): LoginActivityQuery {
  return {
    username: filters.username || undefined,
    ip: filters.ip || undefined,
    success: filters.success === "" ? undefined : filters.success === "true",
    from: filters.from || undefined,
    to: filters.to || undefined,
  };
}

const pad = (n: number) => String(n).padStart(2, "0");

/** An ISO instant as the value of an `<input type="datetime-local">` (the reader's local time). */
export function isoToLocalInput(iso: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (local time, no zone) as an ISO instant in UTC; "" when empty or invalid. */
export function localInputToIso(value: string): string {
  if (!value) return "";
  // "YYYY-MM-DDTHH:mm" without a zone is read as local time by Date, which is what the reader typed.
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

export interface Bucket {
  label: string;
  from: Date;
  to: Date;
}

/** How far back the chart looks when no "from" is given. */
export const DEFAULT_SPAN: Record<Period, number> = { hour: 24, day: 14, week: 12 };
/** More bars than this would be unreadable, and each bar is one request. */
export const MAX_BUCKETS = 48;

/** The start (local time) of the period holding `date`; weeks start on Monday. */
export function startOfPeriod(date: Date, period: Period): Date {
  const d = new Date(date);
  d.setMinutes(0, 0, 0);
  if (period === "hour") return d;
  d.setHours(0);
  if (period === "week") d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return d;
}

export function addPeriods(date: Date, period: Period, count: number): Date {
  const d = new Date(date);
  // Calendar arithmetic (not milliseconds), so a daylight-saving change does not shift the bars.
  if (period === "hour") d.setHours(d.getHours() + count);
  else d.setDate(d.getDate() + count * (period === "week" ? 7 : 1));
  return d;
}

/**
 * The periods between `from` and `to` (default: the last few periods up to now), each clamped to
 * the range so that the bars add up to the range's totals. When the range holds more than
 * MAX_BUCKETS periods, the most recent ones are kept and `truncated` says so.
 */
export function periodBuckets(period: Period, range: { from?: string; to?: string }, now: Date, locale?: string): { buckets: Bucket[]; truncated: boolean } {
  const end = range.to ? new Date(range.to) : now;
  const start = range.from ? new Date(range.from) : addPeriods(startOfPeriod(end, period), period, -(DEFAULT_SPAN[period] - 1));
  if (!(start < end)) return { buckets: [], truncated: false };
  const spans: { from: Date; to: Date }[] = [];
  for (let cursor = startOfPeriod(start, period); cursor < end; cursor = addPeriods(cursor, period, 1)) {
    const next = addPeriods(cursor, period, 1);
    spans.push({ from: cursor < start ? start : cursor, to: next > end ? end : next });
  }
  const truncated = spans.length > MAX_BUCKETS;
  const kept = truncated ? spans.slice(-MAX_BUCKETS) : spans;
  const label = labeller(period, kept, locale);
  return { buckets: kept.map((span) => ({ ...span, label: label(span.from) })), truncated };
}

/** Labels short enough for an axis, yet unique: the date is added to hours when the range spans days. */
function labeller(period: Period, spans: { from: Date }[], locale?: string): (date: Date) => string {
  const years = new Set(spans.map((s) => s.from.getFullYear()));
  const days = new Set(spans.map((s) => s.from.toDateString()));
  const withYear = years.size > 1 ? { year: "numeric" as const } : {};
  if (period === "hour") {
    const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    const dated = new Intl.DateTimeFormat(locale, { ...withYear, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    return (date) => (days.size > 1 ? dated : time).format(date);
  }
  const day = new Intl.DateTimeFormat(locale, { ...withYear, month: "short", day: "numeric" });
  return period === "week" ? (date) => `Week of ${day.format(date)}` : (date) => day.format(date);
}

/** Run `work` over `inputs` with at most `limit` at a time, keeping the order of the inputs. */
export async function mapLimited<I, O>(inputs: I[], limit: number, work: (input: I) => Promise<O>): Promise<O[]> {
  const results: O[] = new Array(inputs.length);
  let next = 0;
  async function lane() {
    while (next < inputs.length) {
      const index = next++;
      results[index] = await work(inputs[index]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, inputs.length) }, lane));
  return results;
}
