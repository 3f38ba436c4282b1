/**
 * "Recorded in ledger — proof verified", per message, asked lazily (a message on screen) and
 * remembered: a proven record does not change, so each is verified once per page. A message is
 * sealed into a block within seconds of being sent (the ledger's BLOCK_MAX_AGE_SECONDS), so a
 * record not there yet is asked again with a growing delay — no stream event announces blocks.
 */
import { verifyRecorded, type LedgerVerdict } from "../../ledger/verify";
import type { Message } from "./api";

const settled = new Map<string, LedgerVerdict>();

export function knownVerdict(messageId: string): LedgerVerdict | undefined {
  return settled.get(messageId);
}

export async function ledgerVerdict(message: Message): Promise<LedgerVerdict> {
  const known = settled.get(message.id);
  if (known) return known;
  const verdict = await verifyRecorded(message);
  // Only a final answer is kept: "pending" and "missing" may change as the ledger catches up.
  if (verdict.status === "verified" || verdict.status === "failed") settled.set(message.id, verdict);
  return verdict;
}

/** How long to wait before asking again about a record not in the ledger yet (attempt 0, 1, ...). */
export function retryDelay(attempt: number): number {
  return Math.min(2000 * 2 ** attempt, 30_000);
}

/** A record still missing this long after the message was sent is reported as missing, not as pending. */
export const MISSING_AFTER_MS = 2 * 60_000;
