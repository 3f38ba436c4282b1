/** /market/sales: what I sold (paid orders): revenue per currency, by month (a chart) and by item; then the orders for my items. */
import { useState } from "react";
import { Link } from "react-router";
import { api } from "../../api/client";
import { useAsync } from "../../api/hooks";
import { BarChart } from "../../ui/charts/BarChart";
import { formatDateTime, formatMoney, Loaded, Page, Select } from "../../ui/ui";
import { getSales, MARKET, type OrderStatus, type Page as ResultPage, type Sales, type SoldLine } from "./api";
import { MarketNav } from "./MarketNav";
import { OrderStatusBadge } from "./OrderStatusBadge";
import { Paged } from "./Paged";
import { monthLabel, monthlyRevenue, salesCurrencies } from "./sales";
import "./marketplace.css";

export function SalesPage() {
  const sales = useAsync((signal) => getSales(signal), []);
  return (
    <Page title="My sales">
      <MarketNav />
      <Loaded state={sales}>{(loaded) => <SalesFigures sales={loaded} />}</Loaded>
      <SoldLines />
    </Page>
  );
}

function SalesFigures({ sales }: { sales: Sales }) {
  if (sales.revenue.length === 0) {
    return (
      <p>
        No paid sales yet. <Link to="/market/sell">List an item</Link> to start selling.
      </p>
    );
  }
  const currencies = salesCurrencies(sales);
  return (
    <>
      <section aria-labelledby="sales-summary">
        <h2 id="sales-summary">Summary</h2>
        <dl className="sales-summary">
          {sales.revenue.map((row) => (
            <div key={row.currency}>
              <dt>Revenue in {row.currency}</dt>
              <dd>
                <strong>{formatMoney(row.revenue_minor, row.currency)}</strong> from {row.orders} {row.orders === 1 ? "order" : "orders"}, {row.units} {row.units === 1 ? "unit" : "units"}
              </dd>
            </div>
          ))}
          <div>
            <dt>Units sold</dt>
            <dd>{sales.units}</dd>
          </div>
          <div>
            <dt>Unique buyers</dt>
            <dd>{sales.unique_buyers}</dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="sales-by-month">
        <h2 id="sales-by-month">Revenue by month</h2>
        {/* One chart per currency: amounts in different currencies do not add up. */}
        {currencies.map((currency) => (
          <BarChart
            key={currency}
            title={`Revenue by month in ${currency}`}
            valueLabel={`Revenue (${currency})`}
            data={monthlyRevenue(sales.by_month, currency).map((row) => ({ label: monthLabel(row.month), value: row.revenue_minor }))}
            format={(value) => formatMoney(value, currency)}
          />
        ))}
      </section>
      <section aria-labelledby="sales-by-item">
        <h2 id="sales-by-item">By item</h2>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Item</th>
                <th scope="col" className="number">Units</th>
                <th scope="col" className="number">Revenue</th>
              </tr>
            </thead>
            <tbody>
              {sales.by_item.map((row) => (
                <tr key={`${row.item_id}-${row.currency}`}>
                  <th scope="row"><Link to={`/market/items/${row.item_id}`}>{row.title}</Link></th>
                  <td className="number">{row.units}</td>
                  <td className="number">{formatMoney(row.revenue_minor, row.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

const STATUSES: { value: OrderStatus | ""; label: string }[] = [
  { value: "", label: "All" },
  { value: "pending", label: "Waiting for payment" },
  { value: "paid", label: "Paid" },
  { value: "cancelled", label: "Cancelled" },
  { value: "expired", label: "Expired" },
];

function SoldLines() {
  const [status, setStatus] = useState<OrderStatus | "">("");
  const load = (cursor: string | undefined, signal?: AbortSignal) =>
    api<ResultPage<SoldLine>>(`${MARKET}/orders/sold`, { query: { status: status || undefined, limit: 25, cursor }, signal });
  return (
    <section aria-labelledby="sold-lines">
      <h2 id="sold-lines">Orders for my items</h2>
      <div className="sold-filter">
        <Select label="Show orders" value={status} onChange={(e) => setStatus(e.target.value as OrderStatus | "")}>
          {STATUSES.map((option) => (
            <option key={option.value} value={option.value}>{option.label}</option>
          ))}
        </Select>
      </div>
      <Paged key={status} load={load} summary={(count, more) => (count === 0 ? "No orders for your items here." : `Showing ${count}${more ? " (there are more)" : ""}.`)}>
        {(lines) => (
          <ul className="list">
            {lines.map((line) => (
              <li key={`${line.order_id}-${line.item_id}`}>
                <Link to={`/market/items/${line.item_id}`}>{line.title}</Link>: {line.quantity} × {formatMoney(line.unit_price_minor, line.currency)} ={" "}
                <strong>{formatMoney(line.line_total_minor, line.currency)}</strong> · <OrderStatusBadge status={line.order_status} />
                <br />
                <span className="muted">
                  Ordered {formatDateTime(line.placed_at)}
                  {line.paid_at && <>, paid {formatDateTime(line.paid_at)}</>}
                  {line.shipping_address && <>; ship to {line.shipping_address.name}, {line.shipping_address.line1}{line.shipping_address.line2 ? `, ${line.shipping_address.line2}` : ""}, {line.shipping_address.postal_code} {line.shipping_address.city}, {line.shipping_address.country}</>}
                </span>
              </li>
            ))}
          </ul>
        )}
      </Paged>
    </section>
  );
}
