/**
 * The messaging live stream (Server-Sent Events at /api/messaging/stream), one per tab, shared by
 * every screen: new messages, read marks, removals, conversation changes and notification counts
 * arrive here instead of by polling.
 *
 * The browser's own EventSource does the reading and reconnecting. It cannot send an
 * Authorization header, so the access token goes in the `access_token` query parameter the
 * stream accepts (the gateway logs paths without their query). When the token changes
 * (refreshed, signed out) the stream is reopened with the new one, resuming after the last event
 * seen (`last_event_id`), so nothing is missed.
 */
import { getAccessToken, onAccessToken, refreshSession, withQuery } from "./client";

export type StreamEventType = "message" | "read" | "removed" | "conversation" | "notifications";
export const STREAM_EVENT_TYPES: StreamEventType[] = ["message", "read", "removed", "conversation", "notifications"];
export type StreamHandler = (data: Record<string, unknown>) => void;

const handlers = new Map<StreamEventType, Set<StreamHandler>>();
const statusListeners = new Set<(connected: boolean) => void>();
let source: EventSource | null = null;
let lastEventId: string | null = null;
let started = false;
let connected = false;

function setConnected(value: boolean) {
  if (connected === value) return;
  connected = value;
  for (const listener of statusListeners) listener(value);
}

function open(token: string | null) {
  source?.close();
  source = null;
  setConnected(false);
  if (!token || typeof EventSource === "undefined") return;
  const url = withQuery("/api/messaging/stream", { access_token: token, last_event_id: lastEventId });
  const current = new EventSource(url);
  source = current;
  current.onopen = () => setConnected(true);
  for (const type of STREAM_EVENT_TYPES) {
    current.addEventListener(type, (event) => {
      const message = event as MessageEvent<string>;
      if (message.lastEventId) lastEventId = message.lastEventId;
      let data: Record<string, unknown> = {};
      try {
        data = JSON.parse(message.data) as Record<string, unknown>;
      } catch {
        return;
      }
      for (const handler of handlers.get(type) ?? []) handler(data);
    });
  }
  current.onerror = () => {
    setConnected(false);
    // EventSource retries by itself unless the server refused (401 when the token expired):
    // then it is CLOSED, and a refreshed token reopens it.
    if (current.readyState === EventSource.CLOSED && source === current) {
      void refreshSession(token).then((ok) => {
        if (ok && source === current) open(getAccessToken());
      });
    }
  };
}

/** Start following the access token (once per page). */
export function startStream(): void {
  if (started) return;
  started = true;
  onAccessToken((token) => {
    if (!token) lastEventId = null;
    open(token);
  });
  open(getAccessToken());
}

/** Subscribe to one type of stream event; returns the unsubscribe function. */
export function onStreamEvent(type: StreamEventType, handler: StreamHandler): () => void {
  let set = handlers.get(type);
  if (!set) handlers.set(type, (set = new Set()));
  set.add(handler);
  return () => set.delete(handler);
}

export function onStreamStatus(listener: (connected: boolean) => void): () => void {
  statusListeners.add(listener);
  listener(connected);
  return () => statusListeners.delete(listener);
}
