/** The signed-in user's keys in this browser (the keys feature's vault state), with the unlocked keys themselves. */
import { useMemo } from "react";
import { vault, type UnlockedKeys, type VaultState } from "../../crypto/vault";
import { useKeyVault } from "../keys/useKeyVault";

export function useVault(userId: string): { state: VaultState; keys: UnlockedKeys | null } {
  const state = useKeyVault();
  // One object per vault state: the messages are read again only when the keys held change.
  const keys = useMemo(() => (state.status === "unlocked" && state.userId === userId ? vault.unlocked() : null), [state, userId]);
  return { state, keys };
}
