/**
 * /conversations/new (?with=<userId> preselects a friend): a direct conversation with one friend or a
 * group with several (verified users only), for end-to-end encrypted or standard messages.
 *
 * The server has no such thing as an "e2e conversation": each message is one kind or the other. The
 * choice made here is remembered in this browser as the conversation's default kind of message, and
 * for end-to-end it is checked first that everyone has keys (an envelope needs every participant's
 * active encryption key, the server refuses one without).
 */
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useAction, useAsync } from "../../api/hooks";
import { useSession } from "../../api/session";
import { Button, ErrorMessage, Field, Loaded, Page } from "../../ui/ui";
import { activeKeys, allFriends, createGroup, startDirect, type Friend } from "./api";
import { conversationModes } from "./contactBook";
import type { MessageKind } from "./contactStore";
import "./messaging.css";

type KeyStatus = "checking" | "ready" | "missing" | "error";

export function NewConversationPage() {
  const { account } = useSession();
  const me = account!.id;
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const preselected = params.get("with");
  const friends = useAsync((signal) => allFriends(signal), []);
  const [type, setType] = useState<"direct" | "group">("direct");
  const [kind, setKind] = useState<MessageKind>("e2e");
  const [direct, setDirect] = useState<string>(preselected ?? "");
  const [members, setMembers] = useState<string[]>(preselected ? [preselected] : []);
  const [name, setName] = useState("");
  const chosen = useMemo(() => (type === "direct" ? (direct ? [direct] : []) : members), [type, direct, members]);
  const keyStatus = useKeyStatus(kind === "e2e" ? [me, ...chosen] : [], me);

  const create = useAction(async (event: FormEvent) => {
    event.preventDefault();
    const conversation = type === "direct" ? await startDirect(direct) : await createGroup(name.trim(), members);
    await conversationModes.setMode(me, conversation.id, kind);
    navigate(`/conversations/${conversation.id}`);
  });

  const missing = chosen.concat(me).filter((id) => keyStatus[id] === "missing");
  const checking = kind === "e2e" && chosen.concat(me).some((id) => keyStatus[id] !== "ready" && keyStatus[id] !== "missing");
  const blocked = !chosen.length || (type === "group" && !name.trim()) || (kind === "e2e" && (missing.length > 0 || checking));

  return (
    <Page title="New conversation">
      <Loaded state={friends}>
        {(list) =>
          list.length === 0 ? (
            <p>
              Conversations are with friends, and you have none yet. <Link to="/friends">Find friends</Link>.
            </p>
          ) : (
            <form onSubmit={(event) => void create.run(event)} className="new-conversation">
              <fieldset>
                <legend>Who</legend>
                <label className="choice">
                  <input type="radio" name="type" value="direct" checked={type === "direct"} onChange={() => setType("direct")} /> One friend
                  (direct)
                </label>
                <label className="choice">
                  <input type="radio" name="type" value="group" checked={type === "group"} onChange={() => setType("group")} /> Several friends
                  (group)
                </label>
              </fieldset>
              {type === "group" && !account!.verified && (
                <p className="warning" role="note">
                  Only verified users can create groups. <Link to="/security">Ask for verification</Link> first.
                </p>
              )}
              {type === "direct" ? (
                <fieldset>
                  <legend>Friend</legend>
                  <ul className="plain-list">
                    {list.map((friend) => (
                      <li key={friend.user_id}>
                        <label className="choice">
                          <input type="radio" name="friend" value={friend.user_id} checked={direct === friend.user_id} onChange={() => setDirect(friend.user_id)} />{" "}
                          <FriendLabel friend={friend} status={kind === "e2e" ? keyStatus[friend.user_id] : undefined} />
                        </label>
                      </li>
                    ))}
                  </ul>
                </fieldset>
              ) : (
                <>
                  <Field label="Group name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required />
                  <fieldset>
                    <legend>Members</legend>
                    <ul className="plain-list">
                      {list.map((friend) => (
                        <li key={friend.user_id}>
                          <label className="choice">
                            <input
                              type="checkbox"
                              value={friend.user_id}
                              checked={members.includes(friend.user_id)}
                              onChange={(e) => setMembers((now) => (e.target.checked ? [...now, friend.user_id] : now.filter((id) => id !== friend.user_id)))}
                            />{" "}
                            <FriendLabel friend={friend} status={kind === "e2e" ? keyStatus[friend.user_id] : undefined} />
                          </label>
                        </li>
                      ))}
                    </ul>
                  </fieldset>
                </>
              )}
              <fieldset>
                <legend>Messages</legend>
                <label className="choice">
                  <input type="radio" name="kind" value="e2e" checked={kind === "e2e"} onChange={() => setKind("e2e")} /> End-to-end encrypted: only the
                  participants can read them (everyone needs keys)
                </label>
                <label className="choice">
                  <input type="radio" name="kind" value="standard" checked={kind === "standard"} onChange={() => setKind("standard")} /> Standard: encrypted
                  on the server, readable by BeYou
                </label>
              </fieldset>
              {kind === "e2e" && <KeyReport missing={missing} me={me} friends={list} />}
              <ErrorMessage error={create.error} />
              <Button type="submit" busy={create.busy} disabled={blocked}>
                Start conversation
              </Button>
            </form>
          )
        }
      </Loaded>
    </Page>
  );
}

function FriendLabel({ friend, status }: { friend: Friend; status: KeyStatus | undefined }) {
  return (
    <span>
      {friend.display_name ? `${friend.display_name} (@${friend.username})` : `@${friend.username}`}
      {status === "missing" && <span className="muted"> — no keys</span>}
      {status === "error" && <span className="muted"> — keys could not be checked</span>}
    </span>
  );
}

function KeyReport({ missing, me, friends }: { missing: string[]; me: string; friends: Friend[] }) {
  if (!missing.length) return null;
  const names = missing.map((id) => (id === me ? "you" : `@${friends.find((f) => f.user_id === id)?.username ?? id}`));
  return (
    <div className="warning" role="status">
      End-to-end messages need keys for everyone, and these have none registered: {names.join(", ")}.{" "}
      {missing.includes(me) ? (
        <>
          Create yours on the <Link to="/keys">Keys</Link> page.
        </>
      ) : (
        "Ask them to create keys, or choose standard messages."
      )}
    </div>
  );
}

/**
 * Whether each user can take part in end-to-end messages (auth's registry), looked up once per user:
 * everyone needs an active encryption key (to be sealed for), and I also a signing key (to sign).
 */
function useKeyStatus(userIds: string[], me: string): Record<string, KeyStatus> {
  const [status, setStatus] = useState<Record<string, KeyStatus>>({});
  const asked = useRef(new Set<string>());
  const wanted = userIds.join(",");
  useEffect(() => {
    for (const userId of wanted ? wanted.split(",") : []) {
      if (asked.current.has(userId)) continue;
      asked.current.add(userId);
      setStatus((now) => ({ ...now, [userId]: "checking" }));
      activeKeys(userId).then(
        (keys) => {
          const ready = keys.encryption && (userId !== me || keys.signing);
          setStatus((now) => ({ ...now, [userId]: ready ? "ready" : "missing" }));
        },
        () => {
          asked.current.delete(userId);
          setStatus((now) => ({ ...now, [userId]: "error" }));
        },
      );
    }
  }, [wanted, me]);
  return status;
}
