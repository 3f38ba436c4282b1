/**
 * What the conversation screens call: the envelope (envelope.ts) joined to the API that supplies
 * the keys — the participants' active keys to seal for (messaging's conversation keys, exactly what
 * the server checks an envelope against) and a sender's signing keys to verify with (auth's
 * registry, retired keys included: an old message was signed by the key active then).
 */
import { api } from "../api/client";
import {
  BadSignature,
  decryptAttachment,
  encryptAttachment,
  MalformedEnvelope,
  openEnvelope,
  readEnvelopeForm,
  seal,
  signStandard,
  verifyStandard,
  type Attachment,
  type AttachmentRef,
  type Envelope,
  type Opened,
} from "./envelope";
import { importPublicKey, type PublicKey, type RegisteredKey } from "./keys";
import { KeysNotRegistered, type HeldKey, type UnlockedKeys } from "./vault";

export type { Attachment, AttachmentRef, Envelope, Opened };

export interface ParticipantKeys {
  user_id: string;
  username: string | null;
  signing_key: RegisteredKey | null;
  encryption_key: RegisteredKey | null;
}

/** A participant has no encryption key: no e2e message can be sent in this conversation until they register one. */
export class MissingRecipientKey extends Error {
  readonly userId: string;
  readonly username: string | null;
  constructor(participant: ParticipantKeys) {
    super(`${participant.username ?? "A participant"} has no encryption key yet: no end-to-end message can be sent here until they make one.`);
    this.name = "MissingRecipientKey";
    this.userId = participant.user_id;
    this.username = participant.username;
  }
}

export interface StandardSignature {
  message_id: string;
  sender_key: string;
  signature: string;
}

/** The active keys of a conversation's participants (GET /api/messaging/conversations/{id}/keys). */
export async function conversationKeys(conversationId: string, signal?: AbortSignal): Promise<ParticipantKeys[]> {
  const answer = await api<{ participants: ParticipantKeys[] }>(`/api/messaging/conversations/${conversationId}/keys`, { signal });
  return answer.participants;
}

/** The envelope of `body` for every participant's active encryption key, signed with my active signing key. */
export async function sealMessage(args: { conversationId: string; body: string; attachments?: AttachmentRef[]; keys: UnlockedKeys; messageId?: string; signal?: AbortSignal }): Promise<Envelope> {
  const signing = requireActive(args.keys.signing, "signing");
  const participants = await conversationKeys(args.conversationId, args.signal);
  const me = participants.find((participant) => participant.user_id === args.keys.userId);
  // The server checks the envelope against these keys: sealing with keys it does not have as mine would be refused.
  if (me && (me.signing_key?.fingerprint !== signing.fingerprint || me.encryption_key?.fingerprint !== args.keys.encryption?.fingerprint)) {
    throw new KeysNotRegistered();
  }
  const recipients: PublicKey[] = [];
  for (const participant of participants) {
    if (!participant.encryption_key) throw new MissingRecipientKey(participant);
    recipients.push(await importPublicKey(participant.encryption_key, "encryption"));
  }
  return seal({ body: args.body, attachments: args.attachments, conversationId: args.conversationId, messageId: args.messageId, sender: signing, recipients });
}

/** Verify and decrypt an e2e message as served; an EnvelopeError (its `kind`) says which check failed. */
export async function openMessage(message: { id: string; conversation_id: string; sender_id: string; envelope: unknown }, keys: UnlockedKeys): Promise<Opened> {
  if (!message.envelope) throw new MalformedEnvelope("this end-to-end message has no envelope");
  const form = readEnvelopeForm(message.envelope);
  const senderKey = await signingKeyOf(message.sender_id, form.sender_key);
  return openEnvelope(form, { senderKey, myKeys: keys.decryptionKeys, conversationId: message.conversation_id, messageId: message.id });
}

/** {message_id, sender_key, signature} to add to a standard message's POST body (e2e-envelope.md §11). */
export async function signStandardMessage(args: { conversationId: string; body: string; keys: UnlockedKeys; messageId?: string }): Promise<StandardSignature> {
  return signStandard({ body: args.body, conversationId: args.conversationId, messageId: args.messageId, sender: requireActive(args.keys.signing, "signing") });
}

/** "verified", or "unsigned" for a message sent without a signature; throws BadSignature / MalformedEnvelope. */
export async function verifyStandardMessage(message: { id: string; conversation_id: string; sender_id: string; body: string | null; sender_key: string | null; signature: string | null }): Promise<"verified" | "unsigned"> {
  if (!message.signature || !message.sender_key) return "unsigned";
  const senderPublicKey = await signingKeyOf(message.sender_id, message.sender_key);
  await verifyStandard({ body: message.body ?? "", conversationId: message.conversation_id, messageId: message.id, senderKey: message.sender_key, signature: message.signature, senderPublicKey });
  return "verified";
}

/** Encrypt a file before uploading it to an e2e conversation (then name it in sealMessage's attachments). */
export function encryptFile(data: Uint8Array) {
  return encryptAttachment(data);
}

/** The file an opened message's attachment names, from the bytes downloaded for it (TamperedCiphertext if not). */
export function decryptFile(attachment: Attachment, ciphertext: Uint8Array) {
  return decryptAttachment(attachment, ciphertext);
}

const keysByUser = new Map<string, Promise<RegisteredKey[]>>();

/** A user's public keys as auth's registry lists them, active and retired, newest first (cached per user). */
export function userKeys(userId: string, options: { refresh?: boolean } = {}): Promise<RegisteredKey[]> {
  let cached = keysByUser.get(userId);
  if (!cached || options.refresh) {
    cached = fetchUserKeys(userId);
    keysByUser.set(userId, cached);
    cached.catch(() => keysByUser.delete(userId));
  }
  return cached;
}

async function fetchUserKeys(userId: string): Promise<RegisteredKey[]> {
  const keys: RegisteredKey[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: RegisteredKey[]; next_cursor: string | null } = await api(`/api/auth/users/${userId}/keys`, { query: { limit: 200, cursor } });
    keys.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return keys;
}

/** The sender's signing key named `fingerprint` (§8 step 2), looked up again once if it is new. */
async function signingKeyOf(userId: string, fingerprint: string): Promise<PublicKey> {
  let key = (await userKeys(userId)).find((candidate) => candidate.fingerprint === fingerprint);
  if (!key) key = (await userKeys(userId, { refresh: true })).find((candidate) => candidate.fingerprint === fingerprint);
  if (!key || key.purpose !== "signing") {
    throw new BadSignature(`signed by key ${fingerprint}, which is not one of the sender's registered signing keys`);
  }
  return importPublicKey(key, "signing");
}

function requireActive(key: HeldKey | undefined, purpose: string): HeldKey {
  if (!key) throw new KeysNotRegistered(`You have no active ${purpose} key in this browser: make or import your keys first.`);
  return key;
}
