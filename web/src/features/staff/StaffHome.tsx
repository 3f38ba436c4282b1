/**
 * /staff: where the staff pages start — what waits for a decision, how sign-ins went in the last
 * 24 hours and whether the ledger is intact, each figure linking to its page. Each figure loads on
 * its own, so one service being down does not hide the others.
 */
import type { ReactNode } from "react";
import { Link } from "react-router";
import { useAsync } from "../../api/hooks";
import { ErrorMessage, Loading, Page } from "../../ui/ui";
import { getCheckpoint, listReports, listVerifications, loginActivityStats, type Page as ApiPage } from "./staffApi";
import { StaffNav } from "./StaffNav";
import "./staff.css";

const DAY_MS = 24 * 60 * 60 * 1000;

/** "12", or "100+" when there is more than one page: the count of a queue without reading all of it. */
function queueCount(page: ApiPage<unknown>): string {
  return page.next_cursor ? `${page.items.length}+` : String(page.items.length);
}

export function StaffHome() {
  const verifications = useAsync((signal) => listVerifications("pending", null, signal, 100), []);
  const openReports = useAsync((signal) => listReports({ status: "open" }, null, signal, 100), []);
  const inReview = useAsync((signal) => listReports({ status: "in_review" }, null, signal, 100), []);
  const logins = useAsync((signal) => loginActivityStats({ from: new Date(Date.now() - DAY_MS).toISOString() }, signal), []);
  const ledger = useAsync((signal) => getCheckpoint(signal), []);
  const lastDay = `?from=${encodeURIComponent(new Date(Date.now() - DAY_MS).toISOString())}&period=hour`;

  return (
    <Page title="Staff">
      <StaffNav />
      <ul className="staff-tiles">
        <Tile title="Verification requests" to="/staff/verifications" state={verifications}>
          {(page) => (
            <>
              <Figure value={queueCount(page)} label="pending" />
              <p>Identity documents waiting for a decision, oldest first.</p>
            </>
          )}
        </Tile>
        <Tile title="Reports" to="/staff/reports" state={openReports}>
          {(page) => (
            <>
              <Figure value={queueCount(page)} label="open" />
              {inReview.data && <p>{queueCount(inReview.data)} in review.</p>}
              <ErrorMessage error={inReview.error} />
              <p>Users, messages and items reported by users.</p>
            </>
          )}
        </Tile>
        <Tile title="Login activity" to={`/staff/login-activity${lastDay}`} state={logins}>
          {(stats) => (
            <>
              <Figure value={stats.failures.toLocaleString()} label="failed sign-ins in 24 hours" />
              <p>
                {stats.total.toLocaleString()} attempts from {stats.unique_ips.toLocaleString()} IP addresses.
              </p>
            </>
          )}
        </Tile>
        <Tile title="Ledger" to="/staff/ledger" state={ledger}>
          {(checkpoint) =>
            checkpoint ? (
              <>
                <Figure value={checkpoint.tree_size.toLocaleString()} label="records" />
                <p>
                  Integrity:{" "}
                  <span className={`status ${checkpoint.integrity === "ok" ? "status-approved" : "status-rejected"}`}>
                    {checkpoint.integrity === "ok" ? "OK" : "failed"}
                  </span>
                </p>
              </>
            ) : (
              <p className="muted">Nothing sealed yet.</p>
            )
          }
        </Tile>
      </ul>
    </Page>
  );
}

function Tile<T>({ title, to, state, children }: { title: string; to: string; state: { data: T | undefined; error?: unknown; loading: boolean }; children: (data: T) => ReactNode }) {
  return (
    <li className="panel staff-tile">
      <h2>
        <Link to={to}>{title}</Link>
      </h2>
      {state.error ? <ErrorMessage error={state.error} /> : state.data === undefined ? <Loading /> : children(state.data)}
    </li>
  );
}

function Figure({ value, label }: { value: string; label: string }) {
  return (
    <p className="staff-figure">
      <strong>{value}</strong> {label}
    </p>
  );
}
