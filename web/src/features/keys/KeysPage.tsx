/**
 * `/keys`: the user's end-to-end keys. Whether this browser holds them (locked or unlocked), the
 * keys registered with auth (and whether the ledger proves them), and what to do: make and register
 * keys under a passphrase, unlock, rotate, back up to a file, import a backup (or the CLI's keys.json).
 */
import { useEffect, useState, type FormEvent } from "react";
import { useAction, useAsync } from "../../api/hooks";
import { useSession } from "../../api/session";
import { groupedFingerprint, type KeyFamily, type RegisteredKey } from "../../crypto/keys";
import { userKeys } from "../../crypto/messages";
import { vault, type KeySummary } from "../../crypto/vault";
import { verifyKeyLogged } from "../../ledger/verify";
import { Button, ErrorMessage, Field, formatDateTime, Loaded, Loading, Notice, Page, Select } from "../../ui/ui";
import { UnlockForm } from "./UnlockKeys";
import { useKeyVault } from "./useKeyVault";
import "./keys.css";

const MIN_PASSPHRASE = 10;

export function KeysPage() {
  const { account } = useSession();
  const state = useKeyVault();
  const held = state.keys.map((key) => `${key.fingerprint}:${key.status}`).join();
  const registered = useAsync(() => (account ? userKeys(account.id, { refresh: true }) : Promise.resolve([])), [account?.id, held]);
  if (!account) return null;
  const serverActive = (registered.data ?? []).filter((key) => key.active);
  return (
    <Page title="Keys">
      <p>
        Your keys encrypt and sign your end-to-end messages. They are made in this browser and never leave it unencrypted: the private keys are stored here
        encrypted with your passphrase, and only their public halves are registered with BeYou. Keep a backup file: without it, a lost browser means messages
        you can no longer read.
      </p>
      <section aria-labelledby="this-browser">
        <h2 id="this-browser">This browser</h2>
        {state.error ? <ErrorMessage error={state.error} /> : state.status === "unknown" ? <Loading label="Looking for your keys in this browser…" /> : <BrowserKeys status={state.status} keys={state.keys} serverActive={serverActive} username={account.username} />}
      </section>
      <section aria-labelledby="registered-keys">
        <h2 id="registered-keys">Registered keys</h2>
        <p className="muted">The public keys BeYou has for your account, newest first. Others encrypt to your active encryption key and check your signatures with your signing keys; retired keys stay listed so that old messages remain verifiable.</p>
        <Loaded state={registered}>{(keys) => <RegisteredKeys keys={keys} held={state.keys} userId={account.id} />}</Loaded>
      </section>
    </Page>
  );
}

function BrowserKeys({ status, keys, serverActive, username }: { status: "none" | "locked" | "unlocked"; keys: KeySummary[]; serverActive: RegisteredKey[]; username: string }) {
  if (status === "none") {
    return (
      <>
        <p>
          Status: <span className="key-status locked">No keys in this browser</span>
        </p>
        {serverActive.length > 0 && (
          <div className="warning" role="status">
            Your account already has keys registered elsewhere (with the command-line client or another browser), and this browser does not hold them. Import a
            backup of those keys to read your messages here. Making new keys here instead replaces them: messages sent to the old keys stay readable only
            where those keys are.
          </div>
        )}
        {serverActive.length > 0 ? (
          <div className="keys-actions">
            <ImportForm replacing={false} />
            <CreateForm elsewhere />
          </div>
        ) : (
          <div className="keys-actions">
            <CreateForm elsewhere={false} />
            <ImportForm replacing={false} />
          </div>
        )}
      </>
    );
  }
  if (status === "locked") {
    return (
      <>
        <p>
          Status: <span className="key-status locked">Locked</span>
        </p>
        <UnlockForm />
        <div className="keys-actions">
          <ImportForm replacing />
          <ForgetKeys />
        </div>
      </>
    );
  }
  return <UnlockedKeys keys={keys} serverActive={serverActive} username={username} />;
}

