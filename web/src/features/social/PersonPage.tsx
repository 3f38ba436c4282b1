/**
 * /people/:username: someone's profile and what I can do about them (befriend, answer their
 * request, unfriend, block, unblock, report). The API finds profiles by username, so that is the
 * address; the page follows live changes (a request of theirs, their answer) through the stream.
 */
import { useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError } from "../../api/client";
import { useAction, useAsync, useStreamEvent } from "../../api/hooks";
import { Button, ErrorMessage, Field, Loaded, Notice, Page, formatDateTime } from "../../ui/ui";
import { nameOf, social, type Profile } from "./api";
import { Avatar, ConfirmButton, VerifiedMark } from "./people";
import { ReportForm } from "./ReportForm";

export function PersonPage() {
  const { username = "" } = useParams();
  const state = useAsync((signal) => social.profile(username, signal), [username]);
  useStreamEvent("notifications", state.reload);
  const title = state.data ? nameOf(state.data) : state.error instanceof ApiError && state.error.status === 404 ? "No such person" : username;
  return (
    <Page title={title}>
      {state.error instanceof ApiError && state.error.status === 404 ? (
        <p>
          Nobody called @{username} is on BeYou. <Link to="/friends">Search for people</Link>.
        </p>
      ) : (
        <Loaded state={state}>{(profile) => <PersonView profile={profile} reload={state.reload} />}</Loaded>
      )}
    </Page>
  );
}

const STANDING: Record<Profile["relationship"], (name: string) => string> = {
  self: () => "This is you.",
  friend: (name) => `You and ${name} are friends.`,
  request_sent: (name) => `You asked ${name} to be friends; they have not answered yet.`,
  request_received: (name) => `${name} asked to be your friend.`,
  blocked: (name) => `You block ${name}: nothing passes between you anywhere on BeYou.`,
  blocked_by: (name) => `You cannot interact with ${name}.`,
  none: () => "",
};

function PersonView({ profile, reload }: { profile: Profile; reload: () => void }) {
  const name = nameOf(profile);
  const [done, setDone] = useState<string>();
  const act = useAction(async (work: () => Promise<unknown>, message: string) => {
    setDone(undefined);
    await work();
    setDone(message);
    reload();
  });
  const standing = STANDING[profile.relationship](name);
  const requestId = profile.friend_request_id;

  return (
    <>
      <div className="profile-head">
        <Avatar user={profile} size={128} alt={`${name}'s avatar`} />
        <div>
          <p>
            <span className="muted">@{profile.username}</span> <VerifiedMark verified={profile.verified} />
          </p>
          <p className="muted">
            {profile.friends_count !== null && `${profile.friends_count === 1 ? "1 friend" : `${profile.friends_count} friends`} · `}
            member since {formatDateTime(profile.created_at)}
          </p>
        </div>
      </div>
      {profile.bio && <p className="profile-bio">{profile.bio}</p>}
      {standing && <p data-testid="relationship">{standing}</p>}
      {profile.relationship === "self" ? (
        <p>
          <Link to="/profile">Edit your profile</Link>
        </p>
      ) : (
        <>
          <div className="row" aria-label={`What you can do about ${name}`} role="group">
            {profile.relationship === "none" && (
              <Button type="button" busy={act.busy} onClick={() => void act.run(() => social.sendFriendRequest(profile.username), `Friend request sent to ${name}.`)}>
                Add friend
              </Button>
            )}
            {profile.relationship === "request_sent" && requestId && (
              <Button type="button" className="button secondary" busy={act.busy} onClick={() => void act.run(() => social.decideFriendRequest(requestId, "cancel"), "Request withdrawn.")}>
                Cancel request
              </Button>
            )}
            {profile.relationship === "request_received" && requestId && (
              <>
                <Button type="button" busy={act.busy} onClick={() => void act.run(() => social.decideFriendRequest(requestId, "accept"), `You and ${name} are now friends.`)}>
                  Accept
                </Button>
                <Button type="button" className="button secondary" busy={act.busy} onClick={() => void act.run(() => social.decideFriendRequest(requestId, "reject"), "Request declined.")}>
                  Decline
                </Button>
              </>
            )}
            {profile.relationship === "friend" && (
              <>
                <Link className="button" to={`/conversations/new?with=${encodeURIComponent(profile.user_id)}`}>
                  Message
                </Link>
                <ConfirmButton label="Unfriend" question={`Unfriend ${name}?`} confirmLabel="Unfriend" busy={act.busy} onConfirm={() => act.run(() => social.unfriend(profile.user_id), `You and ${name} are no longer friends.`)} />
              </>
            )}
            {profile.relationship === "blocked" && (
              <Button type="button" className="button secondary" busy={act.busy} onClick={() => void act.run(() => social.unblock(profile.user_id), `You no longer block ${name}.`)}>
                Unblock
              </Button>
            )}
          </div>
          <ErrorMessage error={act.error} />
          {done && <Notice>{done}</Notice>}
          {profile.relationship !== "blocked" && <BlockForm profile={profile} onBlocked={(message) => { setDone(message); reload(); }} />}
          <details className="panel">
            <summary>Report {name}</summary>
            <ReportForm targetType="user" targetId={profile.user_id} about={name} />
          </details>
        </>
      )}
    </>
  );
}

function BlockForm({ profile, onBlocked }: { profile: Profile; onBlocked: (message: string) => void }) {
  const name = nameOf(profile);
  const [reason, setReason] = useState("");
  const block = useAction(async () => {
    await social.block(profile.username, reason);
    onBlocked(`You now block ${name}.`);
  });
  return (
    <details className="panel">
      <summary>Block {name}</summary>
      <p>
        Blocking ends your friendship and open requests; nothing passes between you in messages or the market, and you no
        longer find each other in search. You can unblock later.
      </p>
      <form onSubmit={(event) => event.preventDefault()} aria-label={`Block ${name}`}>
        <Field label="Why (optional, only you see it)" maxLength={500} value={reason} onChange={(event) => setReason(event.target.value)} />
        <ErrorMessage error={block.error} />
        <div className="row">
          <ConfirmButton label={`Block ${name}`} question={`Block ${name}?`} confirmLabel="Block" className="button danger" busy={block.busy} onConfirm={block.run} />
        </div>
      </form>
    </details>
  );
}
