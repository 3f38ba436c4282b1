/**
 * The end-to-end envelope, v1 (docs/e2e-envelope.md), as client/beyou/envelope.py does it.
 *
 * `seal` encrypts the message under a fresh AES-256-GCM content key bound to the conversation and
 * the message id, wraps that key for every participant's encryption key (X25519: ephemeral ECDH +
 * HKDF-SHA256 + AES-256-GCM; RSA: OAEP-SHA256) and signs the canonical bytes with the sender's
 * signing key (Ed25519, or RSA-PSS). `openEnvelope` reads the form strictly, verifies the
 * signature before anything is decrypted, checks the place, then unwraps this reader's key and
 * decrypts. Each way an envelope fails has its own error class (and `kind`), so a screen can say
 * which. Nothing here does I/O.
 */
import { bytes, concatBytes, EncodingError, fromBase64, fromUtf8, randomBytes, sha256Hex, toBase64, utf8, type Bytes } from "./encoding";
import { checkRsaSize, isFingerprint, signBytes, verifyBytes, type PublicKey } from "./keys";

export const VERSION = 1;
export const ENVELOPE_HEADER = "BeYou e2e envelope v1";
export const MESSAGE_HEADER = "BeYou message v1";
const CONTENT_AAD_HEADER = "BeYou e2e v1";
const WRAP_INFO_HEADER = "BeYou e2e v1 wrap";
const ATTACHMENT_AAD = utf8("BeYou e2e attachment v1");
export const ALG_X25519 = "x25519-hkdf-sha256-aes256gcm";
export const ALG_RSA = "rsa-oaep-sha256";
export const MAX_CIPHERTEXT_BYTES = 64 * 1024;
export const MAX_RECIPIENTS = 1000;
const MIN_RSA_BYTES = 2048 / 8;
const MAX_RSA_BYTES = 8192 / 8;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const FIELDS = ["v", "conversation_id", "message_id", "sender_key", "nonce", "ciphertext", "recipients", "signature"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export interface RecipientEntry {
  key: string;
  alg: string;
  ephemeral_key?: string;
  wrapped_key: string;
}

export interface Envelope {
  v: 1;
  conversation_id: string;
  message_id: string;
  sender_key: string;
  nonce: string;
  ciphertext: string;
  recipients: RecipientEntry[];
  signature: string;
}

/** An attachment as the plaintext names it: the uploaded file's id and how to decrypt it. */
export interface Attachment {
  id: string;
  key: Uint8Array;
  nonce: Uint8Array;
  /** As the sender named it: never use it as a path without reducing it to a plain file name. */
  name: string;
  content_type: string;
}
export type AttachmentRef = Attachment;

/** A verified and decrypted envelope. */
export interface Opened {
  conversationId: string;
  messageId: string;
  /** The fingerprint of the signing key that signed it. */
  senderKey: string;
  body: string;
  attachments: Attachment[];
  /** What the ledger records for this message (§10). */
  contentSha256: string;
}

/** A key pair as the envelope uses it: a non-extractable private key and its checked public half. */
export interface KeyPairRef {
  privateKey: CryptoKey;
  publicKey: PublicKey;
}

// --- what can go wrong -------------------------------------------------------------------------

export type EnvelopeErrorKind = "malformed" | "bad-signature" | "misplaced" | "not-for-me" | "tampered";

export class EnvelopeError extends Error {
  readonly kind: EnvelopeErrorKind;
  constructor(kind: EnvelopeErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = new.target.name;
  }
}
/** Not a v1 envelope: a missing, extra or mistyped field, non-canonical base64, a wrong length. */
export class MalformedEnvelope extends EnvelopeError {
  constructor(message: string) {
    super("malformed", message);
  }
}
/** The signature does not verify against the sender's key (or names another key): nothing in it can be trusted. */
export class BadSignature extends EnvelopeError {
  constructor(message: string) {
    super("bad-signature", message);
  }
}
/** Validly signed, but for another conversation or message id than the one it was served as. */
export class Misplaced extends EnvelopeError {
  constructor(message: string) {
    super("misplaced", message);
  }
}
/** No wrapped content key for any of this reader's encryption keys. */
export class NotForMe extends EnvelopeError {
  constructor(message: string) {
    super("not-for-me", message);
  }
}
/** Signed by the sender, yet this reader's wrapped key or the ciphertext does not decrypt. */
export class TamperedCiphertext extends EnvelopeError {
  constructor(message: string) {
    super("tampered", message);
  }
}

// --- sealing -------------------------------------------------------------------------------------

/** The envelope of `body` (and `attachments`) for `recipients` (every participant's active encryption
 *  key, the sender's own included), signed by `sender`. `messageId` defaults to a fresh UUIDv4. */
export async function seal(args: {
  body: string;
  attachments?: Attachment[];
  conversationId: string;
  messageId?: string;
  sender: KeyPairRef;
  recipients: PublicKey[];
}): Promise<Envelope> {
  const conversationId = canonicalUuid(args.conversationId);
  const messageId = canonicalUuid(args.messageId ?? crypto.randomUUID(), true);
  if (args.sender.publicKey.purpose !== "signing") throw new Error("an envelope is signed with a signing key");
  const recipients = checkedRecipients(args.recipients);
  const message: Record<string, unknown> = { body: args.body };
  if (args.attachments?.length) message.attachments = args.attachments.map(attachmentJson);
  const plaintext = utf8(JSON.stringify(message));
  if (plaintext.length + TAG_BYTES > MAX_CIPHERTEXT_BYTES) {
    throw new Error(`the message is too large to seal: ${plaintext.length} bytes, at most ${MAX_CIPHERTEXT_BYTES - TAG_BYTES}`);
  }
  const contentKey = randomBytes(KEY_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const ciphertext = await aesGcmEncrypt(contentKey, nonce, plaintext, contentAad(conversationId, messageId));
  const entries: RecipientEntry[] = [];
  for (const recipient of recipients) entries.push(await wrapContentKey(contentKey, recipient, messageId));
  const unsigned = {
    v: VERSION,
    conversation_id: conversationId,
    message_id: messageId,
    sender_key: args.sender.publicKey.fingerprint,
    nonce: toBase64(nonce),
    ciphertext: toBase64(ciphertext),
    recipients: entries,
  } as const;
  const signature = await signBytes(args.sender.privateKey, envelopeSignedBytes({ ...unsigned, signature: "" }));
  return { ...unsigned, signature: toBase64(signature) };
}

function checkedRecipients(recipients: PublicKey[]): PublicKey[] {
  const sorted = [...recipients].sort((a, b) => compareAscii(a.fingerprint, b.fingerprint));
  if (sorted.length < 1 || sorted.length > MAX_RECIPIENTS) {
    throw new Error(`an envelope has 1 to ${MAX_RECIPIENTS} recipients (the sender's own key included)`);
  }
  const seen = new Set<string>();
  for (const recipient of sorted) {
    if (seen.has(recipient.fingerprint)) throw new Error(`recipient ${recipient.fingerprint} is listed twice`);
    seen.add(recipient.fingerprint);
    if (recipient.purpose !== "encryption") throw new Error(`recipient ${recipient.fingerprint} is not an encryption key`);
  }
  return sorted;
}

export function contentAad(conversationId: string, messageId: string): Bytes {
  return utf8(`${CONTENT_AAD_HEADER}\n${conversationId}\n${messageId}`);
}

/** One recipient entry: `contentKey` wrapped for `recipient`. `ephemeral` is for test vectors only:
 *  in use every X25519 entry draws its own ephemeral key, used once. */
export async function wrapContentKey(contentKey: Uint8Array, recipient: PublicKey, messageId: string, ephemeral?: CryptoKeyPair): Promise<RecipientEntry> {
  if (recipient.algorithm === "rsa") {
    checkRsaSize(recipient.key);
    const wrapped = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, recipient.key, bytes(contentKey));
    return { key: recipient.fingerprint, alg: ALG_RSA, wrapped_key: toBase64(new Uint8Array(wrapped)) };
  }
  if (recipient.algorithm !== "x25519" || !recipient.raw) throw new Error(`recipient ${recipient.fingerprint}: an encryption key is X25519 or RSA`);
  const pair = ephemeral ?? ((await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"])) as CryptoKeyPair);
  const ephemeralRaw = bytes(await crypto.subtle.exportKey("raw", pair.publicKey));
  const shared = await x25519(pair.privateKey, recipient.key);
  const wrapKey = await x25519WrapKey(shared, ephemeralRaw, recipient.raw, messageId);
  const wrapped = await aesGcmEncrypt(wrapKey, new Uint8Array(NONCE_BYTES), contentKey, utf8(recipient.fingerprint));
  return { key: recipient.fingerprint, alg: ALG_X25519, ephemeral_key: toBase64(ephemeralRaw), wrapped_key: toBase64(wrapped) };
}

async function x25519(privateKey: CryptoKey, publicKey: CryptoKey): Promise<Bytes> {
  const shared = bytes(await crypto.subtle.deriveBits({ name: "X25519", public: publicKey }, privateKey, 256));
  // A low-order public key gives an all-zero secret (RFC 7748 §6.1): refuse it.
  if (shared.every((byte) => byte === 0)) throw new Error("low-order X25519 key");
  return shared;
}

async function x25519WrapKey(shared: Uint8Array, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array, messageId: string): Promise<Bytes> {
  const ikm = await crypto.subtle.importKey("raw", bytes(shared), "HKDF", false, ["deriveBits"]);
  const derived = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: concatBytes(ephemeralPublic, recipientPublic), info: utf8(`${WRAP_INFO_HEADER}\n${messageId}`) },
    ikm,
    KEY_BYTES * 8,
  );
  return bytes(derived);
}

// --- attachments ------------------------------------------------------------------------------------

/** Encrypt a file for an e2e conversation under its own fresh key and nonce (§3). */
export async function encryptAttachment(data: Uint8Array): Promise<{ ciphertext: Bytes; key: Bytes; nonce: Bytes }> {
  const key = randomBytes(KEY_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  return { ciphertext: await aesGcmEncrypt(key, nonce, data, ATTACHMENT_AAD), key, nonce };
}

/** The file `attachment` names, from the bytes downloaded for it; TamperedCiphertext if it is not that file. */
export async function decryptAttachment(attachment: Attachment, ciphertext: Uint8Array): Promise<Bytes> {
  try {
    return await aesGcmDecrypt(attachment.key, attachment.nonce, ciphertext, ATTACHMENT_AAD);
  } catch {
    throw new TamperedCiphertext(`attachment ${attachment.id} does not decrypt: it was changed or replaced`);
  }
}

function attachmentJson(attachment: Attachment) {
  if (attachment.key.length !== KEY_BYTES || attachment.nonce.length !== NONCE_BYTES) throw new Error("an attachment's key is 32 bytes and its nonce 12");
  return { id: canonicalUuid(attachment.id), key: toBase64(attachment.key), nonce: toBase64(attachment.nonce), name: attachment.name, content_type: attachment.content_type };
}

// --- the signed bytes ------------------------------------------------------------------------------

/** The canonical bytes an envelope's signature covers (§7), of an envelope whose form is valid. */
export function envelopeSignedBytes(envelope: Envelope): Bytes {
  const lines = [ENVELOPE_HEADER, envelope.conversation_id, envelope.message_id, envelope.sender_key, envelope.nonce, envelope.ciphertext];
  const entries = [...envelope.recipients].sort((a, b) => compareAscii(a.key, b.key));
  for (const entry of entries) lines.push(`${entry.key}:${entry.alg}:${entry.ephemeral_key ?? ""}:${entry.wrapped_key}`);
  return utf8(lines.join("\n"));
}

/** What the ledger records for an e2e message: SHA-256 (hex) of its signed bytes (§10). */
export function contentSha256(envelope: Envelope): string {
  return sha256Hex(envelopeSignedBytes(envelope));
}

/** The canonical bytes a standard message's optional signature covers (§11). */
export function messageSignedBytes(args: { conversationId: string; messageId: string; senderKey: string; body: string }): Bytes {
  return utf8([MESSAGE_HEADER, args.conversationId, args.messageId, args.senderKey, toBase64(utf8(args.body))].join("\n"));
}

// --- opening -------------------------------------------------------------------------------------

/**
 * Verify and decrypt `envelope` (§8). `senderKey` is the signing key the reader holds for the sender
 * (looked up by, and checked against, `sender_key`); `myKeys` are the reader's encryption keys, the
 * retired ones included (old messages were wrapped for them). Give `conversationId` / `messageId`
 * to refuse an envelope served where it was not sent. Throws MalformedEnvelope, BadSignature,
 * Misplaced, NotForMe or TamperedCiphertext, in the order they are checked.
 */
export async function openEnvelope(
  envelope: unknown,
  args: { senderKey: PublicKey; myKeys: KeyPairRef[]; conversationId?: string; messageId?: string },
): Promise<Opened> {
  const form = readEnvelopeForm(envelope);
  await verifySigned(args.senderKey, form.sender_key, fromBase64(form.signature), envelopeSignedBytes(form));
  checkPlaced(form, args.conversationId, args.messageId);
  let mine: { entry: RecipientEntry; key: KeyPairRef } | undefined;
  for (const key of args.myKeys) {
    const entry = form.recipients.find((candidate) => candidate.key === key.publicKey.fingerprint);
    if (entry) {
      mine = { entry, key };
      break;
    }
  }
  if (!mine) {
    throw new NotForMe(`this envelope has no wrapped key for your encryption key${args.myKeys.length === 1 ? ` ${args.myKeys[0].publicKey.fingerprint}` : "s"}`);
  }
  const contentKey = await unwrap(mine.entry, mine.key, form.message_id);
  let plaintext: Bytes;
  try {
    plaintext = await aesGcmDecrypt(contentKey, fromBase64(form.nonce), fromBase64(form.ciphertext), contentAad(form.conversation_id, form.message_id));
  } catch {
    throw new TamperedCiphertext("the ciphertext does not decrypt with the content key the sender signed");
  }
  const { body, attachments } = readPlaintext(plaintext);
  return { conversationId: form.conversation_id, messageId: form.message_id, senderKey: form.sender_key, body, attachments, contentSha256: contentSha256(form) };
}

/** §8 step 1: the envelope, once every member is present, typed, canonical and of the right length. */
export function readEnvelopeForm(envelope: unknown): Envelope {
  if (!isObject(envelope)) throw new MalformedEnvelope("an envelope is a JSON object");
  const names = Object.keys(envelope);
  const unknown = names.filter((name) => !FIELDS.includes(name));
  const missing = FIELDS.filter((name) => !(name in envelope));
  if (unknown.length || missing.length) {
    throw new MalformedEnvelope(`not a v1 envelope: unknown members [${unknown.join(", ")}], missing members [${missing.join(", ")}]`);
  }
  if (envelope.v !== VERSION) throw new MalformedEnvelope(`unsupported envelope version ${JSON.stringify(envelope.v)} (this client reads v${VERSION})`);
  requirePattern(envelope.conversation_id, UUID, "conversation_id", "a lowercase hyphenated UUID");
  requirePattern(envelope.message_id, UUID4, "message_id", "a lowercase hyphenated version-4 UUID");
  if (!isFingerprint(envelope.sender_key)) throw new MalformedEnvelope("sender_key: a fingerprint (64 lowercase hex digits)");
  const nonce = decode(envelope.nonce, "nonce");
  const ciphertext = decode(envelope.ciphertext, "ciphertext");
  if (nonce.length !== NONCE_BYTES) throw new MalformedEnvelope(`nonce: ${NONCE_BYTES} bytes, not ${nonce.length}`);
  if (ciphertext.length < TAG_BYTES || ciphertext.length > MAX_CIPHERTEXT_BYTES) {
    throw new MalformedEnvelope(`ciphertext: ${TAG_BYTES} to ${MAX_CIPHERTEXT_BYTES} bytes, not ${ciphertext.length}`);
  }
  readRecipients(envelope.recipients);
  decode(envelope.signature, "signature");
  return envelope as unknown as Envelope;
}

function readRecipients(recipients: unknown): void {
  if (!Array.isArray(recipients) || recipients.length < 1 || recipients.length > MAX_RECIPIENTS) {
    throw new MalformedEnvelope(`recipients: a list of 1 to ${MAX_RECIPIENTS} entries`);
  }
  const seen = new Set<string>();
  recipients.forEach((entry: unknown, index) => {
    const where = `recipients[${index}]`;
    if (!isObject(entry)) throw new MalformedEnvelope(`${where}: an object`);
    const expected = entry.alg === ALG_X25519 ? ["alg", "ephemeral_key", "key", "wrapped_key"] : ["alg", "key", "wrapped_key"];
    const names = Object.keys(entry).sort();
    if ((entry.alg !== ALG_X25519 && entry.alg !== ALG_RSA) || names.join() !== expected.join()) {
      throw new MalformedEnvelope(`${where}: an entry is {key, alg: ${ALG_X25519}, ephemeral_key, wrapped_key} or {key, alg: ${ALG_RSA}, wrapped_key}`);
    }
    if (!isFingerprint(entry.key)) throw new MalformedEnvelope(`${where}.key: a fingerprint (64 lowercase hex digits)`);
    if (seen.has(entry.key)) throw new MalformedEnvelope(`${where}: key ${entry.key} is listed twice`);
    seen.add(entry.key);
    const wrapped = decode(entry.wrapped_key, `${where}.wrapped_key`);
    if (entry.alg === ALG_X25519) {
      if (decode(entry.ephemeral_key, `${where}.ephemeral_key`).length !== KEY_BYTES) throw new MalformedEnvelope(`${where}.ephemeral_key: ${KEY_BYTES} bytes`);
      if (wrapped.length !== KEY_BYTES + TAG_BYTES) throw new MalformedEnvelope(`${where}.wrapped_key: ${KEY_BYTES + TAG_BYTES} bytes`);
    } else if (wrapped.length < MIN_RSA_BYTES || wrapped.length > MAX_RSA_BYTES) {
      throw new MalformedEnvelope(`${where}.wrapped_key: as long as an RSA modulus of 2048 to 8192 bits`);
    }
  });
}

function checkPlaced(envelope: Envelope, conversationId?: string, messageId?: string): void {
  if (conversationId !== undefined && envelope.conversation_id !== canonicalUuid(conversationId)) {
    throw new Misplaced(`this envelope was signed for conversation ${envelope.conversation_id}, not ${conversationId}`);
  }
  if (messageId !== undefined && envelope.message_id !== canonicalUuid(messageId)) {
    throw new Misplaced(`this envelope was signed as message ${envelope.message_id}, not ${messageId}`);
  }
}

async function unwrap(entry: RecipientEntry, mine: KeyPairRef, messageId: string): Promise<Bytes> {
  const expected = mine.publicKey.algorithm === "rsa" ? ALG_RSA : ALG_X25519;
  if (entry.alg !== expected) throw new MalformedEnvelope(`the entry for your key names ${entry.alg}, and your key is for ${expected}`);
  let contentKey: Bytes;
  try {
    if (mine.publicKey.algorithm === "rsa") {
      contentKey = bytes(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, mine.privateKey, fromBase64(entry.wrapped_key)));
    } else {
      const ephemeralRaw = fromBase64(entry.ephemeral_key);
      const ephemeral = await crypto.subtle.importKey("raw", ephemeralRaw, { name: "X25519" }, false, []);
      const shared = await x25519(mine.privateKey, ephemeral);
      const wrapKey = await x25519WrapKey(shared, ephemeralRaw, mine.publicKey.raw!, messageId);
      contentKey = await aesGcmDecrypt(wrapKey, new Uint8Array(NONCE_BYTES), fromBase64(entry.wrapped_key), utf8(entry.key));
    }
  } catch {
    throw new TamperedCiphertext("your wrapped key does not unwrap, although the sender signed it");
  }
  if (contentKey.length !== KEY_BYTES) throw new TamperedCiphertext(`your wrapped key unwraps to ${contentKey.length} bytes, not a ${KEY_BYTES}-byte key`);
  return contentKey;
}

function readPlaintext(plaintext: Uint8Array): { body: string; attachments: Attachment[] } {
  let message: unknown;
  try {
    message = JSON.parse(fromUtf8(plaintext));
  } catch {
    throw new MalformedEnvelope("the decrypted message is not UTF-8 JSON");
  }
  if (!isObject(message) || typeof message.body !== "string" || Object.keys(message).some((name) => name !== "body" && name !== "attachments")) {
    throw new MalformedEnvelope('the decrypted message is not {"body": text, "attachments": [...]}');
  }
  const attachments = message.attachments ?? [];
  if (!Array.isArray(attachments)) throw new MalformedEnvelope("the decrypted message's attachments are not a list");
  return { body: message.body, attachments: attachments.map(readAttachment) };
}

function readAttachment(value: unknown): Attachment {
  const fields = ["content_type", "id", "key", "name", "nonce"];
  if (!isObject(value) || Object.keys(value).sort().join() !== fields.join() || !fields.every((name) => typeof value[name] === "string")) {
    throw new MalformedEnvelope(`an attachment is an object of the strings ${fields.join(", ")}`);
  }
  requirePattern(value.id, UUID, "attachment id", "a lowercase hyphenated UUID");
  const key = decode(value.key, "attachment key");
  const nonce = decode(value.nonce, "attachment nonce");
  if (key.length !== KEY_BYTES || nonce.length !== NONCE_BYTES) throw new MalformedEnvelope(`an attachment's key is ${KEY_BYTES} bytes and its nonce ${NONCE_BYTES}`);
  return { id: value.id as string, key, nonce, name: value.name as string, content_type: value.content_type as string };
}

// --- standard messages: the optional signature (§11) -----------------------------------------------

/** The signature members of a standard message: {message_id, sender_key, signature}. */
export async function signStandard(args: { body: string; conversationId: string; messageId?: string; sender: KeyPairRef }) {
  const conversationId = canonicalUuid(args.conversationId);
  const messageId = canonicalUuid(args.messageId ?? crypto.randomUUID(), true);
  const senderKey = args.sender.publicKey.fingerprint;
  const signature = await signBytes(args.sender.privateKey, messageSignedBytes({ conversationId, messageId, senderKey, body: args.body }));
  return { message_id: messageId, sender_key: senderKey, signature: toBase64(signature) };
}

/** BadSignature unless `signature` is the sender's signature of this standard message; MalformedEnvelope
 *  for a signature or fingerprint that is not well formed. */
export async function verifyStandard(args: { body: string; conversationId: string; messageId: string; senderKey: string; signature: string; senderPublicKey: PublicKey }): Promise<void> {
  if (!isFingerprint(args.senderKey)) throw new MalformedEnvelope("sender_key: a fingerprint (64 lowercase hex digits)");
  const signed = messageSignedBytes({ conversationId: canonicalUuid(args.conversationId), messageId: canonicalUuid(args.messageId), senderKey: args.senderKey, body: args.body });
  await verifySigned(args.senderPublicKey, args.senderKey, decode(args.signature, "signature"), signed);
}

async function verifySigned(publicKey: PublicKey, namedFingerprint: string, signature: Uint8Array, data: Uint8Array): Promise<void> {
  if (publicKey.fingerprint !== namedFingerprint) {
    throw new BadSignature(`signed by key ${namedFingerprint}, not by the sender's key you hold (${publicKey.fingerprint}): the sender's key changed, or someone else signed it`);
  }
  if (publicKey.purpose !== "signing") throw new Error("a signature is verified with a signing key");
  if (!(await verifyBytes(publicKey, signature, data))) {
    throw new BadSignature(`the signature does not verify against the sender's key ${publicKey.fingerprint}: the message was changed after it was signed`);
  }
}

// --- small pieces ------------------------------------------------------------------------------------

async function aesGcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Bytes> {
  const cryptoKey = await crypto.subtle.importKey("raw", bytes(key), "AES-GCM", false, ["encrypt"]);
  return bytes(await crypto.subtle.encrypt({ name: "AES-GCM", iv: bytes(nonce), additionalData: bytes(aad) }, cryptoKey, bytes(plaintext)));
}

async function aesGcmDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Bytes> {
  const cryptoKey = await crypto.subtle.importKey("raw", bytes(key), "AES-GCM", false, ["decrypt"]);
  return bytes(await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes(nonce), additionalData: bytes(aad) }, cryptoKey, bytes(ciphertext)));
}

function decode(value: unknown, what: string): Bytes {
  try {
    return fromBase64(value, what);
  } catch (error) {
    if (error instanceof EncodingError) throw new MalformedEnvelope(error.message);
    throw error;
  }
}

function requirePattern(value: unknown, pattern: RegExp, field: string, what: string): void {
  if (typeof value !== "string" || !pattern.test(value)) throw new MalformedEnvelope(`${field}: ${what}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Fingerprints compare as ASCII strings (§7); localeCompare would not. */
function compareAscii(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A UUID in its canonical form (lowercase, hyphenated); `version4` insists on a random one. */
export function canonicalUuid(value: string, version4 = false): string {
  const text = value.trim().toLowerCase();
  if (!UUID.test(text)) throw new Error(`${value} is not a UUID`);
  if (version4 && !UUID4.test(text)) throw new Error(`${text} is not a version-4 (random) UUID`);
  return text;
}
