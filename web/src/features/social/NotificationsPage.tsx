/**
 * /notifications: unread first, then the newest; each says what happened and links to it.
 * Live: when the stream announces a new unread count, the first page is read again and merged
 * in (new ones on top, changed ones in place) so nothing jumps under the reader's pointer.
 */
import { useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { useAction, useStreamEvent } from "../../api/hooks";
import { Button, ErrorMessage, Loading, Notice, Page, formatDateTime } from "../../ui/ui";
import { social, type Notification } from "./api";
import { describeNotification, mergeNotifications } from "./notifications";
import { refreshUnread, useUnread } from "./unread";
import { usePaged } from "./usePaged";

const PAGE = 20;

export function NotificationsPage() {
  const [unreadOnly, setUnreadOnly] = useState(false);
  const list = usePaged((cursor, signal) => social.notifications({ cursor, signal, limit: PAGE, unread: unreadOnly }), (n) => n.id, [unreadOnly]);
  const { unread, error: countError } = useUnread();
  const [liveError, setLiveError] = useState<Error>();
  const [notice, setNotice] = useState<string>();
  const shownCount = useRef(0);
  shownCount.current = list.items?.length ?? 0;

  useStreamEvent("notifications", () => {
    social.notifications({ limit: Math.min(200, Math.max(PAGE, shownCount.current)), unread: unreadOnly }).then(
      (page) => {
        setLiveError(undefined);
        list.update((shown) => mergeNotifications(shown, page.items));
      },
      (err: unknown) => setLiveError(err instanceof Error ? err : new Error(String(err))),
    );
  });

  const markAll = useAction(async () => {
    // Only what is on screen: one that arrives meanwhile stays unread until it is seen.
    const upTo = list.items?.reduce((latest, n) => (n.created_at > latest ? n.created_at : latest), "");
    const { marked } = await social.markAllRead(upTo || undefined);
    const now = new Date().toISOString();
    list.update((shown) => shown.map((n) => (n.read_at || (upTo && n.created_at > upTo) ? n : { ...n, read_at: now })));
    setNotice(marked === 1 ? "1 notification marked read." : `${marked} notifications marked read.`);
    await refreshUnread();
  });

  return (
    <Page
      title="Notifications"
      actions={
        <Button type="button" className="button secondary" busy={markAll.busy} disabled={!list.items?.some((n) => !n.read_at)} onClick={() => void markAll.run()}>
          Mark all read
        </Button>
      }
    >
      <p role="status" data-testid="unread-summary">
        {unread === null ? "" : unread === 0 ? "You have read everything." : unread === 1 ? "1 unread notification." : `${unread} unread notifications.`}
      </p>
      <div className="field">
        <label className="row">
          <input type="checkbox" checked={unreadOnly} onChange={(event) => setUnreadOnly(event.target.checked)} /> Only unread
        </label>
      </div>
      <ErrorMessage error={countError} />
      <ErrorMessage error={liveError} />
      <ErrorMessage error={markAll.error} />
      {notice && <Notice>{notice}</Notice>}
      <ErrorMessage error={list.error} />
      {list.items === undefined ? (
        list.loading && <Loading />
      ) : list.items.length === 0 ? (
        <p>{unreadOnly ? "Nothing unread." : "No notifications yet."}</p>
      ) : (
        <ul className="list" aria-label="Notifications">
          {list.items.map((n) => (
            <NotificationItem key={n.id} notification={n} onChange={(changed) => list.update((shown) => shown.map((x) => (x.id === changed.id ? changed : x)))} />
          ))}
        </ul>
      )}
      {list.hasMore && (
        <Button type="button" className="button secondary" busy={list.loadingMore} onClick={() => void list.loadMore()}>
          Show older notifications
        </Button>
      )}
    </Page>
  );
}

function NotificationItem({ notification: n, onChange }: { notification: Notification; onChange: (n: Notification) => void }) {
  const navigate = useNavigate();
  const { text, href, detail } = describeNotification(n);
  const [markFailed, setMarkFailed] = useState(false);
  const markRead = useAction(async () => {
    onChange(await social.markRead(n.id));
    await refreshUnread();
    return true;
  });

  return (
    <li className={`notification${n.read_at ? "" : " unread"}`}>
      <div className="notification-body">
        {!n.read_at && <span className="unread-mark">New<span className="visually-hidden">:</span> </span>}
        <span className="notification-text">
          {href ? (
            <Link
              to={href}
              onClick={(event) => {
                // Opening an unread one reads it; if that fails, the error shows and the next click just opens it.
                if (n.read_at || markFailed) return;
                event.preventDefault();
                void markRead.run().then((done) => {
                  if (done) navigate(href);
                  else setMarkFailed(true);
                });
              }}
            >
              {text}
            </Link>
          ) : (
            text
          )}
        </span>
        {detail && <div className="muted">{detail}</div>}
        <div className="muted">
          <time dateTime={n.created_at}>{formatDateTime(n.created_at)}</time>
        </div>
        <ErrorMessage error={markRead.error} />
      </div>
      {!n.read_at && (
        <Button type="button" className="button secondary" busy={markRead.busy} onClick={() => void markRead.run()}>
          Mark read<span className="visually-hidden">: {text}</span>
        </Button>
      )}
    </li>
  );
}
