/**
 * Where this browser keeps its contacts' pinned keys: IndexedDB database "beyou-messaging", one
 * record per (signed-in user, contact), so two accounts used in one browser never share trust.
 * Not secret (public keys and a verified flag) but its integrity matters: it is the record of what
 * the user trusts. Also keeps each conversation's chosen kind of message (e2e or standard).
 *
 * `ContactBook` serializes every read-modify-write (two screens observing the same contact at once
 * would otherwise both see the old key and both report a change) and tells subscribers of changes.
 */
import type { PublicKeyInfo } from "./api";
import { markVerified, observe, PURPOSES, type Contact, type KeyCheck, type ObservedKeys, type Purpose } from "./contacts";

export interface ContactRecords {
  get(ownerId: string, userId: string): Promise<Contact | undefined>;
  put(ownerId: string, contact: Contact): Promise<void>;
  all(ownerId: string): Promise<Contact[]>;
}

export type MessageKind = "e2e" | "standard";

export interface ModeRecords {
  getMode(ownerId: string, conversationId: string): Promise<MessageKind | undefined>;
  setMode(ownerId: string, conversationId: string, kind: MessageKind): Promise<void>;
}

/** Checks that a key's PEM is the key its fingerprint names (throws otherwise): the server could lie. */
export type KeyChecker = (key: PublicKeyInfo, purpose: Purpose) => Promise<unknown>;

export class ContactBook {
  private queue: Promise<unknown> = Promise.resolve();
  private listeners = new Set<(ownerId: string, contact: Contact) => void>();

  constructor(
    private readonly records: ContactRecords,
    private readonly checkKey: KeyChecker,
    private readonly clock: () => string = () => new Date().toISOString(),
  ) {}

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  get(ownerId: string, userId: string): Promise<Contact | undefined> {
    return this.serialized(() => this.records.get(ownerId, userId));
  }

  all(ownerId: string): Promise<Contact[]> {
    return this.serialized(async () =>
      (await this.records.all(ownerId)).sort((a, b) => (a.username ?? a.user_id).localeCompare(b.username ?? b.user_id)),
    );
  }

  /** Pin or check a user's current keys (see contacts.observe); every key's PEM is checked first, so a bad one pins nothing. */
  observe(ownerId: string, userId: string, username: string | null, keys: ObservedKeys): Promise<KeyCheck> {
    return this.serialized(async () => {
      for (const purpose of PURPOSES) {
        const key = keys[purpose];
        if (key) await this.checkKey(key, purpose);
      }
      const stored = await this.records.get(ownerId, userId);
      const check = observe(stored, userId, username, keys, this.clock());
      if (check.status !== "unchanged" || JSON.stringify(stored) !== JSON.stringify(check.contact)) {
        await this.records.put(ownerId, check.contact);
        this.emit(ownerId, check.contact);
      }
      return check;
    });
  }

  /** After the two people compared fingerprints. */
  markVerified(ownerId: string, userId: string): Promise<Contact> {
    return this.serialized(async () => {
      const stored = await this.records.get(ownerId, userId);
      if (!stored) throw new Error("no keys are pinned for this contact yet");
      const contact = markVerified(stored, this.clock());
      await this.records.put(ownerId, contact);
      this.emit(ownerId, contact);
      return contact;
    });
  }

  subscribe(listener: (ownerId: string, contact: Contact) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(ownerId: string, contact: Contact) {
    for (const listener of this.listeners) listener(ownerId, contact);
  }
}

/** Records kept in memory (tests, and a browser without IndexedDB: nothing survives a reload then). */
export function memoryRecords(): ContactRecords & ModeRecords {
  const contacts = new Map<string, Contact>();
  const modes = new Map<string, MessageKind>();
  const id = (a: string, b: string) => `${a} ${b}`;
  return {
    get: async (ownerId, userId) => structuredClone(contacts.get(id(ownerId, userId))),
    put: async (ownerId, contact) => void contacts.set(id(ownerId, contact.user_id), structuredClone(contact)),
    all: async (ownerId) => [...contacts.entries()].filter(([key]) => key.startsWith(`${ownerId} `)).map(([, c]) => structuredClone(c)),
    getMode: async (ownerId, conversationId) => modes.get(id(ownerId, conversationId)),
    setMode: async (ownerId, conversationId, kind) => void modes.set(id(ownerId, conversationId), kind),
  };
}

const DB_NAME = "beyou-messaging";
const DB_VERSION = 1;

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB request failed"));
  });
}

let opening: Promise<IDBDatabase> | null = null;

function database(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, DB_VERSION);
    open.onupgradeneeded = () => {
      const db = open.result;
      const contacts = db.createObjectStore("contacts", { keyPath: ["owner_id", "user_id"] });
      contacts.createIndex("owner", "owner_id");
      db.createObjectStore("modes", { keyPath: ["owner_id", "conversation_id"] });
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error ?? new Error("IndexedDB could not be opened"));
  }).catch((error: unknown) => {
    opening = null;
    throw error;
  });
  return opening;
}

async function store(name: "contacts" | "modes", mode: IDBTransactionMode): Promise<IDBObjectStore> {
  return (await database()).transaction(name, mode).objectStore(name);
}

function stripOwner(record: Contact & { owner_id?: string }): Contact {
  const { owner_id: _owner, ...contact } = record;
  void _owner;
  // Records written before these fields existed have none.
  return { ...contact, changed_at: contact.changed_at ?? null, changed_purposes: contact.changed_purposes ?? [] };
}

export function indexedDbRecords(): ContactRecords & ModeRecords {
  return {
    async get(ownerId, userId) {
      const found = await request<(Contact & { owner_id: string }) | undefined>((await store("contacts", "readonly")).get([ownerId, userId]));
      return found ? stripOwner(found) : undefined;
    },
    async put(ownerId, contact) {
      await request((await store("contacts", "readwrite")).put({ ...contact, owner_id: ownerId }));
    },
    async all(ownerId) {
      const rows = await request<Array<Contact & { owner_id: string }>>((await store("contacts", "readonly")).index("owner").getAll(ownerId));
      return rows.map(stripOwner);
    },
    async getMode(ownerId, conversationId) {
      const row = await request<{ kind: MessageKind } | undefined>((await store("modes", "readonly")).get([ownerId, conversationId]));
      return row?.kind;
    },
    async setMode(ownerId, conversationId, kind) {
      await request((await store("modes", "readwrite")).put({ owner_id: ownerId, conversation_id: conversationId, kind }));
    },
  };
}
