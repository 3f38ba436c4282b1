import type { VaultStatus } from "../../crypto/vault";
import { UnlockKeys } from "../keys/UnlockKeys";

/** The keys page's unlock prompt (or its "set up your keys" note), when a screen needs the keys and they are not unlocked. */
export function VaultPrompt({ status, reason }: { status: VaultStatus; reason: string }) {
  if (status === "unlocked") return null;
  return <UnlockKeys reason={reason} />;
}