function UnlockedKeys({ keys, serverActive, username }: { keys: KeySummary[]; serverActive: RegisteredKey[]; username: string }) {
  const pending = keys.some((key) => key.status === "pending");
  const finish = useAction(() => vault.registerPending());
  const stale = (["signing", "encryption"] as const).filter((purpose) => {
    const mine = keys.find((key) => key.purpose === purpose && key.status === "active");
    const theirs = serverActive.find((key) => key.purpose === purpose);
    return theirs && mine?.fingerprint !== theirs.fingerprint;
  });
  return (
    <>
      <div className="row">
        <p>
          Status: <span className="key-status active">Unlocked</span> in this tab.
        </p>
        <Button type="button" className="button secondary" onClick={() => vault.lock()}>
          Lock keys
        </Button>
      </div>
      {stale.length > 0 && (
        <div className="warning" role="status">
          Your active {stale.join(" and ")} key on BeYou is not the one in this browser: it was replaced elsewhere (the command-line client or another browser).
          Import your latest backup, or rotate here to make this browser's keys your active ones.
        </div>
      )}
      {pending && (
        <div className="warning" role="status">
          <p>Some keys were made but not registered yet (the registration was interrupted).</p>
          <ErrorMessage error={finish.error} />
          <Button type="button" busy={finish.busy} onClick={() => void finish.run()}>
            Finish registering
          </Button>
        </div>
      )}
      <HeldKeys keys={keys} />
      <div className="keys-actions">
        <RotateForm />
        <ExportForm username={username} />
        <ImportForm replacing />
      </div>
    </>
  );
}

