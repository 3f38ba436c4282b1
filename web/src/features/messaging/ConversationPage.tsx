/**
 * /conversations/:id — the messages (newest at the bottom, older pages on demand), a composer, new
 * messages arriving live from the stream, read marks both ways, and for end-to-end messages the
 * whole client side: sealing, opening and verifying in this browser, contacts' key changes, and
 * each message's ledger proof.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError } from "../../api/client";
import { useStreamEvent } from "../../api/hooks";
import { useSession } from "../../api/session";
import { Button, ErrorMessage, Loading, Page } from "../../ui/ui";
import { conversationKeys, getConversation, getMessage, listMessages, markRead, type Conversation, type ConversationKeys, type Message } from "./api";
import { Composer } from "./Composer";
import { GroupPanel } from "./GroupPanel";
import { contactBook } from "./contactBook";
import { keyChangeWarning, type Contact } from "./contacts";
import { MessageItem } from "./MessageItem";
import { conversationTitle, participantName } from "./names";
import type { ReadContext } from "./reading";
import { checkParticipantKeys } from "./sending";
import { useVault } from "./useVault";
import { VaultPrompt } from "./VaultPrompt";
import "./messaging.css";

const PAGE_SIZE = 30;

export function ConversationPage() {
  const { id = "" } = useParams();
  const { account } = useSession();
  const me = account!.id;
  const [conversation, setConversation] = useState<Conversation>();
  const [gone, setGone] = useState<string>();
  const [loadError, setLoadError] = useState<unknown>();
  // A failure after the page loaded (an older page, a live update): shown, without replacing the page.
  const [laterError, setLaterError] = useState<unknown>();
  const [messages, setMessages] = useState<Message[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [removed, setRemoved] = useState<Set<string>>(new Set());
  const [readBy, setReadBy] = useState<Record<string, number>>({});
  const [announcement, setAnnouncement] = useState("");
  const { state: vaultState, keys } = useVault(me);
  const context = useMemo<ReadContext>(() => ({ me, keys }), [me, keys]);
  const participantKeys = useParticipantKeys(id, me, keys);

  const add = useCallback((incoming: Message[]) => {
    setMessages((now) => {
      const byId = new Map(now.map((m) => [m.id, m]));
      // The copy already shown stays: a new object would make its item verify it again.
      for (const message of incoming) if (!byId.has(message.id)) byId.set(message.id, message);
      return [...byId.values()].sort((a, b) => a.seq - b.seq);
    });
  }, []);

  // The conversation and its newest page.
  useEffect(() => {
    const controller = new AbortController();
    setConversation(undefined);
    setMessages([]);
    setRemoved(new Set());
    setReadBy({});
    setGone(undefined);
    setLoadError(undefined);
    setLaterError(undefined);
    Promise.all([getConversation(id, controller.signal), listMessages(id, null, controller.signal, PAGE_SIZE)]).then(
      ([found, page]) => {
        setConversation(found);
        add(page.items);
        setCursor(page.next_cursor);
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setLoadError(error);
      },
    );
    return () => controller.abort();
  }, [id, add]);

  async function loadOlder() {
    if (!cursor) return;
    setLoadingOlder(true);
    try {
      const page = await listMessages(id, cursor, undefined, PAGE_SIZE);
      add(page.items);
      setCursor(page.next_cursor);
    } catch (error) {
      setLaterError(error);
    } finally {
      setLoadingOlder(false);
    }
  }

  const nameOf = useCallback(
    (userId: string) => {
      const participant = conversation?.participants.find((p) => p.user_id === userId);
      return participant ? participantName(participant) : `user ${userId.slice(0, 8)}`;
    },
    [conversation],
  );

  // Live: new messages, read marks, removals and membership changes of this conversation.
  useStreamEvent("message", (notice) => {
    if (notice.conversation_id !== id || typeof notice.message_id !== "string") return;
    getMessage(notice.message_id).then(
      (message) => {
        add([message]);
        if (message.sender_id !== me) setAnnouncement(`New message from ${nameOf(message.sender_id)}`);
      },
      // 404: removed by moderation before it could be read — nothing to show.
      (error: unknown) => !(error instanceof ApiError && error.status === 404) && setLaterError(error),
    );
  });
  useStreamEvent("read", (notice) => {
    if (notice.conversation_id !== id || typeof notice.user_id !== "string" || typeof notice.seq !== "number") return;
    const { user_id: userId, seq } = notice as { user_id: string; seq: number };
    if (userId !== me) setReadBy((now) => ({ ...now, [userId]: Math.max(now[userId] ?? 0, seq) }));
  });
  useStreamEvent("removed", (notice) => {
    if (notice.conversation_id !== id || typeof notice.message_id !== "string") return;
    const messageId = notice.message_id;
    setRemoved((now) => new Set(now).add(messageId));
  });
  useStreamEvent("conversation", (notice) => {
    if (notice.conversation_id !== id) return;
    if (notice.change === "deleted") setGone("This group was deleted.");
    else if (notice.change === "removed") setGone("You were removed from this group.");
    else if (notice.change === "left") setGone("You left this group.");
    else {
      getConversation(id).then(setConversation, (error: unknown) => setLaterError(error));
      participantKeys.reload();
    }
  });

  useMarkRead(id, messages, me, !!conversation && !gone);

  if (loadError instanceof ApiError && loadError.status === 404) {
    return (
      <Page title="Conversation not found">
        <p>
          There is no such conversation, or you are not in it. <Link to="/conversations">Your conversations</Link>.
        </p>
      </Page>
    );
  }
  if (!conversation) {
    return loadError ? (
      <Page title="Conversation">
        <ErrorMessage error={loadError} />
      </Page>
    ) : (
      <Loading label="Loading the conversation…" />
    );
  }

  const title = conversationTitle(conversation, me);
  const hasE2e = messages.some((m) => m.kind === "e2e");
  const newestMine = [...messages].reverse().find((m) => m.sender_id === me);
  const seenBy = newestMine ? Object.entries(readBy).filter(([, seq]) => seq >= newestMine.seq).map(([userId]) => nameOf(userId)) : [];

  return (
    <Page title={title}>
      <p className="muted">
        {conversation.type === "group" ? "Group" : "Direct conversation"} with{" "}
        {conversation.participants
          .filter((p) => p.user_id !== me)
          .map((p, index) => (
            <span key={p.user_id}>
              {index > 0 && ", "}
              <Link to={`/contacts/${p.user_id}`}>{participantName(p)}</Link>
            </span>
          ))}
        {conversation.participants.length === 1 && "no one else"} · <Link to="/conversations">All conversations</Link>
      </p>
      <KeyWarnings contacts={participantKeys.contacts} warnings={participantKeys.warnings} error={participantKeys.error} />
      {hasE2e && <VaultPrompt status={vaultState.status} reason="to read the end-to-end encrypted messages here" />}
      <ErrorMessage error={laterError} />
      <section aria-labelledby="messages-heading">
        <h2 id="messages-heading" className="visually-hidden">
          Messages
        </h2>
        {cursor && (
          <Button type="button" className="button secondary" busy={loadingOlder} onClick={() => void loadOlder()}>
            Show earlier messages
          </Button>
        )}
        {messages.length === 0 ? (
          <p className="muted">No messages yet. Say hello.</p>
        ) : (
          <ol className="messages" aria-label="Messages">
            {messages.map((message) => (
              <MessageItem key={message.id} message={message} senderName={nameOf(message.sender_id)} context={context} removed={removed.has(message.id)} />
            ))}
          </ol>
        )}
        {seenBy.length > 0 && <p className="muted seen">Seen by {seenBy.join(", ")}</p>}
        <p className="visually-hidden" role="status" aria-live="polite">
          {announcement}
        </p>
      </section>
      {gone ? (
        <p className="warning" role="status">
          {gone}
        </p>
      ) : (
        <Composer
          conversation={conversation}
          me={me}
          keys={keys}
          vaultStatus={vaultState.status}
          latestKind={messages.at(-1)?.kind}
          onSent={(message) => add([message])}
          onKeysChecked={participantKeys.reload}
          unlockShownAbove={hasE2e && (vaultState.status === "locked" || vaultState.status === "none")}
        />
      )}
      {conversation.type === "group" && !gone && (
        <GroupPanel
          conversation={conversation}
          me={me}
          onChanged={(changed) => {
            setConversation(changed);
            // The next e2e message is sealed for the members as the server lists them at send time
            // (sending.ts fetches them per send); this refreshes the key warnings shown above.
            participantKeys.reload();
          }}
        />
      )}
    </Page>
  );
}

function KeyWarnings({ contacts, warnings, error }: { contacts: Contact[]; warnings: string[]; error: unknown }) {
  const changed = contacts.filter((contact) => contact.changed_at);
  return (
    <>
      {changed.map((contact) => (
        <div key={contact.user_id} className="warning key-warning" role="alert">
          <span aria-hidden="true">⚠ </span>
          {keyChangeWarning(contact)} <Link to={`/contacts/${contact.user_id}`}>Compare {contact.username ? `${contact.username}'s` : "their"} keys</Link>
        </div>
      ))}
      {warnings.map((warning) => (
        <p key={warning} className="warning" role="status">
          {warning}
        </p>
      ))}
      <ErrorMessage error={error} />
    </>
  );
}

/**
 * The participants' keys as the server lists them, checked against the pinned ones each time the
 * conversation opens or its members change (a change is a warning that stays until verified).
 */
