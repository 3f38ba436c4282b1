/**
 * A keyset-paged list ({items, next_cursor}) shown page after page: the first page loads on
 * mount (and when `deps` change), "Show more" appends the next one.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { PageOf } from "./api";

export interface PagedList<T> {
  items: T[] | undefined;
  error: Error | undefined;
  loading: boolean;
  hasMore: boolean;
  loadingMore: boolean;
  loadMore: () => Promise<void>;
  /** Load the first page again, dropping the rest. */
  reload: () => void;
  /** Change the shown items in place (after an action on one of them, or a live change). */
  update: (change: (items: T[]) => T[]) => void;
}

type Loader<T> = (cursor: string | null, signal: AbortSignal) => Promise<PageOf<T>>;

export function usePaged<T>(load: Loader<T>, keyOf: (item: T) => string, deps: unknown[]): PagedList<T> {
  const [items, setItems] = useState<T[]>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const keyRef = useRef(keyOf);
  keyRef.current = keyOf;
  // Aborts whatever is in flight when the list starts over, so an old page never lands in a new list.
  const controller = useRef<AbortController>(null);

  useEffect(() => {
    const current = new AbortController();
    controller.current = current;
    setLoading(true);
    setLoadingMore(false);
    setError(undefined);
    loadRef.current(null, current.signal).then(
      (page) => {
        if (current.signal.aborted) return;
        setItems(page.items);
        setCursor(page.next_cursor);
        setLoading(false);
      },
      (err: unknown) => {
        if (current.signal.aborted) return;
        setError(err instanceof Error ? err : new Error(String(err)));
        setLoading(false);
      },
    );
    return () => current.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation]);

  const loadMore = useCallback(async () => {
    const current = controller.current;
    if (!cursor || !current) return;
    setLoadingMore(true);
    setError(undefined);
    try {
      const page = await loadRef.current(cursor, current.signal);
      if (current.signal.aborted) return;
      // Pages do not overlap, but an item that moved between pages meanwhile is shown once.
      setItems((shown = []) => {
        const seen = new Set(shown.map(keyRef.current));
        return [...shown, ...page.items.filter((item) => !seen.has(keyRef.current(item)))];
      });
      setCursor(page.next_cursor);
    } catch (err) {
      if (!current.signal.aborted) setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      if (!current.signal.aborted) setLoadingMore(false);
    }
  }, [cursor]);

  const update = useCallback((change: (items: T[]) => T[]) => setItems((shown) => (shown ? change(shown) : shown)), []);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  return { items, error, loading, hasMore: !!cursor, loadingMore, loadMore, reload, update };
}