function HeldKeys({ keys }: { keys: KeySummary[] }) {
  return (
    <div className="table-wrap">
      <table className="keys-table">
        <caption className="visually-hidden">Keys held in this browser</caption>
        <thead>
          <tr>
            <th scope="col">Purpose</th>
            <th scope="col">Algorithm</th>
            <th scope="col">Fingerprint</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {[...keys].reverse().map((key) => (
            <tr key={key.fingerprint}>
              <td data-label="Purpose">{key.purpose}</td>
              <td data-label="Algorithm">{algorithmName(key.algorithm)}</td>
              <td data-label="Fingerprint" className="fingerprint">{groupedFingerprint(key.fingerprint)}</td>
              <td data-label="Status">
                <span className={`key-status ${key.status}`}>{key.status}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RegisteredKeys({ keys, held, userId }: { keys: RegisteredKey[]; held: KeySummary[]; userId: string }) {
  if (!keys.length) return <p>No keys are registered for your account yet.</p>;
  return (
    <div className="table-wrap">
      <table className="keys-table">
        <caption className="visually-hidden">Public keys registered for your account</caption>
        <thead>
          <tr>
            <th scope="col">Purpose</th>
            <th scope="col">Fingerprint</th>
            <th scope="col">State</th>
            <th scope="col">Registered</th>
            <th scope="col">In this browser</th>
            <th scope="col">Ledger</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key.fingerprint}>
              <td data-label="Purpose">
                {key.purpose} <span className="muted">({algorithmName(key.algorithm)})</span>
              </td>
              <td data-label="Fingerprint" className="fingerprint">{groupedFingerprint(key.fingerprint)}</td>
              <td data-label="State">
                <span className={`key-status ${key.active ? "active" : "retired"}`}>{key.active ? "active" : "retired"}</span>
              </td>
              <td data-label="Registered">{formatDateTime(key.created_at)}</td>
              <td data-label="In this browser">{held.some((mine) => mine.fingerprint === key.fingerprint) ? "Yes" : held.length ? "No" : "Unknown (locked)"}</td>
              <td data-label="Ledger">{key.active ? <KeyInLedger fingerprint={key.fingerprint} userId={userId} purpose={key.purpose} /> : <span className="muted">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Key transparency: the registration proven in the ledger against a signed checkpoint. */
function KeyInLedger({ fingerprint, userId, purpose }: { fingerprint: string; userId: string; purpose?: string }) {
  const verdict = useAsync(() => verifyKeyLogged(fingerprint, { userId, purpose: purpose === "signing" || purpose === "encryption" ? purpose : undefined }), [fingerprint, userId]);
  if (verdict.loading) return <span className="muted">Checking…</span>;
  if (verdict.error) return <span className="muted">Could not check ({verdict.error.message})</span>;
  const result = verdict.data!;
  if (result.status === "verified") return <span className="key-status active">Logged, proof verified</span>;
  if (result.status === "pending") return <span className="muted">Logged, awaiting the next block</span>;
  if (result.status === "missing") return <span className="muted">Not logged yet</span>;
  return <span className="field-error">Check failed: {result.problem}</span>;
}

function CreateForm({ elsewhere }: { elsewhere: boolean }) {
  const [passphrase, setPassphrase] = useState("");
  const [confirm, setConfirm] = useState("");
  const [family, setFamily] = useState<KeyFamily>("ed25519");
  const [problem, setProblem] = useState<{ passphrase?: string; confirm?: string }>({});
  const create = useAction((value: string, kind: KeyFamily) => vault.createKeys(value, kind));
  async function submit(event: FormEvent) {
    event.preventDefault();
    const found = {
      passphrase: passphrase.length < MIN_PASSPHRASE ? `Use at least ${MIN_PASSPHRASE} characters.` : undefined,
      confirm: confirm !== passphrase ? "The two passphrases differ." : undefined,
    };
    setProblem(found);
    if (found.passphrase || found.confirm) return;
    await create.run(passphrase, family);
  }
  return (
    <form onSubmit={submit} aria-labelledby="create-keys" noValidate>
      <h3 id="create-keys">{elsewhere ? "Make new keys here instead" : "Make your keys"}</h3>
      <p className="muted">New keys are made in this browser, stored here encrypted with this passphrase, and their public halves registered with BeYou. Nobody can reset this passphrase: write it down.</p>
      <Field label="New passphrase" type="password" autoComplete="new-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} hint={`At least ${MIN_PASSPHRASE} characters.`} error={problem.passphrase} required />
      <Field label="Repeat the passphrase" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} error={problem.confirm} required />
      <Select label="Key type" value={family} onChange={(e) => setFamily(e.target.value as KeyFamily)}>
        <option value="ed25519">Ed25519 and X25519 (recommended)</option>
        <option value="rsa">RSA 3072</option>
      </Select>
      <ErrorMessage error={create.error} />
      <div className="row">
        <Button type="submit" busy={create.busy}>
          {create.busy ? "Making and registering keys…" : "Make and register keys"}
        </Button>
      </div>
    </form>
  );
}

function RotateForm() {
  const [family, setFamily] = useState<KeyFamily>("ed25519");
  const [done, setDone] = useState(false);
  const rotate = useAction(async (kind: KeyFamily) => {
    await vault.rotate(kind);
    setDone(true);
  });
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        setDone(false);
        void rotate.run(family);
      }}
      aria-labelledby="rotate-keys"
    >
      <h3 id="rotate-keys">Rotate keys</h3>
      <p className="muted">New keys replace your active ones. The old ones are kept here, retired, so you can still read and verify older messages. Your contacts will see that your keys changed. Export a new backup afterwards.</p>
      <Select label="New key type" value={family} onChange={(e) => setFamily(e.target.value as KeyFamily)}>
        <option value="ed25519">Ed25519 and X25519 (recommended)</option>
        <option value="rsa">RSA 3072</option>
      </Select>
      <ErrorMessage error={rotate.error} />
      {done && <Notice>Your new keys are registered and active.</Notice>}
      <div className="row">
        <Button type="submit" className="button secondary" busy={rotate.busy}>
          {rotate.busy ? "Rotating…" : "Rotate keys"}
        </Button>
      </div>
    </form>
  );
}

function ExportForm({ username }: { username: string }) {
  const [passphrase, setPassphrase] = useState("");
  const [url, setUrl] = useState<string | null>(null);
  const exportKeys = useAction(async (value: string) => {
    const blob = await vault.exportBackup(value);
    setUrl(URL.createObjectURL(blob));
    setPassphrase("");
  });
  useEffect(() => () => void (url && URL.revokeObjectURL(url)), [url]);
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        setUrl(null);
        void exportKeys.run(passphrase);
      }}
      aria-labelledby="export-keys"
    >
      <h3 id="export-keys">Back up your keys</h3>
      <p className="muted">
        A file with every key of yours, encrypted with your passphrase (the command-line client reads it too: save it as <code>~/.beyou/keys.json</code>). Making it
        takes a few seconds.
      </p>
      <Field label="Passphrase of your keys" type="password" autoComplete="current-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} required />
      <ErrorMessage error={exportKeys.error} />
      <div className="row">
        <Button type="submit" className="button secondary" busy={exportKeys.busy}>
          {exportKeys.busy ? "Encrypting the backup…" : "Make a backup file"}
        </Button>
        {url && (
          <a className="button" href={url} download={`beyou-keys-${username}.json`}>
            Download the backup
          </a>
        )}
      </div>
      {url && <Notice>Your backup is ready: download it and keep it somewhere safe.</Notice>}
    </form>
  );
}