function useParticipantKeys(conversationId: string, me: string, keys: ReturnType<typeof useVault>["keys"]) {
  const [contacts, setContacts] = useState<Contact[]>([]);
  const [warnings, setWarnings] = useState<string[]>([]);
  const [error, setError] = useState<unknown>();
  const [generation, setGeneration] = useState(0);
  const others = useRef<string[]>([]);

  useEffect(() => {
    let current = true;
    conversationKeys(conversationId)
      .then(async (listed: ConversationKeys) => {
        const found = await checkParticipantKeys(listed, keys, me);
        others.current = listed.participants.map((p) => p.user_id).filter((userId) => userId !== me);
        const pinned = await Promise.all(others.current.map((userId) => contactBook.get(me, userId)));
        if (!current) return;
        // Key changes are shown from the contacts themselves (the warning persists until verified).
        setWarnings(found.warnings);
        setContacts(pinned.filter((contact): contact is Contact => !!contact));
        setError(undefined);
      })
      .catch((failure: unknown) => current && setError(failure));
    return () => {
      current = false;
    };
  }, [conversationId, me, keys, generation]);

  // A contact verified (or changed) elsewhere — the contact page, another message — updates the warnings.
  useEffect(
    () =>
      contactBook.subscribe((owner, contact) => {
        if (owner !== me || !others.current.includes(contact.user_id)) return;
        setContacts((now) => [...now.filter((c) => c.user_id !== contact.user_id), contact]);
      }),
    [me],
  );

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { contacts, warnings, error, reload };
}

/** Tell the server how far I read (the others see it), when the newest message is on a visible page. */
function useMarkRead(conversationId: string, messages: Message[], me: string, active: boolean) {
  const marked = useRef(0);
  const newest = messages.at(-1);
  useEffect(() => {
    marked.current = 0;
  }, [conversationId]);
  useEffect(() => {
    if (!active || !newest) return;
    const mark = () => {
      if (document.visibilityState !== "visible" || newest.seq <= marked.current) return;
      marked.current = newest.seq;
      markRead(conversationId, newest.seq).catch(() => {
        marked.current = 0; // not a reason to interrupt reading; tried again with the next message
      });
    };
    mark();
    document.addEventListener("visibilitychange", mark);
    return () => document.removeEventListener("visibilitychange", mark);
  }, [conversationId, newest, active, me]);
}
