/**
 * Registration: the details are checked here first, then auth's proof-of-work challenge is solved
 * in a Web Worker (src/pow) with a progress bar and a Cancel button, then the account is created
 * and signed in (browser mode), and the person lands on the home page.
 */
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, Navigate } from "react-router";
import { ApiError } from "../../api/client";
import { useSession } from "../../api/session";
import { solveChallenge, type Progress } from "../../pow";
import { Button, ErrorMessage, Field, Notice, Page } from "../../ui/ui";
import { getChallenge, login, register, type Registration } from "./api";
import { signInError } from "./problems";
import { PASSWORD_MAX, PASSWORD_MIN, registrationProblems, workDone } from "./registration";
import "./account.css";

type Phase = "form" | "challenge" | "solving" | "registering" | "signing-in";

const PHASE_TEXT: Record<Exclude<Phase, "form">, string> = {
  challenge: "Getting a registration puzzle from the server…",
  solving: "Your browser is solving the registration puzzle…",
  registering: "Creating your account…",
  "signing-in": "Signing you in…",
};

const EMPTY: Registration = { username: "", email: "", phone: "", password: "" };

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

export function RegisterPage() {
  const { status, signedIn } = useSession();
  const [details, setDetails] = useState<Registration>(EMPTY);
  const [confirmation, setConfirmation] = useState("");
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [phase, setPhase] = useState<Phase>("form");
  const [progress, setProgress] = useState<Progress>({ tried: 0, expected: 1 });
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  // Set once the account exists: a failed sign-in afterwards must not suggest registering again.
  const [created, setCreated] = useState<string>();
  const search = useRef<AbortController | null>(null);

  // Leaving the page stops the search (and its worker).
  useEffect(() => () => search.current?.abort(), []);

  if (status === "signed-in") return <Navigate to="/" replace />;

  const working = phase !== "form";
  const set = (name: keyof Registration) => (event: { target: { value: string } }) =>
    setDetails((current) => ({ ...current, [name]: event.target.value }));

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setError(undefined);
    setNotice(undefined);
    const problems = registrationProblems(details, confirmation);
    setFieldErrors(problems);
    const firstProblem = Object.keys(problems)[0];
    if (firstProblem) {
      // Focus the first field to fix (named as its input), so a keyboard or screen-reader user lands on it.
      const input = event.currentTarget.elements.namedItem(firstProblem);
      if (input instanceof HTMLInputElement) input.focus();
      return;
    }
    const controller = new AbortController();
    search.current = controller;
    try {
      setPhase("challenge");
      const challenge = await getChallenge();
      setProgress({ tried: 0, expected: 2 ** challenge.difficulty });
      setPhase("solving");
      const nonce = await solveChallenge(challenge.token, challenge.difficulty, setProgress, controller.signal);
      setPhase("registering");
      const account = await register(details, { token: challenge.token, nonce });
      setCreated(account.username);
      setPhase("signing-in");
      const answer = await login(account.username, details.password);
      if (!answer.access_token) throw new Error("The server did not sign you in; sign in with your new account.");
      await signedIn(answer.access_token); // the page then moves on to the home page
    } catch (caught) {
      setPhase("form");
      if (isAbort(caught)) {
        setNotice("Cancelled. Nothing was sent; your details are still here.");
      } else {
        if (caught instanceof ApiError) setFieldErrors(caught.fields);
        setError(caught);
      }
    } finally {
      search.current = null;
    }
  };

  // Only once the flow has ended: while signing in, the progress panel says what is happening.
  if (created && phase === "form") {
    return (
      <Page title="Account created">
        <p>
          Welcome, <strong>{created}</strong>. Your account is ready, but signing you in did not work:
        </p>
        <ErrorMessage error={signInError(error, "password")} />
        <p>
          <Link to="/login">Sign in</Link> with your new account.
        </p>
      </Page>
    );
  }

  const work = workDone(progress.tried, progress.expected);
  return (
    <Page title="Create your account">
      <p>
        Already have one? <Link to="/login">Sign in</Link>.
      </p>
      <form onSubmit={submit} noValidate aria-label="Registration" aria-busy={working || undefined}>
        <fieldset disabled={working} className="plain-fieldset">
          <legend className="visually-hidden">Your details</legend>
          <Field
            label="Username"
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            value={details.username}
            onChange={set("username")}
            hint="3 to 32 characters: letters, digits, '_' and '.'. Others find you by it."
            error={fieldErrors.username}
          />
          <Field label="Email" name="email" type="email" autoComplete="email" required value={details.email} onChange={set("email")} error={fieldErrors.email} />
          <Field
            label="Phone"
            name="phone"
            type="tel"
            autoComplete="tel"
            required
            value={details.phone}
            onChange={set("phone")}
            hint="With the country code, such as +14155550123."
            error={fieldErrors.phone}
          />
          <Field
            label="Password"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            value={details.password}
            onChange={set("password")}
            hint={`${PASSWORD_MIN} to ${PASSWORD_MAX} characters; common passwords are refused.`}
            error={fieldErrors.password}
          />
          <Field
            label="Confirm password"
            name="confirmation"
            type="password"
            autoComplete="new-password"
            required
            value={confirmation}
            onChange={(event) => setConfirmation(event.target.value)}
            error={fieldErrors.confirmation}
          />
        </fieldset>
        <ErrorMessage error={error} />
        {notice && <Notice>{notice}</Notice>}
        {working ? (
          <div className="pow panel">
            <p role="status">{PHASE_TEXT[phase as Exclude<Phase, "form">]}</p>
            {phase === "solving" && (
              <>
                <label htmlFor="pow-progress">Registration puzzle: {work.label}</label>
                <progress id="pow-progress" max={progress.expected} value={work.value} />
                <p className="muted">
                  To keep automated sign-ups out, your browser does a little work before the account is created. It usually takes a few
                  seconds.
                </p>
              </>
            )}
            <Button type="button" className="button secondary" onClick={() => search.current?.abort()} disabled={phase !== "solving"}>
              Cancel
            </Button>
          </div>
        ) : (
          <div className="row">
            <Button type="submit">Create account</Button>
          </div>
        )}
      </form>
    </Page>
  );
}
