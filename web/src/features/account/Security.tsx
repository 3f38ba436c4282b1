/** `/security`: two-factor authentication, the sessions list, and the password. */
import { useState } from "react";
import { Link } from "react-router";
import { useSession } from "../../api/session";
import { Page } from "../../ui/ui";
import { PasswordSection } from "./PasswordChange";
import { SessionsSection } from "./Sessions";
import { TwoFactorSection } from "./TwoFactor";
import "./account.css";

export function SecurityPage() {
  const { account } = useSession();
  // Bumped when something outside the sessions list signs sessions out (a password change).
  const [sessionsVersion, setSessionsVersion] = useState(0);
  if (!account) return null; // RequireSignIn renders this page only once the account is known
  return (
    <Page title="Security">
      <p className="muted">
        Signed in as <strong>{account.username}</strong>. Your encryption keys are on the <Link to="/keys">Keys</Link> page.
      </p>
      <TwoFactorSection account={account} />
      <SessionsSection version={sessionsVersion} />
      <PasswordSection onChanged={() => setSessionsVersion((v) => v + 1)} />
    </Page>
  );
}
