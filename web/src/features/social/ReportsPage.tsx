/** /reports: the reports I made and where each stands, and making a new one. */
import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { apiObjectUrl } from "../../api/client";
import { useAction } from "../../api/hooks";
import { Button, ErrorMessage, Loading, Page, formatDateTime } from "../../ui/ui";
import { social, type Report, type ReportTarget } from "./api";
import { ReportForm, TARGET_LABELS } from "./ReportForm";
import { usePaged } from "./usePaged";

const STATUS: Record<Report["status"], string> = { open: "Waiting for staff", in_review: "Being reviewed", resolved: "Resolved" };
const ACTION: Record<NonNullable<Report["action"]>, string> = {
  dismiss: "no action was needed",
  warn: "the person was warned",
  suspend: "the person was suspended",
  ban: "the person was banned",
  remove_content: "the content was removed",
};

export function ReportsPage() {
  const [params] = useSearchParams();
  const reports = usePaged((cursor, signal) => social.reports({ cursor, signal }), (r) => r.id, []);
  const preset = params.get("target_type") as ReportTarget | null;
  const presetId = params.get("target_id");
  const known = preset && preset in TARGET_LABELS && presetId ? { type: preset, id: presetId } : undefined;

  const newReport = (
    <>
      <h2>Make a report</h2>
      {known && (
        <p>
          You are reporting {TARGET_LABELS[known.type].toLowerCase()} <span className="muted">(id {known.id})</span>.
        </p>
      )}
      <ReportForm targetType={known?.type} targetId={known?.id} about={known ? TARGET_LABELS[known.type].toLowerCase() : undefined} onReported={reports.reload} />
    </>
  );

  return (
    <Page title="Reports">
      <p>
        Report a person, a message you received or a marketplace item that breaks the rules. The quickest way is the
        “Report” part of their page, the message or the item; staff decide, and you see the outcome here.
      </p>
      {known && newReport}
      <h2>Your reports</h2>
      <ErrorMessage error={reports.error} />
      {reports.items === undefined ? (
        reports.loading && <Loading />
      ) : reports.items.length === 0 ? (
        <p className="muted">You have not reported anything.</p>
      ) : (
        <ul className="list" aria-label="Your reports">
          {reports.items.map((report) => (
            <li key={report.id}>
              <ReportRow report={report} />
            </li>
          ))}
        </ul>
      )}
      {reports.hasMore && (
        <Button type="button" className="button secondary" busy={reports.loadingMore} onClick={() => void reports.loadMore()}>
          Show more reports
        </Button>
      )}
      {!known && newReport}
    </Page>
  );
}

function targetLink(report: Report) {
  if (report.target_type === "item") return <Link to={`/market/items/${report.target_id}`}>a marketplace item</Link>;
  if (report.target_type === "message") return <>a message</>;
  return <>a person</>;
}

function ReportRow({ report }: { report: Report }) {
  return (
    <article aria-label={`Report of ${formatDateTime(report.created_at)}`}>
      <p>
        You reported {targetLink(report)} on {formatDateTime(report.created_at)} <span className="muted">(id {report.target_id})</span>
      </p>
      <p className="profile-bio">“{report.reason}”</p>
      <p>
        <strong className={`status-${report.status}`}>{STATUS[report.status]}</strong>
        {report.status === "resolved" && report.action && <> — {ACTION[report.action]}</>}
        {report.resolved_at && <span className="muted"> ({formatDateTime(report.resolved_at)})</span>}
      </p>
      {report.screenshot && <Screenshot path={report.screenshot} />}
    </article>
  );
}

/** The screenshot sits behind the token: fetched on demand as an object URL, released when gone. */
function Screenshot({ path }: { path: string }) {
  const [url, setUrl] = useState<string>();
  const show = useAction(async () => setUrl(await apiObjectUrl(path)));
  useEffect(() => () => {
    if (url) URL.revokeObjectURL(url);
  }, [url]);
  if (url) return <img className="screenshot-preview" src={url} alt="The screenshot you sent with this report" />;
  return (
    <>
      <Button type="button" className="button secondary" busy={show.busy} onClick={() => void show.run()}>
        Show the screenshot
      </Button>
      <ErrorMessage error={show.error} />
    </>
  );
}
