/** Pictures in their order, each movable and removable with real buttons (no drag-only reordering). */
import { useEffect, useRef } from "react";
import { Button } from "../../ui/ui";

export interface Picture {
  key: string;
  src: string;
  /** Says which picture it is ("Picture 2", or the file's name). */
  label: string;
}

type Action = "earlier" | "later";

export function PictureList({ pictures, busy, onMove, onRemove, removeLabel = "Remove" }: {
  pictures: Picture[];
  busy?: boolean;
  onMove: (index: number, step: -1 | 1) => void;
  onRemove: (index: number) => void;
  removeLabel?: string;
}) {
  const listRef = useRef<HTMLOListElement>(null);
  // A moved picture takes its button along; keep the keyboard on that picture's buttons (the
  // one pressed, or its other arrow once it reaches an end) instead of dropping focus to the page.
  const refocus = useRef<{ key: string; action: Action } | null>(null);
  const order = pictures.map((picture) => picture.key).join(",");
  useEffect(() => {
    const target = refocus.current;
    if (!target || busy || !listRef.current) return;
    refocus.current = null;
    const buttons = Array.from(listRef.current.querySelectorAll<HTMLButtonElement>(`button[data-picture="${CSS.escape(target.key)}"]`));
    const same = buttons.find((button) => button.dataset.action === target.action && !button.disabled);
    (same ?? buttons.find((button) => !button.disabled))?.focus();
  }, [order, busy]);

  if (pictures.length === 0) return null;
  function move(index: number, step: -1 | 1) {
    if (busy) return;
    refocus.current = { key: pictures[index].key, action: step < 0 ? "earlier" : "later" };
    onMove(index, step);
  }
  return (
    <ol className="picture-list" ref={listRef}>
      {pictures.map((picture, index) => (
        <li key={picture.key}>
          <img src={picture.src} alt={picture.label} width={96} height={96} />
          <span className="picture-label">{index === 0 ? <strong>{picture.label} (shown first)</strong> : picture.label}</span>
          <span className="row">
            <Button type="button" className="button secondary" data-picture={picture.key} data-action="earlier" disabled={index === 0} aria-label={`Move ${picture.label} earlier`} onClick={() => move(index, -1)}>
              ↑ Earlier
            </Button>
            <Button type="button" className="button secondary" data-picture={picture.key} data-action="later" disabled={index === pictures.length - 1} aria-label={`Move ${picture.label} later`} onClick={() => move(index, 1)}>
              ↓ Later
            </Button>
            <Button type="button" className="button danger" disabled={busy} aria-label={`${removeLabel} ${picture.label}`} onClick={() => onRemove(index)}>
              {removeLabel}
            </Button>
          </span>
        </li>
      ))}
    </ol>
  );
}
