/**
 * /staff/verifications: the identity-verification queue. Pending requests come first (oldest
 * first, as auth serves them); each document can be looked at, and a request approved (notes
 * optional) or rejected (notes required: they tell the user what to send next time).
 */
import { useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { ApiError } from "../../api/client";
import { useAction } from "../../api/hooks";
import { Button, ErrorMessage, formatDateTime, Loaded, Notice, Page, Select, TextArea } from "../../ui/ui";
import { formatBytes, Id, LoadMore, ProtectedDownload, ProtectedImage, usePagedList } from "./parts";
import {
  approveVerification,
  listVerifications,
  rejectVerification,
  VERIFICATION_STATUSES,
  verificationDocumentPath,
  type VerificationRequest,
  type VerificationStatus,
} from "./staffApi";
import { StaffNav } from "./StaffNav";
import "./staff.css";

const STATUS_LABELS: Record<VerificationStatus, string> = { pending: "Pending", approved: "Approved", rejected: "Rejected" };

export function Verifications() {
  const [params, setParams] = useSearchParams();
  const status = (VERIFICATION_STATUSES as string[]).includes(params.get("status") ?? "") ? (params.get("status") as VerificationStatus) : "pending";
  const list = usePagedList<VerificationRequest>((cursor, signal) => listVerifications(status, cursor, signal), [status]);
  const [notice, setNotice] = useState<string>();

  function decided(request: VerificationRequest) {
    // The queue shows one status: a decided request leaves the pending list at once.
    if (request.status === status) list.update(request);
    else list.remove(request.id);
    setNotice(
      request.status === "approved"
        ? `Approved the request of user ${request.user_id}: the account is verified now.`
        : `Rejected the request of user ${request.user_id}; they were told why.`,
    );
  }

  return (
    <Page title="Verification requests">
      <StaffNav />
      <div className="row staff-toolbar">
        <Select
          label="Show"
          value={status}
          onChange={(event) => {
            setNotice(undefined);
            setParams(event.target.value === "pending" ? {} : { status: event.target.value });
          }}
        >
          {VERIFICATION_STATUSES.map((value) => (
            <option key={value} value={value}>
              {STATUS_LABELS[value]}
            </option>
          ))}
        </Select>
        <Button type="button" className="button secondary" busy={list.loading && list.data !== undefined} onClick={list.reload}>
          Refresh
        </Button>
      </div>
      {notice && <Notice>{notice}</Notice>}
      <Loaded state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p className="muted">{status === "pending" ? "No request is waiting: the queue is empty." : `No ${status} request.`}</p>
          ) : (
            <ol className="list staff-cards" aria-label={`${STATUS_LABELS[status]} verification requests`}>
              {page.items.map((request) => (
                <li key={request.id}>
                  <VerificationCard request={request} onDecided={decided} onStale={list.reload} />
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

function VerificationCard({ request, onDecided, onStale }: { request: VerificationRequest; onDecided: (r: VerificationRequest) => void; onStale: () => void }) {
  const [showDocument, setShowDocument] = useState(false);
  const headingId = `verification-${request.id}`;
  return (
    <article aria-labelledby={headingId}>
      <h2 id={headingId} className="staff-card-title">
        Request from user <Id value={request.user_id} />
      </h2>
      <dl className="staff-facts">
        <dt>Submitted</dt>
        <dd>{formatDateTime(request.created_at)}</dd>
        <dt>Status</dt>
        <dd>
          <span className={`status status-${request.status}`}>{STATUS_LABELS[request.status]}</span>
        </dd>
        <dt>Reason given</dt>
        <dd className="staff-text">{request.reason}</dd>
        <dt>Document</dt>
        <dd>
          {documentKind(request.document_type)}, {formatBytes(request.document_size)}
          <br />
          <span className="muted">
            SHA-256 <code className="staff-id">{request.document_sha256}</code>
          </span>
        </dd>
        {request.decided_at && (
          <>
            <dt>Decided</dt>
            <dd>
              {formatDateTime(request.decided_at)}
              {request.decided_by && (
                <>
                  {" "}
                  by <Id value={request.decided_by} />
                </>
              )}
            </dd>
            <dt>Notes</dt>
            <dd className="staff-text">{request.notes || <span className="muted">none</span>}</dd>
          </>
        )}
      </dl>
      <Document request={request} shown={showDocument} onToggle={() => setShowDocument((shown) => !shown)} />
      {request.status === "pending" && <Decision request={request} onDecided={onDecided} onStale={onStale} />}
    </article>
  );
}

function documentKind(type: string): string {
  return { "image/jpeg": "JPEG image", "image/png": "PNG image", "application/pdf": "PDF" }[type] ?? type;
}

function Document({ request, shown, onToggle }: { request: VerificationRequest; shown: boolean; onToggle: () => void }) {
  const path = verificationDocumentPath(request.id);
  if (request.document_type === "application/pdf") {
    return (
      <ProtectedDownload path={path} filename={`verification-${request.id}.pdf`}>
        Download the PDF document
      </ProtectedDownload>
    );
  }
  return (
    <div className="staff-document">
      <Button type="button" className="button secondary" aria-expanded={shown} onClick={onToggle}>
        {shown ? "Hide the document" : "Show the document"}
      </Button>
      {shown && <ProtectedImage path={path} alt={`Identity document submitted by user ${request.user_id} on ${formatDateTime(request.created_at)}`} />}
    </div>
  );
}

function Decision({ request, onDecided, onStale }: { request: VerificationRequest; onDecided: (r: VerificationRequest) => void; onStale: () => void }) {
  const [notes, setNotes] = useState("");
  const [missingNotes, setMissingNotes] = useState(false);
  const decide = useAction(async (verdict: "approve" | "reject") => {
    const decided = verdict === "approve" ? await approveVerification(request.id, notes) : await rejectVerification(request.id, notes);
    onDecided(decided);
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    // The submitter tells which button was pressed (Enter in the notes does not submit a textarea).
    const verdict = (event.nativeEvent as SubmitEvent).submitter?.getAttribute("value") === "reject" ? "reject" : "approve";
    if (verdict === "reject" && !notes.trim()) {
      setMissingNotes(true);
      return;
    }
    setMissingNotes(false);
    void decide.run(verdict);
  }

  const conflict = decide.error instanceof ApiError && decide.error.status === 409;
  return (
    <form className="staff-decision" onSubmit={submit} aria-label={`Decide the request of user ${request.user_id}`}>
      <TextArea
        label="Notes for the user"
        hint="Optional when approving; required when rejecting: say what to send next time."
        value={notes}
        maxLength={2000}
        onChange={(event) => setNotes(event.target.value)}
        aria-invalid={missingNotes || undefined}
      />
      {missingNotes && (
        <p className="error" role="alert">
          Write a note before rejecting: the user reads it to know what to send next time.
        </p>
      )}
      <ErrorMessage error={decide.error} />
      {conflict && (
        <p>
          <Button type="button" className="button secondary" onClick={onStale}>
            Reload the queue
          </Button>
        </p>
      )}
      <div className="row">
        <Button type="submit" name="verdict" value="approve" busy={decide.busy}>
          Approve
        </Button>
        <Button type="submit" name="verdict" value="reject" className="button danger" busy={decide.busy}>
          Reject
        </Button>
      </div>
    </form>
  );
}
