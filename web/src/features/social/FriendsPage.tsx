/**
 * /friends: finding people, the friend requests waiting on me or on them, and my friends.
 * Requests and friendships change live: every change reaches me as a notification, whose count
 * the stream announces, and the lists are read again then.
 */
import { useEffect, useId, useState } from "react";
import { Link } from "react-router";
import { ApiError } from "../../api/client";
import { useAction, useStreamEvent } from "../../api/hooks";
import { Button, ErrorMessage, Loading, Notice, Page, formatDateTime } from "../../ui/ui";
import { nameOf, social, type Friend, type FriendRequest, type SearchResult } from "./api";
import { ConfirmButton, PersonRow } from "./people";
import { usePaged, type PagedList } from "./usePaged";

export function FriendsPage() {
  const incoming = usePaged((cursor, signal) => social.friendRequests("incoming", { cursor, signal }), (r) => r.id, []);
  const outgoing = usePaged((cursor, signal) => social.friendRequests("outgoing", { cursor, signal }), (r) => r.id, []);
  const friends = usePaged((cursor, signal) => social.friends({ cursor, signal }), (f) => f.user_id, []);
  const reloadAll = () => {
    incoming.reload();
    outgoing.reload();
    friends.reload();
  };
  useStreamEvent("notifications", reloadAll);

  return (
    <Page title="Friends">
      <PeopleSearch onRequested={outgoing.reload} />
      <IncomingRequests list={incoming} onDecided={reloadAll} />
      <OutgoingRequests list={outgoing} />
      <FriendList list={friends} />
      <p className="muted">
        <Link to="/blocks">People you block</Link>
      </p>
    </Page>
  );
}

