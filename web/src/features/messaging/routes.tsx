import type { RouteObject } from "react-router";
import { RequireSignIn } from "../../ui/guards";
import { ContactPage } from "./ContactPage";
import { ConversationPage } from "./ConversationPage";
import { ConversationsPage } from "./ConversationsPage";
import { NewConversationPage } from "./NewConversationPage";

/** The messaging screens: conversations (direct and group, standard and end-to-end) and contacts' keys. */
export const routes: RouteObject[] = [
  { path: "/conversations", element: <RequireSignIn><ConversationsPage /></RequireSignIn> },
  { path: "/conversations/new", element: <RequireSignIn><NewConversationPage /></RequireSignIn> },
  { path: "/conversations/:id", element: <RequireSignIn><ConversationPage /></RequireSignIn> },
  { path: "/contacts/:userId", element: <RequireSignIn><ContactPage /></RequireSignIn> },
];
