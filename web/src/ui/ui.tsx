/**
 * The shared building blocks every screen uses, so that forms, errors and loading look and
 * behave alike (and stay accessible: every input has a label, errors are announced).
 */
import { useEffect, useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";
import { ApiError } from "../api/client";

/** Sets the document title and renders the page's one h1. */
export function Page({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · BeYou`;
  }, [title]);
  return (
    <section className="page" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">{title}</h1>
        {actions && <div className="page-actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}

/** An error from the API (problem+json) or elsewhere, as a readable alert. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  let title = "Something went wrong";
  let detail: string | undefined = error instanceof Error ? error.message : String(error);
  if (error instanceof ApiError) {
    title = error.title;
    detail = error.detail;
    const fields = Object.entries(error.fields);
    if (fields.length) detail = [detail, ...fields.map(([name, message]) => `${name}: ${message}`)].filter(Boolean).join(" ");
  }
  return (
    <div className="error" role="alert">
      <strong>{title}</strong>
      {detail && detail !== title && <span> {detail}</span>}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/** Loading, error or the content: the usual three states of a screen's data. */
export function Loaded<T>({ state, children }: { state: { data: T | undefined; error?: unknown; loading: boolean }; children: (data: T) => ReactNode }) {
  if (state.error) return <ErrorMessage error={state.error} />;
  if (state.loading && state.data === undefined) return <Loading />;
  if (state.data === undefined) return null;
  return <>{children(state.data)}</>;
}

type FieldProps = { label: string; hint?: string; error?: string } & InputHTMLAttributes<HTMLInputElement>;

export function Field({ label, hint, error, id, ...input }: FieldProps) {
  const generated = useId();
  const inputId = id ?? generated;
  const hintId = hint ? `${inputId}-hint` : undefined;
  const errorId = error ? `${inputId}-error` : undefined;
  return (
    <div className="field">
      <label htmlFor={inputId}>{label}</label>
      <input id={inputId} aria-describedby={[hintId, errorId].filter(Boolean).join(" ") || undefined} aria-invalid={error ? true : undefined} {...input} />
      {hint && <small id={hintId}>{hint}</small>}
      {error && <small id={errorId} className="field-error">{error}</small>}
    </div>
  );
}

export function TextArea({ label, hint, id, ...rest }: { label: string; hint?: string } & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const generated = useId();
  const inputId = id ?? generated;
  return (
    <div className="field">
      <label htmlFor={inputId}>{label}</label>
      <textarea id={inputId} aria-describedby={hint ? `${inputId}-hint` : undefined} {...rest} />
      {hint && <small id={`${inputId}-hint`}>{hint}</small>}
    </div>
  );
}

export function Select({ label, children, id, ...rest }: { label: string; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>) {
  const generated = useId();
  const inputId = id ?? generated;
  return (
    <div className="field">
      <label htmlFor={inputId}>{label}</label>
      <select id={inputId} {...rest}>
        {children}
      </select>
    </div>
  );
}

/** A submit (or plain) button that shows it is working and cannot be pressed twice meanwhile. */
export function Button({ busy, children, className, disabled, ...rest }: { busy?: boolean } & React.ButtonHTMLAttributes<HTMLButtonElement>) {
  return (
    <button className={className ?? "button"} disabled={disabled || busy} aria-busy={busy || undefined} {...rest}>
      {busy && <span className="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

/** A short, polite confirmation ("Saved.") for screen readers and eyes. */
export function Notice({ children }: { children: ReactNode }) {
  return (
    <p className="notice" role="status">
      {children}
    </p>
  );
}

export function formatDateTime(value: string | null | undefined): string {
  if (!value) return "";
  return new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Minor units and an ISO 4217 code as money ("12.50 EUR" in the reader's locale). */
export function formatMoney(minor: number, currency: string): string {
  try {
    const digits = new Intl.NumberFormat(undefined, { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 10 ** digits);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}
