/**
 * /staff/reports: the moderation queue (oldest first, as social serves it). Each report shows what
 * was reported — a user, a message (staff cannot read a conversation they are not in, so its
 * ledger record stands for it) or a marketplace item — the reporter's reason and screenshot, and
 * is resolved with one of the actions social offers and notes. The filters live in the address.
 */
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { ApiError } from "../../api/client";
import { useAction, useAsync } from "../../api/hooks";
import { useSession } from "../../api/session";
import { Button, ErrorMessage, Field, formatDateTime, formatMoney, Loaded, Loading, Notice, Page, Select, TextArea } from "../../ui/ui";
import { formatDuration, Id, LoadMore, ProtectedImage, usePagedList } from "./parts";
import {
  getItem,
  getMessageEntry,
  listReports,
  resolveReport,
  takeReportIntoReview,
  type AdminReport,
  type ModerationAction,
  type ReportStatus,
  type ReportTargetType,
} from "./staffApi";
import { StaffNav } from "./StaffNav";
import "./staff.css";

const STATUS_LABELS: Record<ReportStatus, string> = { open: "Open", in_review: "In review", resolved: "Resolved" };
const TARGET_LABELS: Record<ReportTargetType, string> = { user: "a user", message: "a message", item: "an item" };

export function Reports() {
  const [params, setParams] = useSearchParams();
  // "open" unless the address says otherwise; "all" is spelt out so that it survives a reload.
  const statusParam = params.get("status") ?? "open";
  const status = Object.hasOwn(STATUS_LABELS, statusParam) ? (statusParam as ReportStatus) : undefined;
  const typeParam = params.get("type") ?? "";
  const targetType = Object.hasOwn(TARGET_LABELS, typeParam) ? (typeParam as ReportTargetType) : undefined;
  const list = usePagedList<AdminReport>((cursor, signal) => listReports({ status, target_type: targetType }, cursor, signal), [status, targetType]);
  const [notice, setNotice] = useState<string>();

  function setFilter(name: "status" | "type", value: string) {
    const next = new URLSearchParams(params);
    if ((name === "status" && value === "open") || (name === "type" && value === "")) next.delete(name);
    else next.set(name, value);
    setNotice(undefined);
    setParams(next);
  }

  function changed(report: AdminReport) {
    // A report taken into review stays in view (its resolution comes next); a resolved one leaves
    // a list that does not show resolved reports.
    if (report.status === "resolved" && status && status !== "resolved") list.remove(report.id);
    else list.update(report);
    if (report.status === "resolved") setNotice(`Resolved the report of ${TARGET_LABELS[report.target_type]}: ${actionName(report.action)}.`);
    else setNotice("You took the report into review: only you may resolve it now.");
  }

  return (
    <Page title="Reports">
      <StaffNav />
      <div className="row staff-toolbar">
        <Select label="Status" value={status ?? "all"} onChange={(event) => setFilter("status", event.target.value)}>
          <option value="open">Open</option>
          <option value="in_review">In review</option>
          <option value="resolved">Resolved</option>
          <option value="all">All</option>
        </Select>
        <Select label="Reported" value={targetType ?? ""} onChange={(event) => setFilter("type", event.target.value)}>
          <option value="">Anything</option>
          <option value="user">Users</option>
          <option value="message">Messages</option>
          <option value="item">Items</option>
        </Select>
        <Button type="button" className="button secondary" busy={list.loading && list.data !== undefined} onClick={list.reload}>
          Refresh
        </Button>
      </div>
      {notice && <Notice>{notice}</Notice>}
      <Loaded state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p className="muted">No report here.</p>
          ) : (
            <ol className="list staff-cards" aria-label="Reports">
              {page.items.map((report) => (
                <li key={report.id}>
                  <ReportCard report={report} onChanged={changed} onStale={list.reload} />
                </li>
              ))}
            </ol>
          )
        }
      </Loaded>
      <LoadMore list={list} />
    </Page>
  );
}

const ACTIONS: { value: ModerationAction; label: string; content?: boolean }[] = [
  { value: "dismiss", label: "Dismiss: nothing to act on" },
  { value: "warn", label: "Warn the user" },
  { value: "suspend", label: "Suspend the user for a while" },
  { value: "ban", label: "Ban the user" },
  { value: "remove_content", label: "Remove the content", content: true },
];

