/**
 * Reading a message as served: verify (and for e2e decrypt) it in this browser, and say what could be
 * established, the way the CLI's `beyou.messages.read_message` does — so the marks on screen mean
 * the same as its trust verdicts.
 *
 * The result is cached per message (and per set of keys held): a message is verified once per page,
 * however often it re-renders or scrolls back into view.
 */
import { ApiError } from "../../api/client";
import { concatBytes, fromBase64, sha256Hex, utf8 } from "../../crypto/encoding";
import { EnvelopeError, type Attachment as SealedAttachment } from "../../crypto/envelope";
import { openMessage, userKeys, verifyStandardMessage } from "../../crypto/messages";
import type { UnlockedKeys } from "../../crypto/vault";
import type { Message, PublicKeyInfo } from "./api";
import { contactBook } from "./contactBook";
import { knownKey } from "./contacts";

/** Why a message could not be trusted, in the CLI's words. */
export type Failure = "bad-signature" | "misplaced" | "not-for-me" | "undecryptable" | "malformed" | "tampered" | "unchecked";

export type SignatureMark =
  /** The signature verifies with the sender's registered key `senderKey` (how far that key is trusted: see senderTrust). */
  | { state: "verified"; senderKey: string }
  /** A standard message without a signature: only the server vouches for it. */
  | { state: "unsigned" }
  /** An e2e message while this browser's keys are locked (or absent): nothing can be read yet. */
  | { state: "locked" }
  | { state: "failed"; failure: Failure; problem: string };

export interface ReadMessage {
  mark: SignatureMark;
  /** The text to show (only for a verified or unsigned message). */
  body: string | null;
  /** An e2e message's sealed attachments (names and keys); a standard one's are its attachment_ids. */
  sealed: SealedAttachment[];
}

/** How far the key that signed a message is trusted here (it can change while the message is on screen). */
export interface SenderTrust {
  /** Signed by one of my keys. */
  own: boolean;
  /** The contact's keys were compared in person and have not changed since. */
  contactVerified: boolean;
  /** The contact's keys changed and were not verified again. */
  keyChanged: boolean;
}

export interface ReadContext {
  me: string;
  /** My unlocked keys, or null while locked / absent. */
  keys: UnlockedKeys | null;
}

const cache = new Map<string, Promise<ReadMessage>>();

/** Verify (and decrypt) `message`; cached per message and keys. */
export function readMessage(message: Message, context: ReadContext): Promise<ReadMessage> {
  const held = context.keys ? context.keys.decryptionKeys.map((key) => key.fingerprint).join(",") : "locked";
  const id = `${context.me} ${message.id} ${message.content_sha256} ${held}`;
  let result = cache.get(id);
  if (!result) {
    result = read(message, context);
    cache.set(id, result);
    // A network failure is not a verdict: the next render tries again.
    void result.then((read) => {
      if (read.mark.state === "failed" && read.mark.failure === "unchecked") cache.delete(id);
    });
  }
  return result;
}

async function read(message: Message, context: ReadContext): Promise<ReadMessage> {
  try {
    return message.kind === "e2e" ? await readE2e(message, context) : await readStandard(message);
  } catch (error) {
    return { mark: failureOf(error), body: null, sealed: [] };
  }
}

async function readE2e(message: Message, context: ReadContext): Promise<ReadMessage> {
  if (!context.keys) return { mark: { state: "locked" }, body: null, sealed: [] };
  const opened = await openMessage(message, context.keys);
  if (message.content_sha256 && message.content_sha256 !== opened.contentSha256) {
    return failed("tampered", "The envelope does not match the hash recorded when it was sent.");
  }
  return { mark: { state: "verified", senderKey: opened.senderKey }, body: opened.body, sealed: opened.attachments };
}

async function readStandard(message: Message): Promise<ReadMessage> {
  const body = message.body ?? "";
  if (!standardHashMatches(message)) return failed("tampered", "The text does not match the hash recorded when it was sent.");
  const verdict = await verifyStandardMessage(message);
  if (verdict === "unsigned") return { mark: { state: "unsigned" }, body, sealed: [] };
  return { mark: { state: "verified", senderKey: message.sender_key ?? "" }, body, sealed: [] };
}

/** SHA-256(salt ‖ UTF-8 body) must be what the ledger records for a standard message. */
function standardHashMatches(message: Message): boolean {
  if (!message.content_salt || !message.content_sha256 || message.body === null) return true;
  return sha256Hex(concatBytes(fromBase64(message.content_salt, "content_salt"), utf8(message.body))) === message.content_sha256;
}

/**
 * How far the key that signed `message` (already verified against the sender's registered keys) is
 * trusted here: mine; or the contact's pinned key, compared in person or not. A key not pinned yet
 * that is the sender's active one is pinned now — or, replacing a pinned key, is a key change.
 */
export async function senderTrust(message: Message, fingerprint: string, me: string): Promise<SenderTrust> {
  if (message.sender_id === me) return { own: true, contactVerified: true, keyChanged: false };
  let contact = await contactBook.get(me, message.sender_id);
  if (!knownKey(contact, fingerprint)) {
    const key = (await userKeys(message.sender_id)).find((candidate) => candidate.fingerprint === fingerprint);
    // A retired key of theirs from before this browser met them verifies, but is not theirs to pin now.
    if (key?.active && key.purpose === "signing" && key.algorithm && key.pem) {
      const signing = { fingerprint: key.fingerprint, algorithm: key.algorithm as PublicKeyInfo["algorithm"], pem: key.pem };
      contact = (await contactBook.observe(me, message.sender_id, null, { signing })).contact;
    }
  }
  return { own: false, contactVerified: !!contact?.verified, keyChanged: !!contact?.changed_at };
}

function failed(failure: Failure, problem: string): ReadMessage {
  return { mark: { state: "failed", failure, problem }, body: null, sealed: [] };
}

function failureOf(error: unknown): SignatureMark {
  if (error instanceof EnvelopeError) {
    const failure: Failure = error.kind === "tampered" ? "undecryptable" : error.kind;
    return { state: "failed", failure, problem: error.message };
  }
  if (error instanceof ApiError) return { state: "failed", failure: "unchecked", problem: `Could not be checked: ${error.message}` };
  return { state: "failed", failure: "unchecked", problem: error instanceof Error ? error.message : String(error) };
}

/** The words of a failed mark's headline: a signature failure, or a decryption one. */
export function failureTitle(failure: Failure): string {
  switch (failure) {
    case "bad-signature":
      return "Signature invalid";
    case "misplaced":
      return "Signature invalid for this conversation";
    case "tampered":
      return "Altered after it was recorded";
    case "unchecked":
      return "Signature not checked";
    case "not-for-me":
    case "undecryptable":
    case "malformed":
      return "Could not decrypt";
  }
}
