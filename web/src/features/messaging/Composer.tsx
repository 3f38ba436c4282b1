/**
 * Writing a message: end-to-end encrypted (sealed and signed here) or standard (signed here when my
 * keys are unlocked), with files. The kind chosen is remembered for the conversation in this browser.
 */
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { UnlockedKeys, VaultStatus } from "../../crypto/vault";
import { Button, ErrorMessage, TextArea } from "../../ui/ui";
import type { Conversation, Message } from "./api";
import { conversationModes } from "./contactBook";
import type { MessageKind } from "./contactStore";
import { VaultPrompt } from "./VaultPrompt";
import { CannotSend, sendE2e, sendStandard } from "./sending";

const MAX_FILES = 10;
const MAX_BODY = 10_000;

interface ComposerProps {
  conversation: Conversation;
  me: string;
  keys: UnlockedKeys | null;
  vaultStatus: VaultStatus;
  /** The kind of the newest message: the default when this browser has no choice remembered. */
  latestKind: MessageKind | undefined;
  onSent: (message: Message) => void;
  onKeysChecked: () => void;
  /** The page already shows the unlock prompt (above the messages): do not show a second one. */
  unlockShownAbove: boolean;
}

export function Composer({ conversation, me, keys, vaultStatus, latestKind, onSent, onKeysChecked, unlockShownAbove }: ComposerProps) {
  const [kind, setKind] = useState<MessageKind>();
  const [body, setBody] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [warnings, setWarnings] = useState<string[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const filesId = useId();
  const latest = useRef(latestKind);
  latest.current = latestKind;

  useEffect(() => {
    let current = true;
    setKind(undefined);
    conversationModes.getMode(me, conversation.id).then(
      (stored) => current && setKind(stored ?? latest.current ?? "standard"),
      () => current && setKind(latest.current ?? "standard"),
    );
    return () => {
      current = false;
    };
  }, [me, conversation.id]);

  function choose(next: MessageKind) {
    setKind(next);
    void conversationModes.setMode(me, conversation.id, next).catch(() => undefined);
  }

  const needsKeys = kind === "e2e" && !keys;
  const empty = !body.trim() && files.length === 0;

  async function send(event?: FormEvent) {
    event?.preventDefault();
    if (!kind || needsKeys || empty || busy) return;
    setBusy(true);
    setError(undefined);
    setWarnings([]);
    try {
      const sent =
        kind === "e2e"
          ? await sendE2e({ conversationId: conversation.id, body, files, keys: keys!, me })
          : await sendStandard({ conversationId: conversation.id, body, files, keys });
      onSent(sent.message);
      setWarnings(sent.warnings);
      setBody("");
      setFiles([]);
      if (fileInput.current) fileInput.current.value = "";
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
      if (kind === "e2e") onKeysChecked();
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) void send();
  }

  if (!kind) return null;
  return (
    <section className="composer" aria-labelledby="composer-heading">
      <h2 id="composer-heading">Write a message</h2>
      {/* The kind is the composer's state, not a form value; and the unlock prompt is a form of its own (forms do not nest). */}
      <fieldset className="kind-choice">
        <legend>Kind of message</legend>
        <label className="choice">
          <input type="radio" name="kind" value="e2e" checked={kind === "e2e"} onChange={() => choose("e2e")} /> End-to-end encrypted
        </label>
        <label className="choice">
          <input type="radio" name="kind" value="standard" checked={kind === "standard"} onChange={() => choose("standard")} /> Standard
        </label>
      </fieldset>
      {needsKeys &&
        (unlockShownAbove ? (
          <p className="muted">Sending end-to-end encrypted messages needs your keys too (see above).</p>
        ) : (
          <VaultPrompt status={vaultStatus} reason="to send end-to-end encrypted messages" />
        ))}
      <form onSubmit={(event) => void send(event)}>
        <TextArea
          label="Message"
          hint="Ctrl+Enter sends."
          value={body}
          maxLength={MAX_BODY}
          onChange={(event) => setBody(event.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="field">
          <label htmlFor={filesId}>Attach files (at most {MAX_FILES})</label>
          <input
            id={filesId}
            ref={fileInput}
            type="file"
            multiple
            aria-describedby={`${filesId}-hint`}
            onChange={(event) => setFiles([...(event.target.files ?? [])].slice(0, MAX_FILES))}
          />
          <small id={`${filesId}-hint`}>
            {kind === "e2e"
              ? "Files are encrypted in this browser before they are uploaded."
              : "Standard messages take images (JPEG, PNG, WebP) and PDFs; attachments need a verified account."}
          </small>
        </div>
        {error instanceof CannotSend ? (
          <p className="error" role="alert">
            {error.message}
          </p>
        ) : (
          <ErrorMessage error={error} />
        )}
        {warnings.map((warning) => (
          <p key={warning} className="warning" role="status">
            {warning}
          </p>
        ))}
        <Button type="submit" busy={busy} disabled={needsKeys || empty}>
          {kind === "e2e" ? "Send encrypted" : "Send"}
        </Button>
      </form>
    </section>
  );
}
