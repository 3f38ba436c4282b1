/** A list the API serves a page at a time (`next_cursor`), with a "Show more" button. */
import { useState, type ReactNode } from "react";
import { useAction, useAsync } from "../../api/hooks";
import { Button, ErrorMessage, Loaded } from "../../ui/ui";
import type { Page } from "./api";

export function Paged<T>({ load, children, summary }: {
  /** One page: the first without a cursor. Remount (a `key`) to start again with other arguments. */
  load: (cursor: string | undefined, signal?: AbortSignal) => Promise<Page<T>>;
  children: (items: T[]) => ReactNode;
  /** A status line on how many are shown ("No orders yet.", "Showing 24 items"). */
  summary: (count: number, more: boolean) => ReactNode;
}) {
  const first = useAsync((signal) => load(undefined, signal), []);
  const [more, setMore] = useState<{ items: T[]; cursor: string | null } | null>(null);
  const next = useAction(async (cursor: string) => {
    const page = await load(cursor);
    setMore((current) => ({ items: [...(current?.items ?? []), ...page.items], cursor: page.next_cursor }));
  });
  return (
    <Loaded state={first}>
      {(page) => {
        const items = [...page.items, ...(more?.items ?? [])];
        const cursor = more ? more.cursor : page.next_cursor;
        return (
          <>
            <p role="status" className="muted">{summary(items.length, cursor !== null)}</p>
            {items.length > 0 && children(items)}
            <ErrorMessage error={next.error} />
            {cursor && (
              <Button type="button" className="button secondary" busy={next.busy} onClick={() => void next.run(cursor)}>
                Show more
              </Button>
            )}
          </>
        );
      }}
    </Loaded>
  );
}
