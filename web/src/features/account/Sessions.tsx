/** The security page's sessions: where the account is signed in, this one marked, and revoking. */
import { useState } from "react";
import { useAction, useAsync } from "../../api/hooks";
import { Button, ErrorMessage, Loaded, Notice, formatDateTime } from "../../ui/ui";
import { listSessions, revokeOtherSessions, revokeSession, type Page, type SessionInfo } from "./api";
import { describeUserAgent } from "./devices";

/** Signed in and neither revoked nor past its expiry. */
function isOpen(session: SessionInfo, now: number): boolean {
  return !session.revoked && new Date(session.expires_at).getTime() > now;
}

export function SessionsSection({ version }: { version: number }) {
  const sessions = useAsync((signal) => listSessions(null, signal), [version]);
  const [showClosed, setShowClosed] = useState(false);
  const [notice, setNotice] = useState<string>();

  const more = useAction(async (cursor: string) => {
    const page = await listSessions(cursor);
    sessions.setData({ items: [...(sessions.data?.items ?? []), ...page.items], next_cursor: page.next_cursor });
  });
  const revoke = useAction(async (session: SessionInfo) => {
    await revokeSession(session.id);
    setNotice(`Revoked the session of ${describeUserAgent(session.user_agent)} (signed in ${formatDateTime(session.created_at)}).`);
    sessions.reload();
  });
  const revokeOthers = useAction(async () => {
    const { revoked } = await revokeOtherSessions();
    setNotice(revoked === 1 ? "Revoked 1 other session." : `Revoked ${revoked} other sessions.`);
    sessions.reload();
  });

  return (
    <section aria-labelledby="sessions-title">
      <h2 id="sessions-title">Where you are signed in</h2>
      <div className="row">
        <Button type="button" className="button secondary" busy={revokeOthers.busy} onClick={() => void revokeOthers.run()}>
          Revoke all other sessions
        </Button>
        <label className="checkbox">
          <input type="checkbox" checked={showClosed} onChange={(event) => setShowClosed(event.target.checked)} /> Show revoked and
          expired sessions
        </label>
      </div>
      {notice && <Notice>{notice}</Notice>}
      <p className="muted">Revoking a session signs that device out at once. To end this one, use Sign out in the menu.</p>
      <ErrorMessage error={revoke.error ?? revokeOthers.error ?? more.error} />
      <Loaded state={sessions}>
        {(page: Page<SessionInfo>) => {
          const now = Date.now();
          const shown = page.items.filter((session) => showClosed || isOpen(session, now));
          return (
            <>
              <ul className="list sessions" aria-label="Sessions">
                {shown.map((session) => (
                  <SessionRow
                    key={session.id}
                    session={session}
                    open={isOpen(session, now)}
                    busy={revoke.busy}
                    onRevoke={() => void revoke.run(session)}
                  />
                ))}
              </ul>
              {shown.length === 0 && <p className="muted">No sessions to show.</p>}
              {page.next_cursor && (
                <Button type="button" className="button secondary" busy={more.busy} onClick={() => void more.run(page.next_cursor!)}>
                  Show more sessions
                </Button>
              )}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

function SessionRow({ session, open, busy, onRevoke }: { session: SessionInfo; open: boolean; busy: boolean; onRevoke: () => void }) {
  const device = describeUserAgent(session.user_agent);
  const since = formatDateTime(session.created_at);
  return (
    <li className={session.current ? "session current" : "session"} aria-current={session.current ? "true" : undefined}>
      <div className="session-head">
        <strong>{device}</strong>
        {session.current && <span className="tag">This session</span>}
        {session.revoked && <span className="tag muted-tag">Revoked {formatDateTime(session.revoked_at)}</span>}
        {!session.revoked && !open && <span className="tag muted-tag">Expired</span>}
      </div>
      <p className="muted small">
        Signed in {since} · last used {formatDateTime(session.last_used_at)}
        {session.ip ? ` · from ${session.ip}` : ""}
      </p>
      {session.user_agent && <p className="muted small ua">{session.user_agent}</p>}
      {open && !session.current && (
        <Button type="button" className="button secondary" busy={busy} onClick={onRevoke} aria-label={`Revoke the session of ${device}, signed in ${since}`}>
          Revoke
        </Button>
      )}
    </li>
  );
}
