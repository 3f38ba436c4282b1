/**
 * One message on screen: who sent it and when, its text (decrypted and verified here for an e2e
 * one), and two marks a reader can rely on, each in words with an icon (never colour alone):
 * the signature's verdict, and whether the ledger's proof that it was recorded verifies.
 */
import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import type { LedgerVerdict } from "../../ledger/verify";
import { formatDateTime } from "../../ui/ui";
import { ReportForm } from "../social/ReportForm";
import type { Message } from "./api";
import { AttachmentView } from "./AttachmentView";
import { knownVerdict, ledgerVerdict, MISSING_AFTER_MS, retryDelay } from "./ledgerStatus";
import { contactBook } from "./contactBook";
import { failureTitle, readMessage, senderTrust, type ReadContext, type ReadMessage, type SenderTrust } from "./reading";

export function MessageItem({ message, senderName, context, removed }: { message: Message; senderName: string; context: ReadContext; removed: boolean }) {
  const read = useRead(message, context, removed);
  const trust = useTrust(message, read, context.me);
  const mine = message.sender_id === context.me;
  return (
    <li className={mine ? "message mine" : "message"} data-message-id={message.id}>
      <article aria-label={`Message from ${mine ? "you" : senderName}, ${formatDateTime(message.created_at)}`}>
        <header className="message-head">
          <strong>{mine ? "You" : senderName}</strong>
          <time dateTime={message.created_at} className="muted">
            {formatDateTime(message.created_at)}
          </time>
          <span className="kind">{message.kind === "e2e" ? "End-to-end encrypted" : "Standard"}</span>
        </header>
        {removed ? (
          <p className="message-removed">
            <span aria-hidden="true">⊘ </span>This message was removed by moderation.
          </p>
        ) : (
          <>
            <MessageBody read={read} />
            {read && <Attachments message={message} read={read} />}
            <div className="marks">
              <SignatureMark read={read} trust={trust} senderId={message.sender_id} />
              <LedgerMark message={message} />
            </div>
            {!mine && (
              // A disclosure: closed it is one keyboard-reachable "Report" per received message.
              <details className="message-report">
                <summary>Report</summary>
                <ReportForm targetType="message" targetId={message.id} about={`message from ${senderName}`} />
              </details>
            )}
          </>
        )}
      </article>
    </li>
  );
}

function useRead(message: Message, context: ReadContext, removed: boolean): ReadMessage | undefined {
  const [read, setRead] = useState<ReadMessage>();
  const { me, keys } = context;
  useEffect(() => {
    if (removed) return;
    let current = true;
    setRead(undefined);
    void readMessage(message, { me, keys }).then((result) => current && setRead(result));
    return () => {
      current = false;
    };
  }, [message, me, keys, removed]);
  return read;
}

/**
 * The trust in the key that signed a verified message, recomputed when the sender's pinned keys
 * change (a key change seen elsewhere, or the contact verified again) while it is on screen.
 */
function useTrust(message: Message, read: ReadMessage | undefined, me: string): SenderTrust | undefined {
  const [trust, setTrust] = useState<SenderTrust>();
  const [generation, setGeneration] = useState(0);
  const fingerprint = read?.mark.state === "verified" ? read.mark.senderKey : null;
  useEffect(
    () =>
      contactBook.subscribe((owner, contact) => {
        if (owner === me && contact.user_id === message.sender_id) setGeneration((g) => g + 1);
      }),
    [me, message.sender_id],
  );
  useEffect(() => {
    if (!fingerprint) return;
    let current = true;
    senderTrust(message, fingerprint, me).then(
      (found) => current && setTrust(found),
      // Without a verdict on the key the signature still stands: shown without the contact's status.
      () => current && setTrust({ own: false, contactVerified: false, keyChanged: false }),
    );
    return () => {
      current = false;
    };
  }, [message, fingerprint, me, generation]);
  return fingerprint ? trust : undefined;
}

function MessageBody({ read }: { read: ReadMessage | undefined }) {
  if (!read) return <p className="muted message-body">Checking…</p>;
  if (read.body === null) {
    if (read.mark.state === "locked") return <p className="muted message-body">Encrypted. Unlock your keys to read it.</p>;
    return <p className="muted message-body">The content cannot be shown: it could not be verified.</p>;
  }
  return read.body ? <p className="message-body">{read.body}</p> : <p className="muted message-body">(no text)</p>;
}

function Attachments({ message, read }: { message: Message; read: ReadMessage }) {
  if (message.kind === "e2e") {
    if (read.body === null || !read.sealed.length) return null;
    return (
      <ul className="attachments" aria-label="Attachments">
        {read.sealed.map((sealed) => (
          <li key={sealed.id}>
            <AttachmentView id={sealed.id} sealed={sealed} />
          </li>
        ))}
      </ul>
    );
  }
  if (!message.attachment_ids.length || read.body === null) return null;
  return (
    <ul className="attachments" aria-label="Attachments">
      {message.attachment_ids.map((id, index) => (
        <li key={id}>
          <AttachmentView id={id} label={`Attachment ${index + 1}`} />
        </li>
      ))}
    </ul>
  );
}

