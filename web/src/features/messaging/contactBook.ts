/** This browser's contact book: pinned keys in IndexedDB, each key's PEM checked against its fingerprint. */
import { importPublicKey } from "../../crypto/keys";
import { ContactBook, indexedDbRecords, memoryRecords } from "./contactStore";

const records = typeof indexedDB !== "undefined" ? indexedDbRecords() : memoryRecords();

// importPublicKey refuses a PEM whose fingerprint is not the one named (a server answering nonsense).
export const contactBook = new ContactBook(records, (key, purpose) => importPublicKey(key, purpose));

/** The kind of message each conversation was chosen for (e2e or standard), per signed-in user. */
export const conversationModes = records;
