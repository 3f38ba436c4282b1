/**
 * Making a report: of a user, a message I received or a marketplace item, with a reason for staff
 * and an optional screenshot (the API re-encodes it and keeps it from everyone but me and staff).
 * Other screens may embed it with a fixed target, or link to /reports?target_type=…&target_id=….
 */
import { useEffect, useId, useState, type FormEvent } from "react";
import { ApiError } from "../../api/client";
import { useAction } from "../../api/hooks";
import { Button, ErrorMessage, Field, Notice, Select, TextArea } from "../../ui/ui";
import { social, type Report, type ReportTarget } from "./api";
import "./social.css";

export const TARGET_LABELS: Record<ReportTarget, string> = { user: "A person", message: "A message", item: "A marketplace item" };
const IMAGE_TYPES = "image/jpeg,image/png,image/webp";
const SCREENSHOT_MAX_BYTES = 5 * 1024 * 1024;

export function ReportForm({ targetType, targetId, about, onReported }: {
  /** Fixed target (the form then asks only for the reason and screenshot). */
  targetType?: ReportTarget;
  targetId?: string;
  /** How the fixed target is named to the reader ("alice"). */
  about?: string;
  onReported?: (report: Report) => void;
}) {
  const fixed = !!(targetType && targetId);
  const [type, setType] = useState<ReportTarget>(targetType ?? "user");
  const [id, setId] = useState(targetId ?? "");
  const [reason, setReason] = useState("");
  const [screenshot, setScreenshot] = useState<File | null>(null);
  const [preview, setPreview] = useState<string>();
  const [fileError, setFileError] = useState<string>();
  const [done, setDone] = useState<Report>();
  const [fileKey, setFileKey] = useState(0);
  const formId = useId();

  useEffect(() => {
    setType(targetType ?? "user");
    setId(targetId ?? "");
  }, [targetType, targetId]);

  useEffect(() => {
    if (!screenshot) return setPreview(undefined);
    const url = URL.createObjectURL(screenshot);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [screenshot]);

  const submit = useAction(async () => {
    const report = await social.report({ target_type: type, target_id: id.trim(), reason: reason.trim(), screenshot });
    setDone(report);
    setReason("");
    setScreenshot(null);
    setFileKey((k) => k + 1);
    onReported?.(report);
  });

  function pick(file: File | undefined) {
    setFileError(undefined);
    if (file && file.size > SCREENSHOT_MAX_BYTES) {
      setFileError("The screenshot is larger than 5 MB.");
      setScreenshot(null);
      return;
    }
    setScreenshot(file ?? null);
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    setDone(undefined);
    void submit.run();
  }

  const fields = submit.error instanceof ApiError ? submit.error.fields : {};
  return (
    <form onSubmit={onSubmit} aria-label={fixed ? `Report ${about ?? ""}`.trim() : "New report"}>
      {!fixed && (
        <>
          <Select label="What are you reporting?" value={type} onChange={(event) => setType(event.target.value as ReportTarget)}>
            {(Object.keys(TARGET_LABELS) as ReportTarget[]).map((value) => (
              <option key={value} value={value}>
                {TARGET_LABELS[value]}
              </option>
            ))}
          </Select>
          <Field
            label="Its id"
            hint="The user's, message's or item's id. Easier: use “Report” on their page, the message or the item."
            required
            value={id}
            onChange={(event) => setId(event.target.value)}
            error={fields.target_id}
            autoComplete="off"
            spellCheck={false}
          />
        </>
      )}
      <TextArea
        label="What is wrong?"
        hint="For staff only: the person reported never sees it. At most 1000 characters."
        required
        maxLength={1000}
        value={reason}
        onChange={(event) => setReason(event.target.value)}
      />
      <div className="field">
        <label htmlFor={`${formId}-screenshot`}>Screenshot (optional)</label>
        <input
          key={fileKey}
          id={`${formId}-screenshot`}
          type="file"
          accept={IMAGE_TYPES}
          aria-describedby={`${formId}-screenshot-hint`}
          onChange={(event) => pick(event.target.files?.[0])}
        />
        <small id={`${formId}-screenshot-hint`}>A JPEG, PNG or WebP image of at most 5 MB; only you and staff see it.</small>
        {fileError && <small className="field-error" role="alert">{fileError}</small>}
      </div>
      {preview && <img className="screenshot-preview" src={preview} alt="Preview of the screenshot to send" />}
      <ErrorMessage error={submit.error} />
      {done && <Notice>Report sent. Staff will look at it; you can follow it under “My reports”.</Notice>}
      <div className="row">
        <Button type="submit" busy={submit.busy} disabled={!reason.trim() || !id.trim() || !!fileError}>
          Send report
        </Button>
      </div>
    </form>
  );
}