function ImportForm({ replacing }: { replacing: boolean }) {
  const [file, setFile] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const [confirmed, setConfirmed] = useState(false);
  const [done, setDone] = useState(false);
  const importKeys = useAction(async (backup: File, value: string) => {
    await vault.importBackup(backup, value);
    setDone(true);
  });
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        setDone(false);
        if (file) void importKeys.run(file, passphrase);
      }}
      aria-labelledby="import-keys"
    >
      <h3 id="import-keys">{replacing ? "Replace with a backup" : "Import a backup"}</h3>
      <p className="muted">A backup file made here or by the command-line client (its keys.json). Opening it takes a few seconds.</p>
      <Field label="Backup file" type="file" accept=".json,application/json" onChange={(e) => setFile(e.target.files?.[0] ?? null)} required />
      <Field label="Passphrase of the backup" type="password" autoComplete="current-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} required />
      {replacing && (
        <div className="keys-check">
          <input id="import-replace" type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />
          <label htmlFor="import-replace">Replace the keys in this browser (back them up first if they are not in the file)</label>
        </div>
      )}
      <ErrorMessage error={importKeys.error} />
      {done && <Notice>Your keys are imported and unlocked.</Notice>}
      <div className="row">
        <Button type="submit" className="button secondary" busy={importKeys.busy} disabled={!file || (replacing && !confirmed)}>
          {importKeys.busy ? "Opening the backup…" : "Import keys"}
        </Button>
      </div>
    </form>
  );
}

function ForgetKeys() {
  const [asking, setAsking] = useState(false);
  const forget = useAction(() => vault.forget());
  return (
    <section aria-labelledby="forget-keys">
      <h3 id="forget-keys">Remove from this browser</h3>
      <p className="muted">Deletes this browser's copy of your keys. Without a backup they are gone for good.</p>
      <ErrorMessage error={forget.error} />
      {asking ? (
        <div className="row" role="group" aria-label="Confirm removal">
          <Button type="button" className="button danger" busy={forget.busy} onClick={() => void forget.run()}>
            Yes, remove my keys
          </Button>
          <Button type="button" className="button secondary" onClick={() => setAsking(false)}>
            Cancel
          </Button>
        </div>
      ) : (
        <Button type="button" className="button secondary" onClick={() => setAsking(true)}>
          Remove keys…
        </Button>
      )}
    </section>
  );
}

function algorithmName(algorithm: string): string {
  return { ed25519: "Ed25519", x25519: "X25519", rsa: "RSA" }[algorithm] ?? algorithm;
}
