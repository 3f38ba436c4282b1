/**
 * The signed-in user's unread-notification count, one value for the whole tab (the nav badge
 * and the notifications page read the same one).
 *
 * It is read from the API when the user signs in and each time the live stream (re)connects,
 * because events sent while no stream was open are not replayed to a new one; in between,
 * social announces every change of the count over the stream (`notifications` {unread}), so
 * nothing polls. A read that started before an announcement arrived is older than it, and is
 * dropped.
 */
import { useSyncExternalStore } from "react";
import { getAccessToken, onAccessToken } from "../../api/client";
import { onStreamEvent, onStreamStatus } from "../../api/stream";
import { social } from "./api";

let unread: number | null = null;
let lastError: Error | undefined;
/** Bumped by every announcement and sign-out: a read begun under an older version is stale. */
let version = 0;
let following = false;
const listeners = new Set<() => void>();

interface Snapshot {
  unread: number | null;
  error: Error | undefined;
}
let snapshot: Snapshot = { unread, error: lastError };

function publish(value: number | null, error?: Error) {
  unread = value;
  lastError = error;
  snapshot = { unread, error };
  for (const listener of listeners) listener();
}

/** Read the count from the API (unless an announcement overtakes the answer). */
export async function refreshUnread(): Promise<void> {
  if (!getAccessToken()) return;
  const started = version;
  try {
    const { unread: count } = await social.unreadCount();
    if (version === started) publish(count);
  } catch (error) {
    if (version === started) publish(unread, error instanceof Error ? error : new Error(String(error)));
  }
}

/** Set the count from an answer that states it (e.g. after marking read), as an announcement would. */
export function setUnread(count: number): void {
  version += 1;
  publish(Math.max(0, count));
}

function follow() {
  if (following) return;
  following = true;
  onStreamEvent("notifications", (data) => {
    if (typeof data.unread === "number") setUnread(data.unread);
  });
  onStreamStatus((connected) => {
    if (connected) void refreshUnread();
  });
  onAccessToken((token) => {
    if (token) return;
    version += 1;
    publish(null);
  });
}

/** The external-store contract (useSyncExternalStore): the first subscriber starts following the stream. */
export function subscribeUnread(listener: () => void): () => void {
  follow();
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function unreadSnapshot(): Snapshot {
  return snapshot;
}

/** The unread count (null until known) and the error of the last read, live. */
export function useUnread(): Snapshot {
  return useSyncExternalStore(subscribeUnread, unreadSnapshot, unreadSnapshot);
}
