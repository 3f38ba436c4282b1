/**
 * Pieces the staff screens share: cursor-paged lists that grow with "Load more", authenticated
 * images shown through object URLs, and ids printed so they can be read and copied.
 */
import { useCallback, useEffect, useState, type ReactNode } from "react";
import { apiObjectUrl } from "../../api/client";
import { useAction, useAsync } from "../../api/hooks";
import { Button, ErrorMessage, Loading } from "../../ui/ui";
import type { Page } from "./staffApi";

/**
 * A cursor-paged list: the first page loads with `deps`, `loadMore` appends the next one, and
 * `update` / `remove` keep the loaded pages in step with an action's answer without a reload.
 */
export function usePagedList<T extends { id: string }>(load: (cursor: string | null, signal?: AbortSignal) => Promise<Page<T>>, deps: unknown[]) {
  const state = useAsync((signal) => load(null, signal), deps);
  const { data, setData } = state;
  const more = useAction(async () => {
    if (!data?.next_cursor) return;
    const next = await load(data.next_cursor);
    // An item decided meanwhile may shift across a page boundary: never show it twice.
    const fresh = next.items.filter((item) => !data.items.some((seen) => seen.id === item.id));
    setData({ items: [...data.items, ...fresh], next_cursor: next.next_cursor });
  });
  const update = useCallback(
    (item: T) => setData(data && { ...data, items: data.items.map((old) => (old.id === item.id ? item : old)) }),
    [data, setData],
  );
  const remove = useCallback((id: string) => setData(data && { ...data, items: data.items.filter((old) => old.id !== id) }), [data, setData]);
  return { ...state, loadMore: more.run, loadingMore: more.busy, moreError: more.error, update, remove };
}

/** The "Load more" control under a paged list (nothing once the last page is shown). */
export function LoadMore({ list, label = "Load more" }: { list: { data?: Page<unknown>; loadMore: () => unknown; loadingMore: boolean; moreError?: unknown }; label?: string }) {
  return (
    <>
      <ErrorMessage error={list.moreError} />
      {list.data?.next_cursor && (
        <p>
          <Button type="button" className="button secondary" busy={list.loadingMore} onClick={() => void list.loadMore()}>
            {label}
          </Button>
        </p>
      )}
    </>
  );
}

/** An image behind the bearer token (a verification document, a report's screenshot), revoked when gone. */
export function ProtectedImage({ path, alt, className }: { path: string; alt: string; className?: string }) {
  const [url, setUrl] = useState<string>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const controller = new AbortController();
    let made: string | undefined;
    setUrl(undefined);
    setError(undefined);
    apiObjectUrl(path, controller.signal).then(
      (objectUrl) => {
        made = objectUrl;
        if (controller.signal.aborted) URL.revokeObjectURL(objectUrl);
        else setUrl(objectUrl);
      },
      (err: unknown) => {
        if (!controller.signal.aborted) setError(err);
      },
    );
    return () => {
      controller.abort();
      if (made) URL.revokeObjectURL(made);
    };
  }, [path]);
  if (error) return <ErrorMessage error={error} />;
  if (!url) return <Loading label="Loading the image…" />;
  return <img className={className ?? "staff-image"} src={url} alt={alt} />;
}

/**
 * A file behind the bearer token, saved as a download: a PDF cannot be shown inside the app (the
 * CSP allows no object, embed or blob: frame), and a download keeps it out of the browser's
 * history and cache.
 */
export function ProtectedDownload({ path, filename, children }: { path: string; filename: string; children: ReactNode }) {
  const download = useAction(
    useCallback(async () => {
      const url = await apiObjectUrl(path);
      const link = document.createElement("a");
      link.href = url;
      link.download = filename;
      link.click();
      // The click starts the download synchronously; the URL is not needed after this task.
      setTimeout(() => URL.revokeObjectURL(url), 0);
    }, [path, filename]),
  );
  return (
    <>
      <Button type="button" className="button secondary" busy={download.busy} onClick={() => void download.run()}>
        {children}
      </Button>
      <ErrorMessage error={download.error} />
    </>
  );
}

/** A UUID in full (staff copy it into other tools), in a monospace face that wraps on a phone. */
export function Id({ value }: { value: string }) {
  return <code className="staff-id">{value}</code>;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatDuration(seconds: number): string {
  const units: [number, string][] = [
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}
