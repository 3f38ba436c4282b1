/** The vault's state (crypto/vault.ts) for React, loaded for the signed-in account. */
import { useEffect, useState, useSyncExternalStore } from "react";
import { useSession } from "../../api/session";
import { vault, type VaultState } from "../../crypto/vault";

/** This browser's keys for the signed-in user: "unknown" (looking), "none", "locked" or "unlocked";
 *  `error` when the browser's storage cannot be read (IndexedDB off, e.g. in some private modes). */
export function useKeyVault(): VaultState & { error?: Error } {
  const { account } = useSession();
  const state = useSyncExternalStore(vault.subscribe, vault.getState);
  const [error, setError] = useState<Error>();
  useEffect(() => {
    if (!account) return;
    setError(undefined);
    vault.load(account.id).catch((cause: unknown) => setError(cause instanceof Error ? cause : new Error(String(cause))));
  }, [account]);
  if (state.userId && account && state.userId !== account.id) return { status: "unknown", userId: null, keys: [], error };
  return error ? { ...state, error } : state;
}
