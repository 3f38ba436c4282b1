import type { RouteObject } from "react-router";
import { RequireSignIn } from "../../ui/guards";
import { KeysPage } from "./KeysPage";

/** The keys screen: `/keys`. Other screens needing the keys use `<UnlockKeys>` (./UnlockKeys). */
export const routes: RouteObject[] = [
  {
    path: "/keys",
    element: (
      <RequireSignIn>
        <KeysPage />
      </RequireSignIn>
    ),
  },
];
