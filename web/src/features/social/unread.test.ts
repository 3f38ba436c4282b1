import { beforeEach, describe, expect, it, vi } from "vitest";

// The stream and the API are replaced: the test plays the server's announcements and answers.
const streamHandlers: Record<string, (data: Record<string, unknown>) => void> = {};
let statusListener: (connected: boolean) => void = () => undefined;
let tokenListener: (token: string | null) => void = () => undefined;
let token: string | null = "token";
const unreadCount = vi.fn<() => Promise<{ unread: number }>>();

vi.mock("../../api/stream", () => ({
  onStreamEvent: (type: string, handler: (data: Record<string, unknown>) => void) => {
    streamHandlers[type] = handler;
    return () => undefined;
  },
  onStreamStatus: (listener: (connected: boolean) => void) => {
    statusListener = listener;
    return () => undefined;
  },
}));
vi.mock("../../api/client", () => ({
  getAccessToken: () => token,
  onAccessToken: (listener: (token: string | null) => void) => {
    tokenListener = listener;
    return () => undefined;
  },
  api: vi.fn(),
}));
vi.mock("./api", () => ({ social: { unreadCount: () => unreadCount() } }));

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("the unread count", () => {
  let store: typeof import("./unread");
  let current: () => number | null;

  beforeEach(async () => {
    vi.resetModules();
    unreadCount.mockReset();
    token = "token";
    store = await import("./unread");
    // Subscribing (as the badge does through useSyncExternalStore) starts following the stream.
    let value: number | null = null;
    current = () => value;
    store.subscribeUnread(() => (value = store.unreadSnapshot().unread));
  });

  it("is read from the API, then follows the stream's announcements", async () => {
    unreadCount.mockResolvedValueOnce({ unread: 2 });
    await store.refreshUnread();
    expect(current()).toBe(2);
    streamHandlers.notifications({ unread: 3 });
    expect(current()).toBe(3);
  });

  it("drops an API answer that an announcement overtook", async () => {
    const answer = deferred<{ unread: number }>();
    unreadCount.mockReturnValueOnce(answer.promise);
    const reading = store.refreshUnread();
    streamHandlers.notifications({ unread: 5 });
    answer.resolve({ unread: 4 });
    await reading;
    expect(current()).toBe(5);
  });

  it("is read again whenever the stream (re)connects", async () => {
    unreadCount.mockResolvedValue({ unread: 7 });
    statusListener(true);
    await vi.waitFor(() => expect(current()).toBe(7));
    statusListener(false);
    expect(unreadCount).toHaveBeenCalledTimes(1);
  });

  it("is forgotten on sign-out", async () => {
    streamHandlers.notifications({ unread: 1 });
    token = null;
    tokenListener(null);
    expect(current()).toBeNull();
    await store.refreshUnread();
    expect(unreadCount).not.toHaveBeenCalled();
  });
});
