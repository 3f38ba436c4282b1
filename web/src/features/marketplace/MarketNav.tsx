import { NavLink } from "react-router";
import { useSession } from "../../api/session";

/** The marketplace's own sections, on every market screen. */
export function MarketNav() {
  const { status } = useSession();
  return (
    <nav aria-label="Marketplace" className="market-nav">
      <ul>
        <li><NavLink to="/market" end>Search</NavLink></li>
        {status === "signed-in" ? (
          <>
            <li><NavLink to="/market/sell">Sell an item</NavLink></li>
            <li><NavLink to="/market/mine">My items</NavLink></li>
            <li><NavLink to="/market/cart">Cart</NavLink></li>
            <li><NavLink to="/market/orders">My orders</NavLink></li>
            <li><NavLink to="/market/sales">My sales</NavLink></li>
          </>
        ) : (
          <li><NavLink to="/login" state={{ from: "/market" }}>Sign in to buy or sell</NavLink></li>
        )}
      </ul>
    </nav>
  );
}
