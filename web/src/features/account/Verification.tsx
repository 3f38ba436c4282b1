/**
 * `/verification`: ask to be verified (an ID document, JPEG, PNG or PDF up to 5 MB, with a
 * reason) and follow the requests: pending, approved, or rejected with staff's notes.
 */
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, refreshSession } from "../../api/client";
import { useAction, useAsync, useStreamEvent } from "../../api/hooks";
import { useSession } from "../../api/session";
import { Button, ErrorMessage, Field, Loaded, Notice, Page, TextArea, formatDateTime } from "../../ui/ui";
import { listVerificationRequests, submitVerification, type VerificationRequest } from "./api";
import "./account.css";

const MAX_BYTES = 5 * 1024 * 1024;
const ACCEPTED = ["image/jpeg", "image/png", "application/pdf"];

const STATUS_TEXT: Record<VerificationRequest["status"], string> = {
  pending: "Waiting for a staff member to review it.",
  approved: "Your account is verified.",
  rejected: "Not approved: see the notes below.",
};

function formatSize(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** What is wrong with the chosen file before it is sent (the server checks it again, by content). */
export function documentProblem(file: File | null): string | undefined {
  if (!file || file.size === 0) return "Choose a document (a photo or scan of an ID, or a PDF).";
  if (file.size > MAX_BYTES) return `The file is ${formatSize(file.size)}; the limit is 5 MB.`;
  if (file.type && !ACCEPTED.includes(file.type)) return "The document must be a JPEG, PNG or PDF file.";
  return undefined;
}

export function VerificationPage() {
  const { account, reloadAccount } = useSession();
  const requests = useAsync((signal) => listVerificationRequests(signal), []);
  const [fileError, setFileError] = useState<string>();
  const [submitted, setSubmitted] = useState(false);

  // A staff decision arrives as a notification: read the requests again when one comes.
  useStreamEvent("notifications", () => requests.reload());

  const latest = requests.data?.items[0];
  // Approved while this session's token still says "not verified": get a token that says so,
  // so that the other services (groups, attachments, selling) see it without signing in again.
  useEffect(() => {
    if (latest?.status === "approved" && account && !account.verified) {
      void refreshSession().then((ok) => (ok ? reloadAccount() : undefined));
    }
  }, [latest?.status, account, reloadAccount]);

  const submit = useAction(async (file: File, reason: string) => {
    await submitVerification(file, reason);
    setSubmitted(true);
    requests.reload();
    return true;
  });
  const serverFileError = submit.error instanceof ApiError ? submit.error.fields.document : undefined;

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const file = data.get("document");
    const problem = documentProblem(file instanceof File ? file : null);
    setFileError(problem);
    setSubmitted(false);
    if (problem || !(file instanceof File)) return;
    void submit.run(file, String(data.get("reason") ?? "").trim()).then((ok) => ok && form.reset());
  };

  const canSubmit = !account?.verified && latest?.status !== "pending";
  return (
    <Page title="Identity verification">
      <p>
        Verified accounts can create group conversations, send attachments and sell in the marketplace. Send a photo or scan of an
        identity document; a staff member reviews it. The document is stored encrypted and only staff can open it.
      </p>
      {account?.verified && <p className="status-ok">Your account is verified.</p>}
      {submitted && <Notice>Thank you: your request was sent and is waiting for review.</Notice>}

      <Loaded state={requests}>
        {(page) =>
          page.items.length > 0 ? (
            <section aria-labelledby="requests-title">
              <h2 id="requests-title">Your requests</h2>
              <ul className="list" aria-label="Verification requests">
                {page.items.map((request) => (
                  <li key={request.id} className="verification-request">
                    <p>
                      <span className={`tag status-${request.status}`}>{request.status[0].toUpperCase() + request.status.slice(1)}</span>{" "}
                      {STATUS_TEXT[request.status]}
                    </p>
                    <p className="muted small">
                      Sent {formatDateTime(request.created_at)} · {request.document_type}, {formatSize(request.document_size)}
                      {request.decided_at ? ` · decided ${formatDateTime(request.decided_at)}` : ""}
                    </p>
                    <p>
                      <span className="muted">Your reason:</span> {request.reason}
                    </p>
                    {request.notes && (
                      <p className={request.status === "rejected" ? "warning" : undefined}>
                        <strong>Staff notes:</strong> {request.notes}
                      </p>
                    )}
                  </li>
                ))}
              </ul>
            </section>
          ) : (
            <p className="muted">You have not asked to be verified yet.</p>
          )
        }
      </Loaded>

      {canSubmit && requests.data && (
        <section aria-labelledby="submit-title">
          <h2 id="submit-title">{latest?.status === "rejected" ? "Try again" : "Ask to be verified"}</h2>
          <form onSubmit={onSubmit} noValidate aria-labelledby="submit-title">
            <Field
              label="Identity document"
              name="document"
              type="file"
              accept=".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf"
              required
              hint="JPEG, PNG or PDF, at most 5 MB."
              error={fileError ?? serverFileError}
            />
            <TextArea label="Reason" name="reason" required maxLength={2000} hint="Why you want to be verified, for the reviewer (for example: I want to sell in the marketplace)." />
            <ErrorMessage error={submit.error} />
            <div>
              <Button type="submit" busy={submit.busy}>
                Send for review
              </Button>
            </div>
          </form>
        </section>
      )}
    </Page>
  );
}
