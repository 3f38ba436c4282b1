/**
 * Sending, as the CLI's `beyou.messages.send_e2e` / `send_standard` do it, so that what a browser
 * sends opens in the CLI and the other way round:
 *
 * - end to end: the participants' active keys come from the server (GET /conversations/{id}/keys),
 *   each contact's is checked against the key pinned in this browser (a change is a warning and
 *   makes the contact unverified), then the message is sealed for every participant, me included,
 *   and signed (docs/e2e-envelope.md). Files are encrypted here and uploaded as opaque bytes.
 * - standard: plaintext over TLS (the server encrypts it at rest), signed when my keys are unlocked.
 */
import { encryptAttachment, seal, type Attachment as SealedAttachment } from "../../crypto/envelope";
import { importPublicKey } from "../../crypto/keys";
import { signStandardMessage } from "../../crypto/messages";
import type { UnlockedKeys } from "../../crypto/vault";
import { conversationKeys, sendMessage, uploadAttachment, type ConversationKeys, type Message } from "./api";
import { contactBook } from "./contactBook";
import { contactName, type Contact } from "./contacts";

/** The message cannot be sealed: a participant has no key, or I have none. */
export class CannotSend extends Error {}

export interface Sent {
  message: Message;
  /** Worth telling the sender (a contact's key changed; a key of mine this browser does not hold). */
  warnings: string[];
}

export async function sendE2e(args: { conversationId: string; body: string; files: File[]; keys: UnlockedKeys; me: string }): Promise<Sent> {
  const { conversationId, keys, me } = args;
  const signing = keys.signing;
  if (!signing) throw new CannotSend("You have no active signing key in this browser: create or import your keys on the Keys page.");
  const participants = await conversationKeys(conversationId);
  const mine = participants.participants.find((p) => p.user_id === me);
  // The server checks the envelope's sender_key against my active signing key: another one would be refused.
  if (mine?.signing_key && mine.signing_key.fingerprint !== signing.fingerprint) {
    throw new CannotSend("Your active signing key on the server is not the one this browser holds (keys made or rotated on another device): import your current keys on the Keys page.");
  }
  const checked = await checkParticipantKeys(participants, keys, me);
  const warnings = [...checked.warnings, ...checked.changed.map((contact) => `${contactName(contact)}'s keys changed: verify them again.`)];
  const missing = participants.participants.filter((p) => !p.encryption_key).map((p) => (p.user_id === me ? "you" : contactName(p)));
  if (missing.length) {
    throw new CannotSend(`No encryption key is registered for ${missing.join(", ")}: end-to-end messages cannot be sent here until they create keys. Send a standard message instead.`);
  }
  const recipients = await Promise.all(participants.participants.map((p) => importPublicKey(p.encryption_key!, "encryption")));
  const attachments: SealedAttachment[] = [];
  for (const file of args.files) {
    const encrypted = await encryptAttachment(new Uint8Array(await file.arrayBuffer()));
    // The server sees opaque bytes: the real name and type travel inside the sealed content only.
    const uploaded = await uploadAttachment(conversationId, new Blob([encrypted.ciphertext], { type: "application/octet-stream" }), "attachment.bin", true);
    attachments.push({ id: uploaded.id, key: encrypted.key, nonce: encrypted.nonce, name: file.name, content_type: file.type || "application/octet-stream" });
  }
  const envelope = await seal({ body: args.body, attachments, conversationId, sender: signing, recipients });
  const message = await sendMessage(conversationId, {
    kind: "e2e",
    envelope,
    ...(attachments.length ? { attachment_ids: attachments.map((a) => a.id) } : {}),
  });
  return { message, warnings };
}

export async function sendStandard(args: { conversationId: string; body: string; files: File[]; keys: UnlockedKeys | null }): Promise<Sent> {
  const { conversationId, body, keys } = args;
  const signature = keys?.signing ? await signStandardMessage({ conversationId, body, keys }) : {};
  const attachmentIds: string[] = [];
  for (const file of args.files) attachmentIds.push((await uploadAttachment(conversationId, file, file.name, false)).id);
  const message = await sendMessage(conversationId, {
    kind: "standard",
    body,
    ...signature,
    ...(attachmentIds.length ? { attachment_ids: attachmentIds } : {}),
  });
  return { message, warnings: [] };
}

/**
 * Pin or check every other participant's keys: the contacts whose keys changed just now. `warnings`
 * says when the server lists an encryption key for me that this browser does not hold (I could not
 * read my own messages here).
 */
export async function checkParticipantKeys(participants: ConversationKeys, keys: UnlockedKeys | null, me: string): Promise<{ warnings: string[]; changed: Contact[] }> {
  const warnings: string[] = [];
  const changed: Contact[] = [];
  for (const participant of participants.participants) {
    if (participant.user_id === me) {
      const listed = participant.encryption_key?.fingerprint;
      if (keys && listed && !keys.find(listed)) {
        warnings.push("The server lists an encryption key for you that this browser does not hold: you will not be able to read your messages here. Import your keys on the Keys page.");
      }
      continue;
    }
    const check = await contactBook.observe(me, participant.user_id, participant.username, {
      signing: participant.signing_key,
      encryption: participant.encryption_key,
    });
    if (check.status === "changed") changed.push(check.contact);
  }
  return { warnings, changed };
}
