/** /profile: my profile as others see it, its editing, and my avatar. */
import { useEffect, useId, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { ApiError } from "../../api/client";
import { useAction, useAsync } from "../../api/hooks";
import { Button, ErrorMessage, Field, Loaded, Notice, Page, TextArea, formatDateTime } from "../../ui/ui";
import { nameOf, social, type OwnProfile } from "./api";
import { Avatar, ConfirmButton, VerifiedMark } from "./people";

const AVATAR_TYPES = "image/jpeg,image/png,image/webp";
const AVATAR_MAX_BYTES = 5 * 1024 * 1024;

export function ProfilePage() {
  const state = useAsync((signal) => social.myProfile(signal), []);
  const notYet = state.error instanceof ApiError && state.error.status === 404;
  return (
    <Page title="My profile">
      {notYet ? (
        <div className="panel">
          <p>Your profile is still being set up: it appears a few moments after registering.</p>
          <Button type="button" onClick={state.reload} busy={state.loading}>
            Try again
          </Button>
        </div>
      ) : (
        <Loaded state={state}>{(profile) => <ProfileEditor profile={profile} onChange={state.setData} />}</Loaded>
      )}
    </Page>
  );
}

function ProfileEditor({ profile, onChange }: { profile: OwnProfile; onChange: (profile: OwnProfile) => void }) {
  return (
    <>
      <div className="profile-head">
        <Avatar user={profile} size={128} alt="Your avatar" />
        <div>
          <p className="profile-name">
            <strong>{nameOf(profile)}</strong> <span className="muted">@{profile.username}</span> <VerifiedMark verified={profile.verified} />
          </p>
          <p className="muted">
            <Link to="/friends">{profile.friends_count === 1 ? "1 friend" : `${profile.friends_count} friends`}</Link> · member since{" "}
            {formatDateTime(profile.created_at)}
          </p>
          <p>
            <Link to={`/people/${encodeURIComponent(profile.username)}`}>See your page as others see it</Link>
          </p>
        </div>
      </div>
      {!profile.verified && (
        <p className="muted">
          Verified people can create groups, send attachments and sell. <Link to="/verification">Verify your identity</Link>.
        </p>
      )}
      <h2>About you</h2>
      <DetailsForm profile={profile} onChange={onChange} />
      <h2>Avatar</h2>
      <AvatarForm profile={profile} onChange={onChange} />
      <h2>Safety</h2>
      <ul>
        <li><Link to="/blocks">People you block</Link></li>
        <li><Link to="/reports">Your reports</Link></li>
      </ul>
    </>
  );
}

function DetailsForm({ profile, onChange }: { profile: OwnProfile; onChange: (profile: OwnProfile) => void }) {
  const [displayName, setDisplayName] = useState(profile.display_name ?? "");
  const [bio, setBio] = useState(profile.bio ?? "");
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    // "" clears a field (the API stores null); only what changed is sent.
    const changes: { display_name?: string; bio?: string } = {};
    if (displayName.trim() !== (profile.display_name ?? "")) changes.display_name = displayName;
    if (bio.trim() !== (profile.bio ?? "")) changes.bio = bio;
    const updated = await social.updateProfile(changes);
    onChange(updated);
    setDisplayName(updated.display_name ?? "");
    setBio(updated.bio ?? "");
    setSaved(true);
  });
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    void save.run();
  }
  const fields = save.error instanceof ApiError ? save.error.fields : {};
  return (
    <form onSubmit={onSubmit} aria-label="About you">
      <Field
        label="Display name"
        hint="The name people see; leave it empty to be shown by your username. At most 64 characters."
        maxLength={64}
        value={displayName}
        onChange={(event) => setDisplayName(event.target.value)}
        error={fields.display_name}
        autoComplete="nickname"
      />
      <TextArea label="Bio" hint="A few words about you. At most 500 characters." maxLength={500} value={bio} onChange={(event) => setBio(event.target.value)} />
      <ErrorMessage error={save.error} />
      {saved && <Notice>Profile saved.</Notice>}
      <div className="row">
        <Button type="submit" busy={save.busy}>
          Save
        </Button>
      </div>
    </form>
  );
}

function AvatarForm({ profile, onChange }: { profile: OwnProfile; onChange: (profile: OwnProfile) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string>();
  const [fileError, setFileError] = useState<string>();
  const [message, setMessage] = useState<string>();
  const [inputKey, setInputKey] = useState(0);
  const inputId = useId();

  useEffect(() => {
    if (!file) return setPreview(undefined);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  const upload = useAction(async () => {
    if (!file) return;
    onChange(await social.uploadAvatar(file));
    setFile(null);
    setInputKey((k) => k + 1);
    setMessage("Avatar updated.");
  });
  const remove = useAction(async () => {
    await social.removeAvatar();
    onChange({ ...profile, avatar: null });
    setMessage("Avatar removed.");
  });

  function pick(chosen: File | undefined) {
    setMessage(undefined);
    setFileError(undefined);
    if (chosen && chosen.size > AVATAR_MAX_BYTES) {
      setFileError("That picture is larger than 5 MB.");
      setFile(null);
      return;
    }
    setFile(chosen ?? null);
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    setMessage(undefined);
    void upload.run();
  }

  return (
    <form onSubmit={onSubmit} aria-label="Avatar">
      <div className="field">
        <label htmlFor={inputId}>New picture</label>
        <input key={inputKey} id={inputId} type="file" accept={AVATAR_TYPES} aria-describedby={`${inputId}-hint`} onChange={(event) => pick(event.target.files?.[0])} />
        <small id={`${inputId}-hint`}>A JPEG, PNG or WebP image of at most 5 MB. It is cropped to a square; its metadata (location, camera) is removed.</small>
        {fileError && <small className="field-error" role="alert">{fileError}</small>}
      </div>
      {preview && <img className="avatar-preview" src={preview} alt="Preview of your new avatar" />}
      <ErrorMessage error={upload.error ?? remove.error} />
      {message && <Notice>{message}</Notice>}
      <div className="row">
        <Button type="submit" busy={upload.busy} disabled={!file}>
          Upload picture
        </Button>
        {profile.avatar && (
          <ConfirmButton label="Remove avatar" question="Remove your avatar?" confirmLabel="Remove" busy={remove.busy} onConfirm={remove.run} />
        )}
      </div>
    </form>
  );
}
