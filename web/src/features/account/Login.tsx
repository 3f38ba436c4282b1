import { Link, Navigate, useLocation } from "react-router";
import { useSession } from "../../api/session";
import { Loading, Page } from "../../ui/ui";
import { returnPath } from "./navigation";
import { SignInForm } from "./SignInForm";

export function LoginPage() {
  const { status } = useSession();
  const location = useLocation();
  if (status === "signed-in") return <Navigate to={returnPath(location.state)} replace />;
  return (
    <Page title="Sign in">
      {status === "loading" ? (
        <Loading label="Restoring your session…" />
      ) : (
        <>
          {returnPath(location.state) !== "/" && <p className="muted">Sign in to continue.</p>}
          <SignInForm />
          <p>
            New to BeYou? <Link to="/register">Create an account</Link>.
          </p>
        </>
      )}
    </Page>
  );
}
