/**
 * Signing in, in one or two steps: the password, then (when 2FA is on) a TOTP or recovery code.
 * Both steps ask for auth's browser mode, so the refresh token lands in its HttpOnly cookie and
 * only the short-lived access token reaches this page (and stays in memory: see api/client.ts).
 */
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useAction } from "../../api/hooks";
import { useSession } from "../../api/session";
import { Button, ErrorMessage, Field } from "../../ui/ui";
import { login, loginSecondFactor, type LoginResult } from "./api";
import { signInError } from "./problems";

/** The second step: the token auth gave for it, and how long it stays open (seconds). */
interface SecondStep {
  mfaToken: string;
  expiresIn: number | null;
}

/** `titled`: show "Sign in" as an h2 (on a page whose h1 says something else). */
export function SignInForm({ titled = false }: { titled?: boolean }) {
  const { signedIn } = useSession();
  const [secondStep, setSecondStep] = useState<SecondStep | null>(null);

  const finish = async (answer: LoginResult) => {
    if (answer.mfa_required && answer.mfa_token) {
      setSecondStep({ mfaToken: answer.mfa_token, expiresIn: answer.expires_in ?? null });
      return;
    }
    if (!answer.access_token) throw new Error("The server answered without an access token.");
    // The session follows the token; the screen that shows this form moves on once signed in.
    await signedIn(answer.access_token);
  };

  const password = useAction(async (username: string, secret: string) => finish(await login(username, secret)));
  const code = useAction(async (mfaToken: string, value: string) => finish(await loginSecondFactor(mfaToken, value)));

  const onPassword = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    void password.run(String(data.get("username") ?? "").trim(), String(data.get("password") ?? ""));
  };
  const onCode = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!secondStep) return;
    const value = String(new FormData(event.currentTarget).get("code") ?? "").replace(/\s+/g, "");
    void code.run(secondStep.mfaToken, value);
  };

  if (secondStep) {
    return (
      <div className="sign-in">
        <h2>Two-factor authentication</h2>
        <p>
          Your password was right. Now enter the 6-digit code your authenticator app shows for BeYou
          {secondStep.expiresIn ? ` (within ${Math.max(1, Math.round(secondStep.expiresIn / 60))} minutes)` : ""}.
        </p>
        <form onSubmit={onCode} aria-label="Second step of sign-in" noValidate>
          <Field
            label="Authentication code"
            name="code"
            autoComplete="one-time-code"
            autoFocus
            required
            spellCheck={false}
            hint="Lost your phone? Enter one of your recovery codes (like ABCDE-FGHIJ) instead; each works once."
          />
          <ErrorMessage error={code.error && signInError(code.error, "code")} />
          <div className="row">
            <Button type="submit" busy={code.busy}>
              Verify and sign in
            </Button>
            <button
              type="button"
              className="button secondary"
              onClick={() => {
                setSecondStep(null);
                code.setError(undefined);
              }}
            >
              Start again
            </button>
          </div>
        </form>
      </div>
    );
  }

  return (
    <div className="sign-in">
      {titled && <h2>Sign in</h2>}
      <form onSubmit={onPassword} aria-label="Sign in" noValidate>
        <Field label="Username or email" name="username" autoComplete="username" required autoCapitalize="none" spellCheck={false} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        <ErrorMessage error={password.error && signInError(password.error, "password")} />
        <div className="row">
          <Button type="submit" busy={password.busy}>
            Sign in
          </Button>
          <Link to="/password-reset">Forgot your password?</Link>
        </div>
      </form>
    </div>
  );
}
