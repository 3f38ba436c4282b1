/** /blocks: the people I block (with my private note), unblocking, and blocking by username. */
import { useState, type FormEvent } from "react";
import { useAction } from "../../api/hooks";
import { Button, ErrorMessage, Field, Loading, Notice, Page, formatDateTime } from "../../ui/ui";
import { nameOf, social, type Block } from "./api";
import { PersonRow } from "./people";
import { usePaged } from "./usePaged";

export function BlocksPage() {
  const blocks = usePaged((cursor, signal) => social.blocks({ cursor, signal }), (b) => b.user_id, []);
  const [notice, setNotice] = useState<string>();
  return (
    <Page title="People you block">
      <p className="muted">
        People you block cannot message you, befriend you, buy from you or find you in search, and you do not see them
        either. They are not told.
      </p>
      {notice && <Notice>{notice}</Notice>}
      <ErrorMessage error={blocks.error} />
      {blocks.items === undefined ? (
        blocks.loading && <Loading />
      ) : blocks.items.length === 0 ? (
        <p>You block no one.</p>
      ) : (
        <ul className="list" aria-label="People you block">
          {blocks.items.map((block) => (
            <li key={block.user_id}>
              <BlockRow
                block={block}
                onUnblocked={() => {
                  setNotice(`You no longer block ${nameOf(block)}.`);
                  blocks.update((items) => items.filter((b) => b.user_id !== block.user_id));
                }}
              />
            </li>
          ))}
        </ul>
      )}
      {blocks.hasMore && (
        <Button type="button" className="button secondary" busy={blocks.loadingMore} onClick={() => void blocks.loadMore()}>
          Show more
        </Button>
      )}
      <h2>Block someone</h2>
      <BlockByName
        onBlocked={(block) => {
          setNotice(`You now block ${nameOf(block)}.`);
          blocks.reload();
        }}
      />
    </Page>
  );
}

function BlockRow({ block, onUnblocked }: { block: Block; onUnblocked: () => void }) {
  const unblock = useAction(async () => {
    await social.unblock(block.user_id);
    onUnblocked();
  });
  const note = [`Blocked ${formatDateTime(block.blocked_at)}`, block.reason && `your note: ${block.reason}`].filter(Boolean).join(" · ");
  return (
    <>
      <PersonRow user={block} note={note}>
        <Button type="button" className="button secondary" busy={unblock.busy} onClick={() => void unblock.run()}>
          Unblock<span className="visually-hidden"> {nameOf(block)}</span>
        </Button>
      </PersonRow>
      <ErrorMessage error={unblock.error} />
    </>
  );
}

function BlockByName({ onBlocked }: { onBlocked: (block: Block) => void }) {
  const [username, setUsername] = useState("");
  const [reason, setReason] = useState("");
  const block = useAction(async () => {
    const created = await social.block(username.trim().replace(/^@/, ""), reason);
    setUsername("");
    setReason("");
    onBlocked(created);
  });
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void block.run();
  }
  return (
    <form onSubmit={onSubmit} aria-label="Block someone">
      <Field label="Username" required maxLength={33} value={username} onChange={(event) => setUsername(event.target.value)} autoComplete="off" spellCheck={false} />
      <Field label="Why (optional, only you see it)" maxLength={500} value={reason} onChange={(event) => setReason(event.target.value)} />
      <ErrorMessage error={block.error} />
      <div className="row">
        <Button type="submit" className="button danger" busy={block.busy} disabled={!username.trim()}>
          Block
        </Button>
      </div>
    </form>
  );
}
