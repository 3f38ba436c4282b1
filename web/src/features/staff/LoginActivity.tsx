/**
 * /staff/login-activity: every sign-in attempt auth recorded, filtered by what the API filters on
 * (username as typed, IP, result, time range) and paged; the range's statistics (totals, the
 * most failed usernames and addresses) and charts of attempts and failures per hour, day or week.
 *
 * Everything the page shows follows the address bar (see loginActivityFilters.ts), so a view can
 * be reloaded, bookmarked or sent to a colleague, and Back returns to the previous page of results.
 */
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { useAsync } from "../../api/hooks";
import { BarChart } from "../../ui/charts/BarChart";
import { Button, Field, formatDateTime, Loaded, Loading, ErrorMessage, Page, Select } from "../../ui/ui";
import {
  apiQuery,
  DEFAULT_SPAN,
  filtersFromParams,
  isoToLocalInput,
  localInputToIso,
  mapLimited,
  MAX_BUCKETS,
  paramsFromFilters,
  periodBuckets,
  type LoginActivityFilters,
  type Period,
} from "./loginActivityFilters";
import { Id } from "./parts";
import { listLoginActivity, loginActivityStats, type LoginAttempt } from "./staffApi";
import { StaffNav } from "./StaffNav";
import "./staff.css";

const PAGE_SIZE = 50;
const PERIOD_NAMES: Record<Period, string> = { hour: "hour", day: "day", week: "week" };
const KIND_LABELS: Record<LoginAttempt["kind"], string> = {
  login: "Sign-in",
  "2fa": "2FA step",
  refresh: "Token refresh",
  password: "Password check",
  reset: "Password reset",
};
const FAILURE_LABELS: Record<string, string> = {
  unknown_user: "unknown user",
  bad_password: "wrong password",
  bad_2fa_code: "wrong 2FA code",
  locked: "locked out",
  banned: "banned",
  suspended: "suspended",
  throttled: "throttled",
  refresh_token_reused: "refresh token reused",
  bad_code: "wrong code",
  expired: "expired",
  reset_used: "reset already used",
  too_many_codes: "too many codes",
};

export function LoginActivity() {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFromParams(params), [params]);
  const apply = (next: LoginActivityFilters) => setParams(paramsFromFilters(next));
  const linkTo = (change: Partial<LoginActivityFilters>) => `?${paramsFromFilters({ ...filters, cursor: "", ...change }).toString()}`;

  return (
    <Page title="Login activity">
      <StaffNav />
      <FilterForm filters={filters} onApply={apply} />
      <Statistics filters={filters} linkTo={linkTo} />
      <Attempts filters={filters} linkTo={linkTo} />
    </Page>
  );
}

function FilterForm({ filters, onApply }: { filters: LoginActivityFilters; onApply: (f: LoginActivityFilters) => void }) {
  const [draft, setDraft] = useState(() => formState(filters));
  // The address bar can change under the form (Back, a link in the tables): follow it.
  useEffect(() => setDraft(formState(filters)), [filters]);
  const set = (name: keyof ReturnType<typeof formState>) => (event: { target: { value: string } }) => setDraft((d) => ({ ...d, [name]: event.target.value }));

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onApply({
      username: draft.username.trim(),
      ip: draft.ip.trim(),
      success: draft.success as LoginActivityFilters["success"],
      from: localInputToIso(draft.from),
      to: localInputToIso(draft.to),
      period: draft.period as Period,
      cursor: "",
    });
  }

  return (
    <form className="staff-filters" onSubmit={submit} aria-label="Filter login attempts">
      <Field label="Username" hint="As typed at sign-in; exact, any case." value={draft.username} maxLength={254} onChange={set("username")} />
      <Field label="IP address" value={draft.ip} onChange={set("ip")} inputMode="text" autoComplete="off" />
      <Select label="Result" value={draft.success} onChange={set("success")}>
        <option value="">Any</option>
        <option value="true">Succeeded</option>
        <option value="false">Failed</option>
      </Select>
      <Field label="From" type="datetime-local" value={draft.from} onChange={set("from")} />
      <Field label="To" type="datetime-local" value={draft.to} onChange={set("to")} hint="Up to, not including." />
      <Select label="Chart by" value={draft.period} onChange={set("period")}>
        <option value="hour">Hour</option>
        <option value="day">Day</option>
        <option value="week">Week</option>
      </Select>
      <div className="row staff-filter-buttons">
        <Button type="submit">Apply filters</Button>
        <Link className="button secondary" to="?">
          Clear
        </Link>
      </div>
    </form>
  );
}

