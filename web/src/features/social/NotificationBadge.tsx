/** The unread-notification count in the navigation, kept live by the stream (see unread.ts). */
import { useEffect } from "react";
import { useSession } from "../../api/session";
import { refreshUnread, useUnread } from "./unread";

export function NotificationBadge() {
  const { status, account } = useSession();
  const { unread } = useUnread();
  const accountId = status === "signed-in" ? account?.id : undefined;

  useEffect(() => {
    // Once per sign-in; from then on the stream announces every change.
    if (accountId) void refreshUnread();
  }, [accountId]);

  // A failed read shows no number rather than a wrong one; the notifications page shows the error.
  if (!accountId || !unread) return null;
  return (
    <span className="badge" data-testid="unread-badge">
      {unread > 99 ? "99+" : unread}
      <span className="visually-hidden"> unread</span>
    </span>
  );
}
