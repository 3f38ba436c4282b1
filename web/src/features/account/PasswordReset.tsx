/**
 * `/password-reset`, auth's three steps: start with a username or email; prove control of the
 * account with a code (TOTP or recovery code when 2FA is on, else the one-time code auth sends);
 * set the new password. Success signs out every session of the account.
 */
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { ApiError, setAccessToken } from "../../api/client";
import { useAction } from "../../api/hooks";
import { useSession } from "../../api/session";
import { Button, ErrorMessage, Field, Page, formatDateTime } from "../../ui/ui";
import { confirmPasswordReset, startPasswordReset, verifyPasswordReset } from "./api";
import { waitText } from "./problems";
import { PASSWORD_MAX, PASSWORD_MIN } from "./registration";

type Step = { name: "start" } | { name: "verify"; resetId: string; expiresAt: string } | { name: "confirm"; resetId: string; expiresAt: string } | { name: "done" };

/** Clearer words for the answers that end or pause a reset. */
function resetError(error: ApiError | Error | undefined): unknown {
  if (!(error instanceof ApiError)) return error;
  if (error.status === 410) {
    return new ApiError(410, { title: "This reset is over", detail: "It expired, was used, or had too many wrong codes. Start again." });
  }
  if (error.status === 429) return new ApiError(429, { title: "Too many reset attempts", detail: waitText(error) });
  return error;
}

export function PasswordResetPage() {
  const { status } = useSession();
  const [step, setStep] = useState<Step>({ name: "start" });
  const [mismatch, setMismatch] = useState<string>();

  const start = useAction(async (login: string) => {
    const started = await startPasswordReset(login);
    setStep({ name: "verify", resetId: started.reset_id, expiresAt: started.expires_at });
  });
  const verify = useAction(async (resetId: string, code: string) => {
    const verified = await verifyPasswordReset(resetId, code);
    setStep({ name: "confirm", resetId, expiresAt: verified.expires_at });
  });
  const confirm = useAction(async (resetId: string, password: string) => {
    await confirmPasswordReset(resetId, password);
    // auth has signed out every session of the account, this browser's included (if it was one).
    if (status === "signed-in") setAccessToken(null);
    setStep({ name: "done" });
  });

  const restart = () => {
    for (const action of [start, verify, confirm]) action.setError(undefined);
    setStep({ name: "start" });
  };
  const over = (error: unknown) => error instanceof ApiError && error.status === 410;

  const value = (event: FormEvent<HTMLFormElement>, name: string) => String(new FormData(event.currentTarget).get(name) ?? "");

  return (
    <Page title="Reset your password">
      <ol className="steps" aria-label="Steps">
        <li aria-current={step.name === "start" ? "step" : undefined}>Who you are</li>
        <li aria-current={step.name === "verify" ? "step" : undefined}>Prove it with a code</li>
        <li aria-current={step.name === "confirm" ? "step" : undefined}>New password</li>
      </ol>

      {step.name === "start" && (
        <form
          aria-label="Start a password reset"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void start.run(value(event, "login").trim());
          }}
        >
          <Field label="Username or email" name="login" autoComplete="username" autoCapitalize="none" spellCheck={false} required autoFocus />
          <ErrorMessage error={resetError(start.error)} />
          <div className="row">
            <Button type="submit" busy={start.busy}>
              Continue
            </Button>
            <Link to="/login">Back to sign in</Link>
          </div>
        </form>
      )}

      {step.name === "verify" && (
        <form
          aria-label="Verify the reset code"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void verify.run(step.resetId, value(event, "code").replace(/\s+/g, ""));
          }}
        >
          <div className="panel reset-help">
            <p>Enter one of these (this step is open until {formatDateTime(step.expiresAt)}):</p>
            <ul>
              <li>
                <strong>Two-factor authentication on:</strong> the current code from your authenticator app, or one of your recovery codes.
              </li>
              <li>
                <strong>Otherwise:</strong> the 8-digit code sent to your account's email address. If no such account exists, no code is
                sent; this page looks the same either way, so that it reveals nothing about who has an account.
              </li>
            </ul>
            <p className="muted">
              On a development server (<code>make dev</code>) no email is sent: auth writes the code to its log (
              <code>.dev/logs/auth.log</code>, a line “one-time code”), for the developer to read.
            </p>
          </div>
          <Field label="Code" name="code" autoComplete="one-time-code" spellCheck={false} required autoFocus />
          <ErrorMessage error={resetError(verify.error)} />
          <div className="row">
            {!over(verify.error) && (
              <Button type="submit" busy={verify.busy}>
                Verify
              </Button>
            )}
            <button type="button" className="button secondary" onClick={restart}>
              Start again
            </button>
          </div>
        </form>
      )}

      {step.name === "confirm" && (
        <form
          aria-label="Set a new password"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            const password = value(event, "password");
            if (password !== value(event, "confirmation")) {
              setMismatch("The two passwords differ.");
              return;
            }
            setMismatch(undefined);
            void confirm.run(step.resetId, password);
          }}
        >
          <p>Code accepted. Choose a new password before {formatDateTime(step.expiresAt)}.</p>
          <Field
            label="New password"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            autoFocus
            hint={`${PASSWORD_MIN} to ${PASSWORD_MAX} characters; common passwords are refused.`}
            error={confirm.error instanceof ApiError ? confirm.error.fields.new_password : undefined}
          />
          <Field label="Confirm new password" name="confirmation" type="password" autoComplete="new-password" required error={mismatch} />
          <ErrorMessage error={resetError(confirm.error)} />
          <div className="row">
            {!over(confirm.error) && (
              <Button type="submit" busy={confirm.busy}>
                Set new password
              </Button>
            )}
            <button type="button" className="button secondary" onClick={restart}>
              Start again
            </button>
          </div>
        </form>
      )}

      {step.name === "done" && (
        <div role="status">
          <p className="notice">Your password has been changed, and every session of your account has been signed out.</p>
          <p>
            <Link className="button" to="/login">
              Sign in with the new password
            </Link>
          </p>
        </div>
      )}
    </Page>
  );
}