/** Debounced search: the API is asked 300 ms after the last keystroke, the previous question abandoned. */
function PeopleSearch({ onRequested }: { onRequested: () => void }) {
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<{ q: string; items: SearchResult[]; next: string | null }>();
  const [error, setError] = useState<Error>();
  const [searching, setSearching] = useState(false);
  const [more, setMore] = useState(false);
  const inputId = useId();

  useEffect(() => {
    const q = query.trim();
    setError(undefined);
    if (!q) {
      setResults(undefined);
      setSearching(false);
      return;
    }
    const controller = new AbortController();
    setSearching(true);
    const timer = window.setTimeout(() => {
      social.search(q, { limit: 20, signal: controller.signal }).then(
        (page) => {
          if (controller.signal.aborted) return;
          setResults({ q, items: page.items, next: page.next_cursor });
          setSearching(false);
        },
        (err: unknown) => {
          if (controller.signal.aborted) return;
          setError(err instanceof Error ? err : new Error(String(err)));
          setSearching(false);
        },
      );
    }, 300);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [query]);

  async function showMore() {
    if (!results?.next) return;
    setMore(true);
    try {
      const page = await social.search(results.q, { limit: 20, cursor: results.next });
      setResults((shown) => shown && shown.q === results.q ? { q: shown.q, items: [...shown.items, ...page.items], next: page.next_cursor } : shown);
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setMore(false);
    }
  }

  return (
    <section aria-labelledby={`${inputId}-title`}>
      <h2 id={`${inputId}-title`}>Find people</h2>
      <form role="search" onSubmit={(event) => event.preventDefault()}>
        <div className="field">
          <label htmlFor={inputId}>Name or username</label>
          <input id={inputId} type="search" value={query} onChange={(event) => setQuery(event.target.value)} autoComplete="off" spellCheck={false} maxLength={64} />
        </div>
      </form>
      <div className="search-results">
        <ErrorMessage error={error} />
        <p role="status" className="muted">
          {searching ? "Searching…" : results ? (results.items.length ? `${results.items.length}${results.next ? "+" : ""} found for “${results.q}”.` : `Nobody found for “${results.q}”.`) : ""}
        </p>
        {results && results.items.length > 0 && (
          <ul className="list" aria-label="People found">
            {results.items.map((person) => (
              <li key={person.user_id}>
                <SearchResultRow person={person} onRequested={onRequested} />
              </li>
            ))}
          </ul>
        )}
        {results?.next && (
          <Button type="button" className="button secondary" busy={more} onClick={() => void showMore()}>
            Show more people
          </Button>
        )}
      </div>
    </section>
  );
}

function SearchResultRow({ person, onRequested }: { person: SearchResult; onRequested: () => void }) {
  const [outcome, setOutcome] = useState<string>();
  const request = useAction(async () => {
    const answer = await social.sendFriendRequest(person.username);
    setOutcome(answer.status === "accepted" ? `You and ${nameOf(person)} are now friends.` : `Friend request sent to ${nameOf(person)}.`);
    onRequested();
  });
  // 409: already friends or already asked; say so in words rather than as a failure.
  const conflict = request.error instanceof ApiError && request.error.status === 409;
  return (
    <>
      <PersonRow user={person} note={person.is_friend ? "Your friend" : undefined}>
        {person.is_friend ? (
          <Link className="button secondary" to={`/conversations/new?with=${encodeURIComponent(person.user_id)}`}>
            Message<span className="visually-hidden"> {nameOf(person)}</span>
          </Link>
        ) : (
          !outcome && (
            <Button type="button" busy={request.busy} onClick={() => void request.run()}>
              Add friend<span className="visually-hidden"> {nameOf(person)}</span>
            </Button>
          )
        )}
      </PersonRow>
      {outcome && <Notice>{outcome}</Notice>}
      {conflict ? <Notice>{request.error?.message}</Notice> : <ErrorMessage error={request.error} />}
    </>
  );
}

function ShowMore<T>({ list, label }: { list: PagedList<T>; label: string }) {
  if (!list.hasMore) return null;
  return (
    <Button type="button" className="button secondary" busy={list.loadingMore} onClick={() => void list.loadMore()}>
      {label}
    </Button>
  );
}

function IncomingRequests({ list, onDecided }: { list: PagedList<FriendRequest>; onDecided: () => void }) {
  return (
    <section aria-labelledby="incoming-title">
      <h2 id="incoming-title">Requests for you</h2>
      <ErrorMessage error={list.error} />
      {list.items === undefined ? (
        list.loading && <Loading />
      ) : list.items.length === 0 ? (
        <p className="muted">No one is waiting for your answer.</p>
      ) : (
        <ul className="list" aria-labelledby="incoming-title">
          {list.items.map((request) => (
            <li key={request.id}>
              <IncomingRequest request={request} onDecided={onDecided} />
            </li>
          ))}
        </ul>
      )}
      <ShowMore list={list} label="Show more requests" />
    </section>
  );
}

function IncomingRequest({ request, onDecided }: { request: FriendRequest; onDecided: () => void }) {
  const name = nameOf(request.sender);
  const decide = useAction(async (decision: "accept" | "reject") => {
    await social.decideFriendRequest(request.id, decision);
    onDecided();
  });
  return (
    <>
      <PersonRow user={request.sender} note={`Asked ${formatDateTime(request.created_at)}`}>
        <Button type="button" busy={decide.busy} onClick={() => void decide.run("accept")}>
          Accept<span className="visually-hidden"> {name}</span>
        </Button>
        <Button type="button" className="button secondary" busy={decide.busy} onClick={() => void decide.run("reject")}>
          Decline<span className="visually-hidden"> {name}</span>
        </Button>
      </PersonRow>
      <ErrorMessage error={decide.error} />
    </>
  );
}

function OutgoingRequests({ list }: { list: PagedList<FriendRequest> }) {
  return (
    <section aria-labelledby="outgoing-title">
      <h2 id="outgoing-title">Requests you sent</h2>
      <ErrorMessage error={list.error} />
      {list.items === undefined ? (
        list.loading && <Loading />
      ) : list.items.length === 0 ? (
        <p className="muted">No request of yours is waiting.</p>
      ) : (
        <ul className="list" aria-labelledby="outgoing-title">
          {list.items.map((request) => (
            <li key={request.id}>
              <OutgoingRequest request={request} onCancelled={() => list.update((items) => items.filter((r) => r.id !== request.id))} />
            </li>
          ))}
        </ul>
      )}
      <ShowMore list={list} label="Show more sent requests" />
    </section>
  );
}

function OutgoingRequest({ request, onCancelled }: { request: FriendRequest; onCancelled: () => void }) {
  const cancel = useAction(async () => {
    await social.decideFriendRequest(request.id, "cancel");
    onCancelled();
  });
  return (
    <>
      <PersonRow user={request.recipient} note={`Sent ${formatDateTime(request.created_at)}`}>
        <Button type="button" className="button secondary" busy={cancel.busy} onClick={() => void cancel.run()}>
          Cancel request<span className="visually-hidden"> to {nameOf(request.recipient)}</span>
        </Button>
      </PersonRow>
      <ErrorMessage error={cancel.error} />
    </>
  );
}

function FriendList({ list }: { list: PagedList<Friend> }) {
  return (
    <section aria-labelledby="friends-title">
      <h2 id="friends-title">Your friends</h2>
      <ErrorMessage error={list.error} />
      {list.items === undefined ? (
        list.loading && <Loading />
      ) : list.items.length === 0 ? (
        <p className="muted">No friends yet: find people above and ask them.</p>
      ) : (
        <ul className="list" aria-labelledby="friends-title">
          {list.items.map((friend) => (
            <li key={friend.user_id}>
              <FriendRow friend={friend} onRemoved={() => list.update((items) => items.filter((f) => f.user_id !== friend.user_id))} />
            </li>
          ))}
        </ul>
      )}
      <ShowMore list={list} label="Show more friends" />
    </section>
  );
}

function FriendRow({ friend, onRemoved }: { friend: Friend; onRemoved: () => void }) {
  const name = nameOf(friend);
  const unfriend = useAction(async () => {
    await social.unfriend(friend.user_id);
    onRemoved();
  });
  return (
    <>
      <PersonRow user={friend} note={`Friends since ${formatDateTime(friend.since)}`}>
        <Link className="button secondary" to={`/conversations/new?with=${encodeURIComponent(friend.user_id)}`}>
          Message<span className="visually-hidden"> {name}</span>
        </Link>
        <ConfirmButton label={<>Unfriend<span className="visually-hidden"> {name}</span></>} question={`Unfriend ${name}?`} confirmLabel="Unfriend" busy={unfriend.busy} onConfirm={unfriend.run} />
      </PersonRow>
      <ErrorMessage error={unfriend.error} />
    </>
  );
}