function actionName(action: ModerationAction | null): string {
  return { dismiss: "dismissed", warn: "warned", suspend: "suspended", ban: "banned", remove_content: "content removed" }[action ?? "dismiss"];
}

function ReportCard({ report, onChanged, onStale }: { report: AdminReport; onChanged: (r: AdminReport) => void; onStale: () => void }) {
  const { account } = useSession();
  const [showScreenshot, setShowScreenshot] = useState(false);
  const [deciding, setDeciding] = useState(false);
  const review = useAction(async () => onChanged(await takeReportIntoReview(report.id)));
  const headingId = `report-${report.id}`;
  const aboutMe = account?.id === report.target_user_id;
  const someoneElseReviews = report.status === "in_review" && report.reviewer_id !== account?.id;
  return (
    <article aria-labelledby={headingId}>
      <h2 id={headingId} className="staff-card-title">
        Report of {TARGET_LABELS[report.target_type]}, {formatDateTime(report.created_at)}
      </h2>
      <dl className="staff-facts">
        <dt>Status</dt>
        <dd>
          <span className={`status status-${report.status}`}>{STATUS_LABELS[report.status]}</span>
          {report.reviewer_id && report.status === "in_review" && (
            <>
              {" "}
              by {report.reviewer_id === account?.id ? "you" : <Id value={report.reviewer_id} />}
            </>
          )}
        </dd>
        <dt>Reported</dt>
        <dd>
          <Target report={report} />
        </dd>
        <dt>Reason</dt>
        <dd className="staff-text">{report.reason}</dd>
        <dt>Reporter</dt>
        <dd>
          user <Id value={report.reporter_id} />
        </dd>
        {report.status === "resolved" && (
          <>
            <dt>Decision</dt>
            <dd>
              {actionName(report.action)}
              {report.duration_seconds ? ` for ${formatDuration(report.duration_seconds)}` : ""}, {formatDateTime(report.resolved_at)}
              {report.resolved_by && (
                <>
                  {" "}
                  by <Id value={report.resolved_by} />
                </>
              )}
            </dd>
            <dt>Notes</dt>
            <dd className="staff-text">{report.notes}</dd>
          </>
        )}
      </dl>
      {report.screenshot && (
        <div className="staff-document">
          <Button type="button" className="button secondary" aria-expanded={showScreenshot} onClick={() => setShowScreenshot((shown) => !shown)}>
            {showScreenshot ? "Hide the screenshot" : "Show the reporter's screenshot"}
          </Button>
          {showScreenshot && <ProtectedImage path={report.screenshot} alt={`Screenshot the reporter attached to the report of ${TARGET_LABELS[report.target_type]}`} />}
        </div>
      )}
      {report.status !== "resolved" &&
        (aboutMe ? (
          <p className="muted">This report is about you: another staff member decides it.</p>
        ) : someoneElseReviews ? (
          <p className="muted">Another staff member is reviewing this report; only they may resolve it.</p>
        ) : (
          <>
            {report.status === "open" && (
              <div className="row">
                <Button type="button" className="button secondary" busy={review.busy} onClick={() => void review.run()}>
                  Take into review
                </Button>
                <Button type="button" className="button secondary" aria-expanded={deciding} onClick={() => setDeciding((open) => !open)}>
                  {deciding ? "Close the decision" : "Resolve now"}
                </Button>
              </div>
            )}
            <ErrorMessage error={review.error} />
            {/* The form stays folded in a long queue until someone decides: taken into review, or asked for. */}
            {(deciding || report.status === "in_review") && <Resolve report={report} onResolved={onChanged} onStale={onStale} />}
          </>
        ))}
    </article>
  );
}

/** What was reported, with what the public API tells about it. */
function Target({ report }: { report: AdminReport }) {
  if (report.target_type === "user") {
    return (
      <>
        user <Id value={report.target_id} />
      </>
    );
  }
  if (report.target_type === "message") return <ReportedMessage report={report} />;
  return <ReportedItem report={report} />;
}

