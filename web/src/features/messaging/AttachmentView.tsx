/**
 * An attachment, fetched only when asked for: an e2e one is decrypted here with the key its sealed
 * message names (a failure means the bytes served are not the file the sender sealed); a standard
 * one is an image or PDF the server checked. Images are shown, anything else is offered as a download.
 */
import { useEffect, useState } from "react";
import { decryptFile } from "../../crypto/messages";
import type { Attachment as SealedAttachment } from "../../crypto/envelope";
import { Button, ErrorMessage } from "../../ui/ui";
import { downloadAttachment } from "./api";

interface Fetched {
  url: string;
  name: string;
  contentType: string;
}

/** The sender's name reduced to a plain file name (it is never used as a path). */
function plainName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  return base.replace(/[^\p{L}\p{N} ._()-]/gu, "_").slice(0, 120) || "attachment";
}

export function AttachmentView({ id, sealed, label }: { id: string; sealed?: SealedAttachment; label?: string }) {
  const [fetched, setFetched] = useState<Fetched>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const name = sealed ? plainName(sealed.name) : (label ?? "Attachment");

  useEffect(() => () => fetched && URL.revokeObjectURL(fetched.url), [fetched]);

  async function open() {
    setBusy(true);
    setError(undefined);
    try {
      const served = await downloadAttachment(id);
      const bytes = sealed ? await decryptFile(sealed, served.bytes) : served.bytes;
      const contentType = sealed ? sealed.content_type : served.contentType;
      const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: contentType }));
      setFetched({ url, name, contentType });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  if (!fetched) {
    return (
      <div className="attachment">
        <Button type="button" className="button secondary" busy={busy} onClick={() => void open()}>
          {sealed ? `Decrypt ${name}` : `Open ${name}`}
        </Button>
        <ErrorMessage error={error} />
      </div>
    );
  }
  // Only raster images are shown inline (an SVG could carry script if opened as a document).
  const image = /^image\/(png|jpeg|gif|webp)$/.test(fetched.contentType);
  return (
    <div className="attachment">
      {image && <img src={fetched.url} alt={`Attached image ${name}`} className="attachment-image" />}
      <a href={fetched.url} download={name} className="button secondary">
        Save {name}
      </a>
    </div>
  );
}
