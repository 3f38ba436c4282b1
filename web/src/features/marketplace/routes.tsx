import type { RouteObject } from "react-router";
import { RequireSignIn } from "../../ui/guards";
import { CartPage } from "./CartPage";
import { EditPage } from "./EditPage";
import { ItemPage } from "./ItemPage";
import { MinePage } from "./MinePage";
import { OrderPage } from "./OrderPage";
import { OrdersPage } from "./OrdersPage";
import { SalesPage } from "./SalesPage";
import { SearchPage } from "./SearchPage";
import { SellPage } from "./SellPage";

/**
 * The marketplace screens. Searching and item pages are public (the API serves them without a
 * token); buying and selling need a signed-in member.
 */
export const routes: RouteObject[] = [
  { path: "/market", element: <SearchPage /> },
  { path: "/market/items/:id", element: <ItemPage /> },
  { path: "/market/items/:id/edit", element: <RequireSignIn><EditPage /></RequireSignIn> },
  { path: "/market/sell", element: <RequireSignIn><SellPage /></RequireSignIn> },
  { path: "/market/mine", element: <RequireSignIn><MinePage /></RequireSignIn> },
  { path: "/market/cart", element: <RequireSignIn><CartPage /></RequireSignIn> },
  { path: "/market/orders", element: <RequireSignIn><OrdersPage /></RequireSignIn> },
  { path: "/market/orders/:id", element: <RequireSignIn><OrderPage /></RequireSignIn> },
  { path: "/market/sales", element: <RequireSignIn><SalesPage /></RequireSignIn> },
];
