/**
 * A group's members and what I may do about them: the owner renames the group, adds a friend and
 * removes a member (each removal confirmed first); a member leaves (confirmed; then back to the list).
 * The page keeps `conversation` current (the stream's `conversation` notices with change `members`
 * or `renamed` make it fetch it again); after my own action the answer (or a fresh copy) is handed
 * back at once through `onChanged`, so the panel does not wait for the notice.
 */
import { useId, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError } from "../../api/client";
import { useAction, useAsync } from "../../api/hooks";
import { Button, ErrorMessage, Field, Notice, Select } from "../../ui/ui";
import { addMember, allFriends, deleteGroup, getConversation, leaveGroup, removeMember, renameGroup, type Conversation, type Participant } from "./api";
import { addableFriends, groupAbilities, roleLabel, sortedMembers } from "./group";
import { participantName } from "./names";

export function GroupPanel({ conversation, me, onChanged }: { conversation: Conversation; me: string; onChanged: (conversation: Conversation) => void }) {
  const can = groupAbilities(conversation, me);
  const [notice, setNotice] = useState("");
  const members = sortedMembers(conversation.participants);
  return (
    <section className="panel group-panel" aria-labelledby="group-members-heading">
      <h2 id="group-members-heading">Members ({conversation.participants.length})</h2>
      <ul className="plain-list group-members" aria-label="Members">
        {members.map((participant) => (
          <MemberRow
            key={participant.user_id}
            conversation={conversation}
            participant={participant}
            me={me}
            removable={can.removable(participant)}
            onRemoved={(changed) => {
              setNotice(`${participantName(participant)} was removed from the group.`);
              onChanged(changed);
            }}
          />
        ))}
      </ul>
      {notice && <Notice>{notice}</Notice>}
      {can.rename && <RenameForm conversation={conversation} onRenamed={(changed) => { setNotice(`The group is now called “${changed.name}”.`); onChanged(changed); }} />}
      {can.add && <AddMemberForm conversation={conversation} onAdded={(changed, name) => { setNotice(`${name} was added to the group.`); onChanged(changed); }} />}
      {can.leave && (
        <ConfirmThenLeave
          action="Leave the group"
          question={`Leave “${conversation.name}”? You will no longer see its messages, and only its owner can add you again.`}
          confirm="Yes, leave"
          cancel="Stay"
          run={() => leaveGroup(conversation.id)}
        />
      )}
      {can.remove && (
        <ConfirmThenLeave
          action="Delete the group"
          question={`Delete “${conversation.name}” for every member? Its messages stay recorded in the ledger; nobody can read them here any more.`}
          confirm="Yes, delete it"
          cancel="Keep it"
          run={() => deleteGroup(conversation.id)}
        />
      )}
      {!can.leave && !can.rename && <p className="muted">Only the group's owner can change its members.</p>}
    </section>
  );
}

function MemberRow({ conversation, participant, me, removable, onRemoved }: {
  conversation: Conversation;
  participant: Participant;
  me: string;
  removable: boolean;
  onRemoved: (conversation: Conversation) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const confirmId = useId();
  const name = participantName(participant);
  const remove = useAction(async () => {
    await removeMember(conversation.id, participant.user_id);
    // DELETE answers 204: the group as it is now comes from a fresh read.
    onRemoved(await getConversation(conversation.id));
  });
  return (
    <li className="group-member">
      <span className="group-member-name">
        {participant.user_id === me ? <strong>{name} (you)</strong> : <Link to={`/contacts/${participant.user_id}`}>{name}</Link>}
        <span className="role">{roleLabel(participant)}</span>
      </span>
      {removable && (
        <span className="row">
          {!confirming ? (
            <Button type="button" className="button secondary" onClick={() => setConfirming(true)}>
              Remove<span className="visually-hidden"> {name}</span>
            </Button>
          ) : (
            <>
              <span id={confirmId}>Remove {name}? New messages will no longer reach them.</span>
              <Button type="button" className="button danger" busy={remove.busy} aria-describedby={confirmId} onClick={() => void remove.run()}>
                Yes, remove {name}
              </Button>
              <Button type="button" className="button secondary" onClick={() => setConfirming(false)}>
                Keep {name}
              </Button>
            </>
          )}
        </span>
      )}
      <ErrorMessage error={remove.error} />
    </li>
  );
}

function RenameForm({ conversation, onRenamed }: { conversation: Conversation; onRenamed: (conversation: Conversation) => void }) {
  const [name, setName] = useState(conversation.name ?? "");
  const rename = useAction(async (next: string) => onRenamed(await renameGroup(conversation.id, next)));
  const trimmed = name.trim();
  function submit(event: FormEvent) {
    event.preventDefault();
    void rename.run(trimmed);
  }
  return (
    <form className="group-form" onSubmit={submit} aria-label="Rename the group">
      <Field label="Group name" required maxLength={100} value={name} onChange={(event) => setName(event.target.value)} error={rename.error instanceof ApiError ? rename.error.fields.name : undefined} />
      <Button type="submit" className="button secondary" busy={rename.busy} disabled={!trimmed || trimmed === conversation.name}>
        Rename
      </Button>
      <ErrorMessage error={rename.error} />
    </form>
  );
}

function AddMemberForm({ conversation, onAdded }: { conversation: Conversation; onAdded: (conversation: Conversation, name: string) => void }) {
  const friends = useAsync((signal) => allFriends(signal), []);
  const [chosen, setChosen] = useState("");
  const candidates = addableFriends(friends.data ?? [], conversation.participants);
  const add = useAction(async (userId: string) => {
    const changed = await addMember(conversation.id, userId);
    setChosen("");
    onAdded(changed, candidates.find((friend) => friend.user_id === userId)?.username ?? "They");
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    if (chosen) void add.run(chosen);
  }
  if (friends.error) return <ErrorMessage error={friends.error} />;
  if (!friends.data) return <p className="muted">Loading your friends…</p>;
  if (candidates.length === 0) return <p className="muted">Every friend of yours is in this group already.</p>;
  return (
    <form className="group-form" onSubmit={submit} aria-label="Add a friend to the group">
      <Select label="Add a friend" value={chosen} onChange={(event) => setChosen(event.target.value)}>
        <option value="">Choose a friend…</option>
        {candidates.map((friend) => (
          <option key={friend.user_id} value={friend.user_id}>
            {friend.display_name ? `${friend.display_name} (${friend.username})` : friend.username}
          </option>
        ))}
      </Select>
      <Button type="submit" className="button secondary" busy={add.busy} disabled={!chosen}>
        Add to group
      </Button>
      <p className="muted">They see the messages sent from now on, not the earlier ones.</p>
      <ErrorMessage error={add.error} />
    </form>
  );
}

/** A button whose action (leaving, deleting) is confirmed in place first, then ends on /conversations. */
function ConfirmThenLeave({ action, question, confirm, cancel, run }: {
  action: string;
  question: string;
  confirm: string;
  cancel: string;
  run: () => Promise<void>;
}) {
  const navigate = useNavigate();
  const questionId = useId();
  const [confirming, setConfirming] = useState(false);
  const done = useAction(async () => {
    await run();
    navigate("/conversations");
  });
  return (
    <div className="row group-leave">
      {!confirming ? (
        <Button type="button" className="button danger" onClick={() => setConfirming(true)}>
          {action}
        </Button>
      ) : (
        <>
          <span id={questionId}>{question}</span>
          <Button type="button" className="button danger" busy={done.busy} aria-describedby={questionId} onClick={() => void done.run()}>
            {confirm}
          </Button>
          <Button type="button" className="button secondary" onClick={() => setConfirming(false)}>
            {cancel}
          </Button>
        </>
      )}
      <ErrorMessage error={done.error} />
    </div>
  );
}