function formState(filters: LoginActivityFilters) {
  return {
    username: filters.username,
    ip: filters.ip,
    success: filters.success as string,
    from: isoToLocalInput(filters.from),
    to: isoToLocalInput(filters.to),
    period: filters.period as string,
  };
}

function rangeText(filters: LoginActivityFilters): string {
  if (filters.from && filters.to) return `from ${formatDateTime(filters.from)} to ${formatDateTime(filters.to)}`;
  if (filters.from) return `since ${formatDateTime(filters.from)}`;
  if (filters.to) return `before ${formatDateTime(filters.to)}`;
  return "all time";
}

function Statistics({ filters, linkTo }: { filters: LoginActivityFilters; linkTo: (c: Partial<LoginActivityFilters>) => string }) {
  const range = { from: filters.from || undefined, to: filters.to || undefined };
  const stats = useAsync((signal) => loginActivityStats(range, signal), [filters.from, filters.to]);
  return (
    <section aria-labelledby="stats-title">
      <h2 id="stats-title">Statistics, {rangeText(filters)}</h2>
      <p className="muted">The statistics follow the time range; the username, IP and result filters apply to the attempts below.</p>
      <Loaded state={stats}>
        {(s) => (
          <>
            <dl className="staff-figures">
              <div>
                <dt>Attempts</dt>
                <dd>{s.total.toLocaleString()}</dd>
              </div>
              <div>
                <dt>Succeeded</dt>
                <dd>{s.successes.toLocaleString()}</dd>
              </div>
              <div>
                <dt>Failed</dt>
                <dd>{s.failures.toLocaleString()}</dd>
              </div>
              <div>
                <dt>Distinct accounts</dt>
                <dd>{s.unique_users.toLocaleString()}</dd>
              </div>
              <div>
                <dt>Distinct IP addresses</dt>
                <dd>{s.unique_ips.toLocaleString()}</dd>
              </div>
            </dl>
            <PerPeriodCharts filters={filters} />
            <div className="staff-columns">
              <MostFailed
                title="Most failed usernames"
                column="Username"
                rows={s.most_failed_usernames.map((row) => ({ key: row.username, failures: row.failures, to: linkTo({ username: row.username, success: "false" }) }))}
              />
              <MostFailed
                title="Most failed IP addresses"
                column="IP address"
                rows={s.most_failed_ips.map((row) => ({ key: row.ip, failures: row.failures, to: linkTo({ ip: row.ip, success: "false" }) }))}
              />
            </div>
          </>
        )}
      </Loaded>
    </section>
  );
}

/** Attempts and failures per period: one statistics request per bar (the API counts over a range). */
function PerPeriodCharts({ filters }: { filters: LoginActivityFilters }) {
  const series = useAsync(
    async (signal) => {
      const { buckets, truncated } = periodBuckets(filters.period, { from: filters.from || undefined, to: filters.to || undefined }, new Date());
      const counts = await mapLimited(buckets, 4, (bucket) => loginActivityStats({ from: bucket.from.toISOString(), to: bucket.to.toISOString() }, signal));
      return {
        truncated,
        attempts: buckets.map((bucket, i) => ({ label: bucket.label, value: counts[i].total })),
        failures: buckets.map((bucket, i) => ({ label: bucket.label, value: counts[i].failures })),
      };
    },
    [filters.period, filters.from, filters.to],
  );
  const per = PERIOD_NAMES[filters.period];
  // Without a "from" the charts look back a fixed number of periods: say how far.
  const back = `${DEFAULT_SPAN[filters.period]} ${per}s`;
  const span = filters.from ? "" : filters.to ? `, ${back} up to ${formatDateTime(filters.to)}` : `, last ${back}`;
  if (series.error) return <ErrorMessage error={series.error} />;
  if (!series.data) return <Loading label="Counting attempts per period…" />;
  return (
    <>
      {series.data.truncated && (
        <p className="warning">The range holds more than {MAX_BUCKETS} {per}s: the charts show the latest {MAX_BUCKETS}. Chart by a longer period to see it all.</p>
      )}
      <div className="staff-columns">
        <BarChart title={`Sign-in attempts per ${per}${span}`} valueLabel="Attempts" data={series.data.attempts} />
        <BarChart title={`Failed attempts per ${per}${span}`} valueLabel="Failures" data={series.data.failures} />
      </div>
    </>
  );
}

