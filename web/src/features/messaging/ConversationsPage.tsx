/**
 * /conversations: my conversations, the most recently active first, with unread counts — kept
 * current by the live stream (a message, a read mark or a membership change re-reads the one
 * conversation it concerns; nothing is polled).
 */
import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router";
import { ApiError } from "../../api/client";
import { useAsync, useStreamEvent } from "../../api/hooks";
import { useSession } from "../../api/session";
import { Button, ErrorMessage, formatDateTime, Loaded, Page } from "../../ui/ui";
import { getConversation, listConversations, type Conversation, type Page as ApiPage } from "./api";
import { conversationModes } from "./contactBook";
import type { MessageKind } from "./contactStore";
import { conversationTitle, otherParticipants } from "./names";
import "./messaging.css";

function byActivity(a: Conversation, b: Conversation): number {
  return (b.last_message_at ?? b.created_at).localeCompare(a.last_message_at ?? a.created_at);
}

export function ConversationsPage() {
  const { account } = useSession();
  const me = account!.id;
  const state = useAsync((signal) => listConversations(null, signal), []);
  // The list as loaded, then changed by live notices (functional updates: notices may overlap).
  const [data, setData] = useState<ApiPage<Conversation>>();
  useEffect(() => setData(state.data), [state.data]);
  const [moreError, setMoreError] = useState<unknown>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [liveError, setLiveError] = useState<unknown>();
  const modes = useModes(me, data?.items);

  /** Re-read one conversation the stream named; drop it if I am no longer in it. */
  const refresh = useCallback(
    async (conversationId: string) => {
      try {
        const fresh = await getConversation(conversationId);
        setData((page) => upsert(page, fresh));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) setData((page) => remove(page, conversationId));
        else setLiveError(error);
      }
    },
    [],
  );

  const onNotice = (notice: Record<string, unknown>) => {
    if (typeof notice.conversation_id === "string") void refresh(notice.conversation_id);
  };
  useStreamEvent("message", onNotice);
  useStreamEvent("read", (notice) => {
    if (notice.user_id === me) onNotice(notice);
  });
  useStreamEvent("removed", onNotice);
  useStreamEvent("conversation", (notice) => {
    const id = notice.conversation_id;
    if (typeof id !== "string") return;
    if (notice.change === "deleted" || notice.change === "removed" || notice.change === "left") setData((page) => remove(page, id));
    else void refresh(id);
  });

  async function loadMore() {
    if (!data?.next_cursor) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const next = await listConversations(data.next_cursor);
      setData((page) => ({
        items: [...(page?.items ?? []), ...next.items.filter((c) => !page?.items.some((d) => d.id === c.id))],
        next_cursor: next.next_cursor,
      }));
    } catch (error) {
      setMoreError(error);
    } finally {
      setLoadingMore(false);
    }
  }

  return (
    <Page
      title="Messages"
      actions={
        <Link className="button" to="/conversations/new">
          New conversation
        </Link>
      }
    >
      <ErrorMessage error={liveError} />
      <Loaded state={{ data, error: state.error, loading: state.loading }}>
        {(page) =>
          page.items.length === 0 ? (
            <p>
              No conversations yet. <Link to="/conversations/new">Start one</Link> with a friend.
            </p>
          ) : (
            <>
              <ul className="list conversation-list" aria-label="Conversations">
                {[...page.items].sort(byActivity).map((conversation) => (
                  <ConversationRow key={conversation.id} conversation={conversation} me={me} mode={modes[conversation.id]} />
                ))}
              </ul>
              {page.next_cursor && (
                <Button type="button" className="button secondary" busy={loadingMore} onClick={() => void loadMore()}>
                  Show older conversations
                </Button>
              )}
              <ErrorMessage error={moreError} />
            </>
          )
        }
      </Loaded>
    </Page>
  );
}

function ConversationRow({ conversation, me, mode }: { conversation: Conversation; me: string; mode: MessageKind | undefined }) {
  const title = conversationTitle(conversation, me);
  const unread = conversation.unread_count;
  return (
    <li className={unread ? "conversation-row unread" : "conversation-row"}>
      <Link to={`/conversations/${conversation.id}`} className="conversation-link">
        <span className="conversation-title">{title}</span>
        {unread > 0 && (
          <span className="badge">
            {unread}
            <span className="visually-hidden"> unread</span>
          </span>
        )}
      </Link>
      <span className="muted conversation-meta">
        {conversation.type === "group" ? `Group · ${otherParticipants(conversation, me) || "only you"}` : "Direct"}
        {mode && ` · ${mode === "e2e" ? "end-to-end encrypted" : "standard"}`}
        {" · "}
        {conversation.last_message_at ? <>Last message {formatDateTime(conversation.last_message_at)}</> : "No messages yet"}
      </span>
    </li>
  );
}

/** The kind of message chosen in this browser for each listed conversation (unknown: none chosen here yet). */
function useModes(me: string, conversations: Conversation[] | undefined): Record<string, MessageKind> {
  const [modes, setModes] = useState<Record<string, MessageKind>>({});
  const ids = (conversations ?? []).map((c) => c.id).join(",");
  useEffect(() => {
    let current = true;
    const wanted = ids ? ids.split(",") : [];
    Promise.all(wanted.map(async (id) => [id, await conversationModes.getMode(me, id)] as const)).then(
      (found) => current && setModes(Object.fromEntries(found.filter((entry): entry is readonly [string, MessageKind] => !!entry[1]))),
      () => undefined, // only a hint: the list stands without it
    );
    return () => {
      current = false;
    };
  }, [me, ids]);
  return modes;
}

function upsert(page: ApiPage<Conversation> | undefined, conversation: Conversation): ApiPage<Conversation> {
  const items = page?.items ?? [];
  return { items: [conversation, ...items.filter((c) => c.id !== conversation.id)], next_cursor: page?.next_cursor ?? null };
}

function remove(page: ApiPage<Conversation> | undefined, conversationId: string): ApiPage<Conversation> | undefined {
  return page && { ...page, items: page.items.filter((c) => c.id !== conversationId) };
}
