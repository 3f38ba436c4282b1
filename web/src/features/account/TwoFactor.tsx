/**
 * Two-factor authentication on the security page: set up (password, then scan the QR code or
 * type the secret, then confirm with a code), recovery codes (shown once), replacing them,
 * and turning 2FA off (password and a code).
 */
import { useState, type FormEvent } from "react";
import { useAction } from "../../api/hooks";
import { useSession, type Account } from "../../api/session";
import { Button, ErrorMessage, Field, Notice } from "../../ui/ui";
import { confirmTwoFactor, disableTwoFactor, replaceRecoveryCodes, startTwoFactorSetup, type TwoFactorSetup } from "./api";
import { RecoveryCodes } from "./RecoveryCodes";

const field = (event: FormEvent<HTMLFormElement>, name: string) => String(new FormData(event.currentTarget).get(name) ?? "");
const compact = (code: string) => code.replace(/\s+/g, "");

/** The base32 secret in groups of four, easier to type into an authenticator app. */
export function groupSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, "$1 ");
}

export function TwoFactorSection({ account }: { account: Account }) {
  const { reloadAccount } = useSession();
  const [setup, setSetup] = useState<TwoFactorSetup | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [notice, setNotice] = useState<string>();

  const begin = useAction(async (password: string) => {
    setNotice(undefined);
    setSetup(await startTwoFactorSetup(password));
  });
  const confirm = useAction(async (code: string) => {
    const answer = await confirmTwoFactor(code);
    setCodes(answer.recovery_codes);
    setSetup(null);
    setNotice("Two-factor authentication is on.");
    await reloadAccount();
  });
  const replace = useAction(async (code: string) => {
    setCodes((await replaceRecoveryCodes(code)).recovery_codes);
    setNotice("New recovery codes: the old ones no longer work.");
    return true;
  });
  const disable = useAction(async (password: string, code: string) => {
    await disableTwoFactor(password, code);
    setCodes(null);
    setNotice("Two-factor authentication is off.");
    await reloadAccount();
  });

  return (
    <section aria-labelledby="twofactor-title">
      <h2 id="twofactor-title">Two-factor authentication</h2>
      {notice && <Notice>{notice}</Notice>}
      {codes && <RecoveryCodes codes={codes} username={account.username} onDone={() => setCodes(null)} />}

      {account.totp_enabled ? (
        <>
          <p>
            <span className="status-ok">On.</span> Signing in asks for a code from your authenticator app after the password.
          </p>
          <form
            aria-labelledby="replace-codes-title"
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              const form = event.currentTarget;
              void replace.run(compact(field(event, "code"))).then((done) => done && form.reset());
            }}
          >
            <h3 id="replace-codes-title">New recovery codes</h3>
            <p className="muted">Lost or used up your recovery codes? Get ten new ones; the old ones stop working.</p>
            <Field label="Authentication code" name="code" autoComplete="one-time-code" required spellCheck={false} hint="From your app, or a recovery code." />
            <ErrorMessage error={replace.error} />
            <div>
              <Button type="submit" busy={replace.busy} className="button secondary">
                Replace recovery codes
              </Button>
            </div>
          </form>
          <form
            aria-labelledby="disable-title"
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              void disable.run(field(event, "password"), compact(field(event, "code")));
            }}
          >
            <h3 id="disable-title">Turn off two-factor authentication</h3>
            <Field label="Password" name="password" type="password" autoComplete="current-password" required />
            <Field label="Authentication code" name="code" autoComplete="one-time-code" required spellCheck={false} hint="From your app, or a recovery code." />
            <ErrorMessage error={disable.error} />
            <div>
              <Button type="submit" busy={disable.busy} className="button danger">
                Turn off 2FA
              </Button>
            </div>
          </form>
        </>
      ) : setup ? (
        <div className="totp-setup">
          <ol className="setup-steps">
            <li>
              <p>Scan this QR code with an authenticator app (such as FreeOTP, Aegis, Google Authenticator or 1Password):</p>
              <img
                className="qr"
                src={`data:image/png;base64,${setup.qr_png_base64}`}
                alt={`QR code for your authenticator app: BeYou, account ${account.username}. The same secret is written out below.`}
                width={220}
                height={220}
              />
            </li>
            <li>
              <p>Or type this secret into the app (time-based, 6 digits, every 30 seconds):</p>
              <p>
                Secret key: <code className="secret">{groupSecret(setup.secret)}</code>
              </p>
              <p className="muted small">
                On a phone, <a href={setup.otpauth_uri}>open the setup link in your authenticator app</a>.
              </p>
            </li>
            <li>
              <form
                aria-label="Confirm two-factor authentication"
                noValidate
                onSubmit={(event) => {
                  event.preventDefault();
                  void confirm.run(compact(field(event, "code")));
                }}
              >
                <Field label="Code from the app" name="code" inputMode="numeric" autoComplete="one-time-code" required autoFocus spellCheck={false} />
                <ErrorMessage error={confirm.error} />
                <div className="row">
                  <Button type="submit" busy={confirm.busy}>
                    Turn on 2FA
                  </Button>
                  <button type="button" className="button secondary" onClick={() => setSetup(null)}>
                    Cancel
                  </button>
                </div>
              </form>
            </li>
          </ol>
        </div>
      ) : (
        <form
          aria-label="Set up two-factor authentication"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void begin.run(field(event, "password"));
          }}
        >
          <p>
            <span className="status-warn">Off.</span> With 2FA on, signing in also needs a code from an app on your phone, so a stolen
            password is not enough.
          </p>
          <Field label="Password" name="password" type="password" autoComplete="current-password" required hint="Your current password, to start the setup." />
          <ErrorMessage error={begin.error} />
          <div>
            <Button type="submit" busy={begin.busy}>
              Set up 2FA
            </Button>
          </div>
        </form>
      )}
    </section>
  );
}