function MostFailed({ title, column, rows }: { title: string; column: string; rows: { key: string; failures: number; to: string }[] }) {
  return (
    <div className="table-wrap">
      <table>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">{column}</th>
            <th scope="col" className="number">
              Failures
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={2} className="muted">
                No failure in this range.
              </td>
            </tr>
          ) : (
            rows.map((row) => (
              <tr key={row.key}>
                <th scope="row">
                  <Link to={row.to} title={`Show the failed attempts of ${row.key}`}>
                    {row.key}
                  </Link>
                </th>
                <td className="number">{row.failures.toLocaleString()}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

function Attempts({ filters, linkTo }: { filters: LoginActivityFilters; linkTo: (c: Partial<LoginActivityFilters>) => string }) {
  const attempts = useAsync((signal) => listLoginActivity(apiQuery(filters), filters.cursor || null, PAGE_SIZE, signal), [filters]);
  const described = [
    filters.username && `username “${filters.username}”`,
    filters.ip && `IP ${filters.ip}`,
    filters.success === "true" && "succeeded",
    filters.success === "false" && "failed",
  ].filter(Boolean);
  return (
    <section aria-labelledby="attempts-title">
      <h2 id="attempts-title">Attempts</h2>
      <p className="muted" role="status">
        Newest first, {rangeText(filters)}
        {described.length ? `; ${described.join(", ")}` : ""}
        {filters.cursor ? "; a later page" : ""}.
      </p>
      <Loaded state={attempts}>
        {(page) => (
          <>
            {page.items.length === 0 ? (
              <p className="muted">No attempt matches these filters.</p>
            ) : (
              <div className="table-wrap">
                <table className="staff-attempts">
                  <caption className="visually-hidden">Login attempts</caption>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Kind</th>
                      <th scope="col">Username</th>
                      <th scope="col">Result</th>
                      <th scope="col">IP address</th>
                      <th scope="col">Browser or client</th>
                      <th scope="col">Session</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((attempt) => (
                      <tr key={attempt.id}>
                        <td>
                          <time dateTime={attempt.occurred_at}>{formatDateTime(attempt.occurred_at)}</time>
                        </td>
                        <td>{KIND_LABELS[attempt.kind] ?? attempt.kind}</td>
                        <td className="staff-text">{attempt.username}</td>
                        <td>
                          <Result attempt={attempt} />
                        </td>
                        <td>{attempt.ip ? <Link to={linkTo({ ip: attempt.ip })}>{attempt.ip}</Link> : <span className="muted">unknown</span>}</td>
                        <td className="staff-agent">{attempt.user_agent ?? <span className="muted">none</span>}</td>
                        <td>{attempt.session_id ? <Id value={attempt.session_id} /> : <span className="muted">none</span>}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <nav className="row staff-pager" aria-label="Pages of attempts">
              {filters.cursor && (
                <Link className="button secondary" to={linkTo({ cursor: "" })}>
                  Newest attempts
                </Link>
              )}
              {page.next_cursor && (
                <Link className="button secondary" to={linkTo({ cursor: page.next_cursor })}>
                  Older attempts
                </Link>
              )}
            </nav>
          </>
        )}
      </Loaded>
    </section>
  );
}

function Result({ attempt }: { attempt: LoginAttempt }) {
  if (attempt.success === null) return <span className="status status-pending">Being checked</span>;
  if (attempt.success) return <span className="status status-approved">Succeeded</span>;
  const reason = attempt.failure_reason ? FAILURE_LABELS[attempt.failure_reason] ?? attempt.failure_reason : undefined;
  return <span className="status status-rejected">Failed{reason ? `: ${reason}` : ""}</span>;
}
