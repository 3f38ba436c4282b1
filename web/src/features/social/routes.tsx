import type { RouteObject } from "react-router";
import { RequireSignIn } from "../../ui/guards";
import { BlocksPage } from "./BlocksPage";
import { FriendsPage } from "./FriendsPage";
import { NotificationsPage } from "./NotificationsPage";
import { PersonPage } from "./PersonPage";
import { ProfilePage } from "./ProfilePage";
import { ReportsPage } from "./ReportsPage";

/**
 * The social screens. A person's page is addressed by username (/people/:username): the API finds
 * profiles by username only.
 */
export const routes: RouteObject[] = [
  { path: "/profile", element: <RequireSignIn><ProfilePage /></RequireSignIn> },
  { path: "/friends", element: <RequireSignIn><FriendsPage /></RequireSignIn> },
  { path: "/people/:username", element: <RequireSignIn><PersonPage /></RequireSignIn> },
  { path: "/blocks", element: <RequireSignIn><BlocksPage /></RequireSignIn> },
  { path: "/reports", element: <RequireSignIn><ReportsPage /></RequireSignIn> },
  { path: "/notifications", element: <RequireSignIn><NotificationsPage /></RequireSignIn> },
];
