/**
 * Contacts' keys, pinned on first use and verified out of band: the browser's copy of what the CLI
 * keeps in contacts.json (client/beyou/contacts.py), with the same rules and the same texts to compare.
 *
 * The server says which keys to encrypt for. The first time this browser sees a user's keys it pins
 * them; from then on a different key for that user is a *change*: the new key is pinned, the old one
 * kept (it still verifies that user's old messages), and the contact becomes unverified until the
 * two people compare fingerprints again. A change is what a lying server would have to do to read
 * along, and also what a legitimate key rotation looks like: only the comparison tells them apart.
 *
 * This module is the pure logic (no storage, no network), so it is unit-tested in Node;
 * contactStore.ts keeps the records in IndexedDB.
 */
import type { PublicKeyInfo } from "./api";

export type Purpose = "signing" | "encryption";
export const PURPOSES: Purpose[] = ["signing", "encryption"];

export interface PinnedKey {
  purpose: Purpose;
  fingerprint: string;
  algorithm: string;
  pem: string;
  pinned_at: string;
}

export interface Contact {
  user_id: string;
  username: string | null;
  signing: PinnedKey | null;
  encryption: PinnedKey | null;
  verified: boolean;
  verified_at: string | null;
  /** Keys pinned before the current ones: they still verify this contact's old messages. */
  previous: PinnedKey[];
  /**
   * When a pinned key was last replaced, and which: the warning stays up (across reloads) until the
   * contact is verified again. The CLI warns once; a browser page is re-read, so it is kept.
   */
  changed_at: string | null;
  changed_purposes: Purpose[];
}

export interface KeyCheck {
  /** "new": pinned now; "unchanged"; "changed": a key replaced the pinned one. */
  status: "new" | "unchanged" | "changed";
  contact: Contact;
  /** The purposes whose key changed. */
  changed: Purpose[];
  /** The contact had been verified before this change (and is not any more). */
  wasVerified: boolean;
}

export type ObservedKeys = Partial<Record<Purpose, PublicKeyInfo | null>>;

export function emptyContact(userId: string, username: string | null = null): Contact {
  return { user_id: userId, username, signing: null, encryption: null, verified: false, verified_at: null, previous: [], changed_at: null, changed_purposes: [] };
}

/**
 * Check a user's current keys against the pinned ones (as Contacts.observe in the CLI): pins them the
 * first time; a different key replaces the pinned one, keeps the old one in `previous`, and makes the
 * contact unverified. Returns a new Contact; `contact` is not modified. Each key's PEM must already be
 * checked to have its fingerprint (contactStore does that before calling this).
 */
export function observe(contact: Contact | undefined, userId: string, username: string | null, keys: ObservedKeys, now: string): KeyCheck {
  const isNew = contact === undefined;
  const next: Contact = contact ? { ...contact, previous: [...contact.previous] } : emptyContact(userId);
  if (username) next.username = username;
  const changed: Purpose[] = [];
  for (const purpose of PURPOSES) {
    const key = keys[purpose];
    if (!key) continue;
    const pinned = next[purpose];
    if (pinned && pinned.fingerprint === key.fingerprint) continue;
    if (pinned) {
      changed.push(purpose);
      next.previous.push(pinned);
    }
    next[purpose] = { purpose, fingerprint: key.fingerprint, algorithm: key.algorithm, pem: key.pem, pinned_at: now };
  }
  if (isNew) return { status: "new", contact: next, changed: [], wasVerified: false };
  if (!changed.length) return { status: "unchanged", contact: next, changed: [], wasVerified: false };
  const wasVerified = next.verified;
  next.verified = false;
  next.verified_at = null;
  next.changed_at = now;
  next.changed_purposes = [...new Set([...(next.changed_purposes ?? []), ...changed])];
  return { status: "changed", contact: next, changed, wasVerified };
}

/** A key this contact has been seen with, current or previous. */
export function knownKey(contact: Contact | undefined, fingerprint: string): PinnedKey | null {
  if (!contact) return null;
  for (const key of [contact.signing, contact.encryption, ...contact.previous]) {
    if (key && key.fingerprint === fingerprint) return key;
  }
  return null;
}

export function markVerified(contact: Contact, now: string): Contact {
  return { ...contact, verified: true, verified_at: now, changed_at: null, changed_purposes: [] };
}

/** A fingerprint as people compare it aloud: groups of four hex digits (keys.grouped in the CLI). */
export function grouped(fingerprint: string, size = 4): string {
  const groups: string[] = [];
  for (let i = 0; i < fingerprint.length; i += size) groups.push(fingerprint.slice(i, i + size));
  return groups.join(" ");
}

/** What the QR code holds, exactly as `beyou keys fingerprint` / `beyou keys verify` show it. */
export function safetyPayload(userId: string, signing: string, encryption: string): string {
  return `beyou-keys:v1:${userId}:${signing}:${encryption}`;
}

/** The name to show for a contact. */
export function contactName(contact: Pick<Contact, "username" | "user_id">): string {
  return contact.username ?? contact.user_id;
}

/** The warning shown where the contact's messages are read or written, while their key change is unverified. */
export function keyChangeWarning(contact: Contact | undefined): string | null {
  if (!contact?.changed_at) return null;
  return `${contactName(contact)}'s keys changed: verify them again. This happens when they set up new keys, or when someone is trying to read along.`;
}
