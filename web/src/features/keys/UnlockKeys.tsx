/**
 * `<UnlockKeys>`: what a screen shows when it needs the user's private keys. Unlocked: its children
 * (or nothing). Locked: a passphrase prompt. None in this browser: a link to set them up on /keys.
 */
import { useState, type FormEvent, type ReactNode } from "react";
import { Link } from "react-router";
import { useAction } from "../../api/hooks";
import { vault } from "../../crypto/vault";
import { Button, ErrorMessage, Field, Loading } from "../../ui/ui";
import { useKeyVault } from "./useKeyVault";
import "./keys.css";

export function UnlockKeys({ children, reason = "to read and send end-to-end encrypted messages" }: { children?: ReactNode; reason?: string }) {
  const state = useKeyVault();
  if (state.status === "unlocked") return <>{children}</>;
  if (state.error) return <ErrorMessage error={state.error} />;
  if (state.status === "unknown") return <Loading label="Looking for your keys…" />;
  if (state.status === "none") {
    return (
      <div className="panel unlock-keys" role="region" aria-label="Your encryption keys">
        <p>
          This browser holds none of your encryption keys. You need them {reason}.{" "}
          <Link to="/keys">Set up your keys</Link> (make new ones, or import a backup).
        </p>
      </div>
    );
  }
  return <UnlockForm reason={reason} />;
}

/** The passphrase prompt (also used by the keys page). */
export function UnlockForm({ reason }: { reason?: string }) {
  const [passphrase, setPassphrase] = useState("");
  const unlock = useAction((value: string) => vault.unlock(value));
  async function submit(event: FormEvent) {
    event.preventDefault();
    await unlock.run(passphrase);
    setPassphrase("");
  }
  return (
    <form className="panel unlock-keys" onSubmit={submit} aria-label="Unlock your keys">
      <p>Your keys are locked{reason ? `: unlock them ${reason}` : ""}. They stay unlocked in this tab until you lock them, close it or sign out.</p>
      <Field label="Key passphrase" type="password" autoComplete="current-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} required />
      <ErrorMessage error={unlock.error} />
      <div className="row">
        <Button type="submit" busy={unlock.busy}>
          {unlock.busy ? "Unlocking…" : "Unlock keys"}
        </Button>
      </div>
    </form>
  );
}