function SignatureMark({ read, trust, senderId }: { read: ReadMessage | undefined; trust: SenderTrust | undefined; senderId: string }) {
  if (!read || (read.mark.state === "verified" && !trust)) {
    return (
      <span className="mark pending">
        <span aria-hidden="true">◔ </span>Checking signature…
      </span>
    );
  }
  const mark = read.mark;
  switch (mark.state) {
    case "verified":
      return (
        <span className={trust?.keyChanged ? "mark warn" : "mark ok"}>
          <span aria-hidden="true">{trust?.keyChanged ? "⚠ " : "✔ "}</span>Signature verified
          {trust?.own ? (
            <span className="mark-note"> (your key)</span>
          ) : trust?.keyChanged ? (
            <span className="mark-note">
              {" "}
              — the sender's keys changed: <Link to={`/contacts/${senderId}`}>verify them again</Link>
            </span>
          ) : trust?.contactVerified ? (
            <span className="mark-note"> — sender's keys verified by you</span>
          ) : (
            <span className="mark-note">
              {" "}
              — <Link to={`/contacts/${senderId}`}>compare the sender's keys</Link> to be sure who holds them
            </span>
          )}
        </span>
      );
    case "unsigned":
      return (
        <span className="mark neutral">
          <span aria-hidden="true">○ </span>Not signed (standard message: only the server vouches for it)
        </span>
      );
    case "locked":
      return (
        <span className="mark neutral">
          <span aria-hidden="true">○ </span>Not checked yet: your keys are locked
        </span>
      );
    case "failed":
      return (
        <span className="mark bad">
          <span aria-hidden="true">✖ </span>
          {failureTitle(mark.failure)}
          <span className="mark-note">: {mark.problem}</span>
        </span>
      );
  }
}

/** Starts verifying the ledger record once the message is on screen, and again while it is not recorded yet. */
function LedgerMark({ message }: { message: Message }) {
  const ref = useRef<HTMLSpanElement>(null);
  const visible = useOnScreen(ref);
  const [verdict, setVerdict] = useState<LedgerVerdict | undefined>(() => knownVerdict(message.id));
  const [error, setError] = useState<string>();
  const settled = verdict?.status === "verified" || verdict?.status === "failed";

  useEffect(() => {
    if (!visible || settled) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    const check = () => {
      ledgerVerdict(message).then(
        (answer) => {
          if (controller.signal.aborted) return;
          setVerdict(answer);
          setError(undefined);
          const waiting = answer.status === "pending" || (answer.status === "missing" && Date.now() - Date.parse(message.created_at) < MISSING_AFTER_MS);
          if (waiting) timer = setTimeout(check, retryDelay(attempt++));
        },
        (failure: unknown) => {
          if (controller.signal.aborted) return;
          setError(failure instanceof Error ? failure.message : String(failure));
          timer = setTimeout(check, retryDelay(attempt++));
        },
      );
    };
    check();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [visible, settled, message]);

  let content;
  if (verdict?.status === "verified") {
    content = (
      <span className="mark ok">
        <span aria-hidden="true">✔ </span>Recorded in ledger — proof verified
        {verdict.blockHeight != null && <span className="mark-note"> (block {verdict.blockHeight})</span>}
      </span>
    );
  } else if (verdict?.status === "failed") {
    content = (
      <span className="mark bad">
        <span aria-hidden="true">✖ </span>Ledger proof failed<span className="mark-note">: {verdict.problem}</span>
      </span>
    );
  } else if (verdict && (verdict.status === "pending" || Date.now() - Date.parse(message.created_at) < MISSING_AFTER_MS)) {
    content = (
      <span className="mark pending">
        <span aria-hidden="true">◔ </span>Not yet recorded in ledger
      </span>
    );
  } else if (verdict) {
    content = (
      <span className="mark warn">
        <span aria-hidden="true">⚠ </span>Not found in ledger<span className="mark-note">{verdict.problem ? `: ${verdict.problem}` : ""}</span>
      </span>
    );
  } else {
    content = (
      <span className="mark pending">
        <span aria-hidden="true">◔ </span>
        {error ? `Ledger not reachable (${error}); trying again` : "Checking ledger…"}
      </span>
    );
  }
  return <span ref={ref}>{content}</span>;
}

function useOnScreen(ref: React.RefObject<HTMLElement | null>): boolean {
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    if (typeof IntersectionObserver === "undefined") {
      setVisible(true);
      return;
    }
    const observer = new IntersectionObserver((entries) => setVisible(entries.some((entry) => entry.isIntersecting)), { rootMargin: "200px" });
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return visible;
}
