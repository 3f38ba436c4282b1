/** /market/orders: my orders as a buyer, newest first. */
import { Link } from "react-router";
import { api } from "../../api/client";
import { formatDateTime, formatMoney, Page } from "../../ui/ui";
import { MARKET, type Order, type Page as ResultPage } from "./api";
import { MarketNav } from "./MarketNav";
import { OrderStatusBadge } from "./OrderStatusBadge";
import { Paged } from "./Paged";
import "./marketplace.css";

const loadOrders = (cursor: string | undefined, signal?: AbortSignal) => api<ResultPage<Order>>(`${MARKET}/orders`, { query: { limit: 25, cursor }, signal });

export function OrdersPage() {
  return (
    <Page title="My orders">
      <MarketNav />
      <Paged load={loadOrders} summary={(count, more) => (count === 0 ? "You have no orders yet." : `Showing ${count} ${count === 1 ? "order" : "orders"}${more ? "; there are more" : ""}.`)}>
        {(orders) => (
          <ul className="list">
            {orders.map((order) => (
              <li key={order.id} className="order-row">
                <Link to={`/market/orders/${order.id}`}>
                  Order of {formatDateTime(order.placed_at)}
                </Link>{" "}
                · <strong>{formatMoney(order.total_minor, order.currency)}</strong> · <OrderStatusBadge status={order.status} />
                <br />
                <span className="muted">{order.lines.map((line) => (line.quantity > 1 ? `${line.quantity} × ${line.title}` : line.title)).join(", ")}</span>
              </li>
            ))}
          </ul>
        )}
      </Paged>
    </Page>
  );
}
