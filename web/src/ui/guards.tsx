import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { useSession } from "../api/session";
import { Loading, Page } from "./ui";

/** Shows `children` to a signed-in user; anyone else is sent to /login and brought back after. */
export function RequireSignIn({ children }: { children: ReactNode }) {
  const { status } = useSession();
  const location = useLocation();
  if (status === "loading") return <Loading label="Restoring your session…" />;
  if (status === "anonymous") return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

/** Staff only; others see why not. */
export function RequireStaff({ children }: { children: ReactNode }) {
  const { isStaff, status } = useSession();
  return (
    <RequireSignIn>
      {status === "signed-in" && !isStaff ? (
        <Page title="Staff only">
          <p>This page is for BeYou staff.</p>
        </Page>
      ) : (
        children
      )}
    </RequireSignIn>
  );
}
