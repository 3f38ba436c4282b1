/** Small pieces every social screen shows: avatars, a person's line, a two-step confirmation. */
import { useEffect, useRef, useState, type ReactNode } from "react";
import { Link } from "react-router";
import { Button } from "../../ui/ui";
import { nameOf, type UserSummary } from "./api";
import "./social.css";

/**
 * A user's avatar (public renditions, so a plain <img>), or their initial on a coloured disc.
 * `alt` is empty where the name is written next to it (the picture would only repeat it).
 */
export function Avatar({ user, size = 48, alt = "" }: { user: Pick<UserSummary, "username" | "display_name" | "avatar">; size?: number; alt?: string }) {
  const urls = user.avatar;
  if (urls && Object.keys(urls).length) {
    const sizes = Object.keys(urls).map(Number).sort((a, b) => a - b);
    const fallback = urls[String(sizes.find((side) => side >= size) ?? sizes[sizes.length - 1])];
    return (
      <img
        className="avatar"
        src={fallback}
        srcSet={sizes.map((side) => `${urls[String(side)]} ${side}w`).join(", ")}
        sizes={`${size}px`}
        width={size}
        height={size}
        alt={alt}
      />
    );
  }
  return (
    <span className="avatar avatar-initial" style={{ width: size, height: size, fontSize: size / 2.4 }} role={alt ? "img" : undefined} aria-label={alt || undefined} aria-hidden={alt ? undefined : true}>
      {nameOf(user).slice(0, 1).toUpperCase()}
    </span>
  );
}

export function VerifiedMark({ verified }: { verified: boolean }) {
  if (!verified) return null;
  return (
    <span className="verified-mark" title="Identity verified">
      <span aria-hidden="true">✓</span> Verified
    </span>
  );
}

/** A person as one line of a list: avatar, name (to their page), @username, and what can be done. */
export function PersonRow({ user, children, note }: { user: UserSummary; children?: ReactNode; note?: ReactNode }) {
  return (
    <div className="person-row">
      <Avatar user={user} />
      <div className="person-name">
        <Link to={`/people/${encodeURIComponent(user.username)}`}>{nameOf(user)}</Link>{" "}
        <span className="muted">@{user.username}</span> <VerifiedMark verified={user.verified} />
        {note && <div className="muted person-note">{note}</div>}
      </div>
      {children && <div className="row person-actions">{children}</div>}
    </div>
  );
}

/**
 * A destructive action asked twice, in the page rather than in a browser dialog: the first press
 * shows the question with "Yes" focused (keyboard users land on it), "No" goes back.
 */
export function ConfirmButton({ label, question, confirmLabel, onConfirm, busy, className = "button secondary" }: {
  label: ReactNode;
  question: string;
  confirmLabel: string;
  onConfirm: () => unknown;
  busy?: boolean;
  className?: string;
}) {
  const [asking, setAsking] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <Button type="button" className={className} busy={busy} onClick={() => setAsking(true)}>
        {label}
      </Button>
    );
  }
  return (
    <span className="confirm row" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        ref={yes}
        type="button"
        className="button danger"
        onClick={() => {
          setAsking(false);
          void onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className="button secondary" onClick={() => setAsking(false)}>
        No
      </button>
    </span>
  );
}
