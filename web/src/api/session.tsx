/**
 * Who is signed in, for every screen: the account from GET /api/auth/me, kept in React context.
 * Tokens are never kept here (see client.ts); this only follows the access token.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, onAccessToken, restoreSession, setAccessToken } from "./client";
import { startStream } from "./stream";

export interface Account {
  id: string;
  username: string;
  email: string;
  phone: string;
  roles: string[];
  verified: boolean;
  totp_enabled: boolean;
  created_at?: string;
}

export type SessionStatus = "loading" | "anonymous" | "signed-in";

interface SessionValue {
  status: SessionStatus;
  account: Account | null;
  isStaff: boolean;
  /** After a sign-in (login, 2FA) answered an access token in browser mode. */
  signedIn: (accessToken: string) => Promise<void>;
  signOut: () => Promise<void>;
  /** Read /api/auth/me again (after 2FA, verification, ...). */
  reloadAccount: () => Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<SessionStatus>("loading");
  const [account, setAccount] = useState<Account | null>(null);

  const reloadAccount = useCallback(async () => {
    const me = await api<Account>("/api/auth/me");
    setAccount(me);
    setStatus("signed-in");
  }, []);

  useEffect(() => {
    startStream();
    const stop = onAccessToken((token) => {
      if (!token) {
        setAccount(null);
        setStatus("anonymous");
      }
    });
    restoreSession()
      .then((ok) => (ok ? reloadAccount() : setStatus("anonymous")))
      .catch(() => setStatus("anonymous"));
    return stop;
  }, [reloadAccount]);

  const signedIn = useCallback(
    async (accessToken: string) => {
      setAccessToken(accessToken);
      await reloadAccount();
    },
    [reloadAccount],
  );

  const signOut = useCallback(async () => {
    try {
      await api("/api/auth/logout", { method: "POST" });
    } finally {
      setAccessToken(null);
    }
  }, []);

  const value = useMemo<SessionValue>(
    () => ({
      status,
      account,
      isStaff: !!account?.roles.includes("staff"),
      signedIn,
      signOut,
      reloadAccount,
    }),
    [status, account, signedIn, signOut, reloadAccount],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}
