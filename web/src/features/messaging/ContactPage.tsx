/**
 * /contacts/:userId — a contact's keys, to compare with them in person or over a call: their current
 * fingerprints in groups of four (read aloud) and as a QR code, exactly as the CLI shows them
 * (`beyou keys verify`), so a browser user and a CLI user compare the same text. After comparing,
 * "Mark as verified" records it in this browser; a later key change undoes it.
 */
import QRCode from "qrcode";
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { useAction, useAsync } from "../../api/hooks";
import { useSession } from "../../api/session";
import { Button, ErrorMessage, formatDateTime, Loaded, Notice, Page } from "../../ui/ui";
import { activeKeys, allFriends } from "./api";
import { contactBook } from "./contactBook";
import { grouped, keyChangeWarning, safetyPayload, type Contact } from "./contacts";
import "./messaging.css";

export function ContactPage() {
  const { userId = "" } = useParams();
  const { account } = useSession();
  const me = account!.id;
  const [contact, setContact] = useState<Contact>();
  const [verifiedNow, setVerifiedNow] = useState(false);

  // Their active keys from the registry, pinned or checked against what this browser pinned before.
  const state = useAsync(
    async (signal) => {
      const keys = await activeKeys(userId, signal);
      if (userId === me || !keys.signing || !keys.encryption) return { keys, contact: await contactBook.get(me, userId) };
      const check = await contactBook.observe(me, userId, null, { signing: keys.signing, encryption: keys.encryption });
      return { keys, contact: check.contact };
    },
    [userId, me],
  );
  useEffect(() => setContact(state.data?.contact), [state.data]);
  useEffect(
    () =>
      contactBook.subscribe((owner, changed) => {
        if (owner === me && changed.user_id === userId) setContact(changed);
      }),
    [me, userId],
  );
  const name = useContactName(userId, contact);
  const mine = useAsync((signal) => activeKeys(me, signal), [me]);

  const verify = useAction(async () => {
    setContact(await contactBook.markVerified(me, userId));
    setVerifiedNow(true);
  });

  if (userId === me) {
    return (
      <Page title="Your keys">
        <p>
          This is you. Show a contact these fingerprints so they can compare them with what their device shows; manage your keys on the{" "}
          <Link to="/keys">Keys</Link> page.
        </p>
        <OwnKeys state={mine} me={me} />
      </Page>
    );
  }

  return (
    <Page title={`${name}'s keys`}>
      <Loaded state={state}>
        {({ keys }) =>
          !keys.signing || !keys.encryption || !contact?.signing || !contact.encryption ? (
            <p>{name} has not registered keys yet: there is nothing to compare. End-to-end messages reach them once they create keys.</p>
          ) : (
            <>
              {keyChangeWarning(contact) && (
                <div className="warning" role="alert">
                  <span aria-hidden="true">⚠ </span>
                  {keyChangeWarning(contact)}
                </div>
              )}
              <p className={contact.verified ? "mark ok" : "mark neutral"}>
                <span aria-hidden="true">{contact.verified ? "✔ " : "○ "}</span>
                {contact.verified ? `Verified by you on ${formatDateTime(contact.verified_at)}` : "Not verified yet"}
              </p>
              <section aria-labelledby="their-keys">
                <h2 id="their-keys">{name}'s fingerprints, as this browser has them</h2>
                <Fingerprints userId={userId} name={name} signing={contact.signing.fingerprint} encryption={contact.encryption.fingerprint} />
              </section>
              <section aria-labelledby="compare">
                <h2 id="compare">Compare them</h2>
                <p>
                  Meet {name} or call them. They open your page in their BeYou app (or run <code>beyou keys verify</code> with your username in the CLI) and read
                  out the fingerprints it shows for you, while you read theirs; or scan each other's QR codes. Every group must match. If one differs, do not
                  mark them verified: someone may be reading along.
                </p>
                {verifiedNow ? (
                  <Notice>{name} is verified.</Notice>
                ) : (
                  !contact.verified && (
                    <Button type="button" busy={verify.busy} onClick={() => void verify.run()}>
                      Mark as verified
                    </Button>
                  )
                )}
                <ErrorMessage error={verify.error} />
              </section>
              <section aria-labelledby="your-keys">
                <h2 id="your-keys">Your fingerprints, for {name} to compare</h2>
                <OwnKeys state={mine} me={me} />
              </section>
            </>
          )
        }
      </Loaded>
    </Page>
  );
}

function OwnKeys({ state, me }: { state: ReturnType<typeof useAsync<Awaited<ReturnType<typeof activeKeys>>>>; me: string }) {
  return (
    <Loaded state={state}>
      {(keys) =>
        keys.signing && keys.encryption ? (
          <Fingerprints userId={me} name="Your" signing={keys.signing.fingerprint} encryption={keys.encryption.fingerprint} own />
        ) : (
          <p>
            You have no keys yet. <Link to="/keys">Create your keys</Link>.
          </p>
        )
      }
    </Loaded>
  );
}

/** Two fingerprints in groups of four, and the QR code of the CLI's safety payload. */
function Fingerprints({ userId, name, signing, encryption, own }: { userId: string; name: string; signing: string; encryption: string; own?: boolean }) {
  const [qr, setQr] = useState<string>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let current = true;
    QRCode.toDataURL(safetyPayload(userId, signing, encryption), { errorCorrectionLevel: "M", margin: 2, width: 240 }).then(
      (url) => current && setQr(url),
      (failure: unknown) => current && setError(failure),
    );
    return () => {
      current = false;
    };
  }, [userId, signing, encryption]);
  const whose = own ? "your" : `${name}'s`;
  return (
    <div className="fingerprints">
      <dl>
        <dt>Signing key</dt>
        <dd>
          <code className="fingerprint">{grouped(signing)}</code>
        </dd>
        <dt>Encryption key</dt>
        <dd>
          <code className="fingerprint">{grouped(encryption)}</code>
        </dd>
      </dl>
      {qr && <img src={qr} width={240} height={240} className="qr" alt={`QR code of ${whose} key fingerprints (signing ${grouped(signing)}; encryption ${grouped(encryption)})`} />}
      <ErrorMessage error={error} />
    </div>
  );
}

/** A contact's name: as pinned, else from my friends list, else their id. */
function useContactName(userId: string, contact: Contact | undefined): string {
  const [name, setName] = useState<string>();
  useEffect(() => {
    if (contact?.username) return setName(contact.username);
    let current = true;
    allFriends().then(
      (friends) => current && setName(friends.find((f) => f.user_id === userId)?.username),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [userId, contact?.username]);
  return name ?? `user ${userId.slice(0, 8)}`;
}