function ReportedMessage({ report }: { report: AdminReport }) {
  const entry = useAsync((signal) => getMessageEntry(report.target_id, signal), [report.target_id]);
  return (
    <>
      message <Id value={report.target_id} /> sent by user <Id value={report.target_user_id} />
      <br />
      {entry.loading ? (
        <Loading label="Looking it up in the ledger…" />
      ) : entry.error instanceof ApiError && entry.error.status === 404 ? (
        <span className="muted">Not in the ledger yet.</span>
      ) : entry.error ? (
        <ErrorMessage error={entry.error} />
      ) : (
        entry.data && (
          <span className="muted">
            Ledger leaf {entry.data.leaf_index.toLocaleString()}
            {entry.data.block_height !== null ? `, block ${entry.data.block_height.toLocaleString()}` : ", not sealed in a block yet"}
            {entry.data.removed ? "; removed by moderation (its record stays)" : ""}.
          </span>
        )
      )}
    </>
  );
}

function ReportedItem({ report }: { report: AdminReport }) {
  const item = useAsync((signal) => getItem(report.target_id, signal), [report.target_id]);
  if (item.loading) return <Loading label="Loading the item…" />;
  if (item.error instanceof ApiError && item.error.status === 404) {
    return (
      <>
        item <Id value={report.target_id} /> of user <Id value={report.target_user_id} />{" "}
        <span className="muted">(no longer listed: removed, or its seller is banned)</span>
      </>
    );
  }
  if (item.error || !item.data) return <ErrorMessage error={item.error} />;
  return (
    <>
      item <Link to={`/market/items/${item.data.id}`}>{item.data.title}</Link>, {formatMoney(item.data.price_minor, item.data.currency)}, sold by{" "}
      {item.data.seller_username ?? <Id value={item.data.seller_id} />}
    </>
  );
}

const DURATION_UNITS = [
  { value: 3600, label: "hours" },
  { value: 86400, label: "days" },
];

function Resolve({ report, onResolved, onStale }: { report: AdminReport; onResolved: (r: AdminReport) => void; onStale: () => void }) {
  const [action, setAction] = useState<ModerationAction>("dismiss");
  const [notes, setNotes] = useState("");
  const [amount, setAmount] = useState("1");
  const [unit, setUnit] = useState(86400);
  const resolve = useAction(async () => {
    const duration_seconds = action === "suspend" ? Math.round(Number(amount) * unit) : null;
    onResolved(await resolveReport(report.id, { action, notes: notes.trim(), duration_seconds }));
  });
  const actions = ACTIONS.filter((a) => !a.content || report.target_type !== "user");
  const isContent = report.target_type !== "user";

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    void resolve.run();
  }

  const conflict = resolve.error instanceof ApiError && resolve.error.status === 409;
  return (
    <form className="staff-decision" onSubmit={submit} aria-label={`Resolve the report of ${TARGET_LABELS[report.target_type]}`}>
      <Select label="Action" value={action} onChange={(event) => setAction(event.target.value as ModerationAction)}>
        {actions.map((a) => (
          <option key={a.value} value={a.value}>
            {a.value === "ban" && isContent ? "Ban the user and remove the content" : a.label}
          </option>
        ))}
      </Select>
      {isContent && (action === "warn" || action === "suspend") && (
        <p className="muted">This acts on the {report.target_type === "message" ? "message's sender" : "item's seller"}; the content stays.</p>
      )}
      {action === "suspend" && (
        <fieldset className="staff-duration">
          <legend>Suspended for</legend>
          <Field label="How long" type="number" min={1} step={1} required value={amount} onChange={(event) => setAmount(event.target.value)} />
          <Select label="Unit" value={unit} onChange={(event) => setUnit(Number(event.target.value))}>
            {DURATION_UNITS.map((u) => (
              <option key={u.value} value={u.value}>
                {u.label}
              </option>
            ))}
          </Select>
        </fieldset>
      )}
      <TextArea
        label="Notes"
        hint="Why: recorded with the decision and shown to the user acted against (never to the reporter)."
        required
        maxLength={2000}
        value={notes}
        onChange={(event) => setNotes(event.target.value)}
      />
      <ErrorMessage error={resolve.error} />
      {conflict && (
        <p>
          <Button type="button" className="button secondary" onClick={onStale}>
            Reload the reports
          </Button>
        </p>
      )}
      <div className="row">
        <Button type="submit" className={action === "dismiss" ? "button" : "button danger"} busy={resolve.busy}>
          Resolve
        </Button>
      </div>
    </form>
  );
}
