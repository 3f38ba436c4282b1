import { NavLink, Outlet, createBrowserRouter, RouterProvider, useNavigate, type RouteObject } from "react-router";
import { useSession } from "./api/session";
import { routes as account } from "./features/account/routes";
import { routes as keys } from "./features/keys/routes";
import { routes as marketplace } from "./features/marketplace/routes";
import { routes as messaging } from "./features/messaging/routes";
import { NotificationBadge } from "./features/social/NotificationBadge";
import { routes as social } from "./features/social/routes";
import { routes as staff } from "./features/staff/routes";
import { Page } from "./ui/ui";

function Layout() {
  const { status, account, isStaff, signOut } = useSession();
  const navigate = useNavigate();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <NavLink to="/" className="brand" aria-label="BeYou home">
          BeYou
        </NavLink>
        <nav aria-label="Main">
          <ul>
            {status === "signed-in" ? (
              <>
                <li><NavLink to="/conversations">Messages</NavLink></li>
                <li><NavLink to="/friends">Friends</NavLink></li>
                <li>
                  <NavLink to="/notifications">
                    Notifications <NotificationBadge />
                  </NavLink>
                </li>
                <li><NavLink to="/market">Market</NavLink></li>
                <li><NavLink to="/profile">Profile</NavLink></li>
                <li><NavLink to="/security">Security</NavLink></li>
                <li><NavLink to="/keys">Keys</NavLink></li>
                {isStaff && <li><NavLink to="/staff">Staff</NavLink></li>}
                <li>
                  <button type="button" className="link-button" onClick={() => void signOut().finally(() => navigate("/"))}>
                    Sign out{account ? ` (${account.username})` : ""}
                  </button>
                </li>
              </>
            ) : (
              <>
                <li><NavLink to="/market">Market</NavLink></li>
                <li><NavLink to="/login">Sign in</NavLink></li>
                <li><NavLink to="/register">Register</NavLink></li>
              </>
            )}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>
        There is nothing at this address. <NavLink to="/">Go home</NavLink>.
      </p>
    </Page>
  );
}

const children: RouteObject[] = [...account, ...keys, ...social, ...messaging, ...marketplace, ...staff, { path: "*", element: <NotFound /> }];
const router = createBrowserRouter([{ element: <Layout />, children }]);

export default function App() {
  return <RouterProvider router={router} />;
}
