/** `/`: what BeYou is and a way in for visitors; a short home for someone signed in. */
import { Link } from "react-router";
import { useSession, type Account } from "../../api/session";
import { Loading, Page } from "../../ui/ui";
import { SignInForm } from "./SignInForm";
import "./account.css";

export function LandingPage() {
  const { status, account } = useSession();
  if (status === "loading") {
    return (
      <Page title="BeYou">
        <Loading label="Restoring your session…" />
      </Page>
    );
  }
  return account ? <Home account={account} /> : <Welcome />;
}

function Welcome() {
  return (
    <Page title="Welcome to BeYou">
      <div className="landing">
        <div>
          <p className="lead">
            BeYou is a social platform where your conversations stay yours: messages are end-to-end encrypted in your browser, signed by
            you, and each one is recorded in a tamper-evident ledger whose proofs your browser checks.
          </p>
          <ul className="features">
            <li>Talk with friends, one to one or in groups, with keys only you hold.</li>
            <li>See a mark on every message whose signature and ledger proof check out.</li>
            <li>Buy and sell in the marketplace, with verified sellers.</li>
            <li>Protect your account with two-factor authentication.</li>
          </ul>
          <h2>New here?</h2>
          <p>Creating an account takes a minute: a username, your email and phone, and a password.</p>
          <p>
            <Link className="button" to="/register">
              Create an account
            </Link>
          </p>
        </div>
        <div className="panel">
          <SignInForm titled />
        </div>
      </div>
    </Page>
  );
}

function Home({ account }: { account: Account }) {
  return (
    <Page title={`Hello, ${account.username}`}>
      <dl className="facts">
        <dt>Identity</dt>
        <dd>
          {account.verified ? (
            <span className="status-ok">Verified</span>
          ) : (
            <>
              Not verified yet. <Link to="/verification">Verify your identity</Link> to create groups, send attachments and sell in the
              marketplace.
            </>
          )}
        </dd>
        <dt>Two-factor authentication</dt>
        <dd>
          {account.totp_enabled ? (
            <span className="status-ok">On</span>
          ) : (
            <>
              Off. <Link to="/security">Turn it on</Link> so that a stolen password is not enough to get in.
            </>
          )}
        </dd>
        <dt>Email</dt>
        <dd>{account.email}</dd>
      </dl>
      <h2>Where to next</h2>
      <ul className="shortcuts">
        <li>
          <Link to="/conversations">Messages</Link>
          <span className="muted"> — your conversations, end-to-end encrypted.</span>
        </li>
        <li>
          <Link to="/friends">Friends</Link>
          <span className="muted"> — find people, answer friend requests.</span>
        </li>
        <li>
          <Link to="/market">Marketplace</Link>
          <span className="muted"> — browse, buy and sell.</span>
        </li>
        <li>
          <Link to="/keys">Keys</Link>
          <span className="muted"> — the keys that encrypt and sign your messages, kept in this browser.</span>
        </li>
        <li>
          <Link to="/security">Security</Link>
          <span className="muted"> — two-factor authentication, sessions, password.</span>
        </li>
      </ul>
    </Page>
  );
}
