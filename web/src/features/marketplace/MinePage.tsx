/** /market/mine: every item I listed, sold and removed ones too, with links to edit them. */
import { Link } from "react-router";
import { api } from "../../api/client";
import { formatDateTime, formatMoney, Page } from "../../ui/ui";
import { MARKET, type ItemSummary, type Page as ResultPage } from "./api";
import { FlashNotice } from "./flash";
import { STATUS_LABELS } from "./ItemCard";
import { MarketNav } from "./MarketNav";
import { Paged } from "./Paged";
import "./marketplace.css";

const loadMine = (cursor: string | undefined, signal?: AbortSignal) => api<ResultPage<ItemSummary>>(`${MARKET}/items/mine`, { query: { limit: 25, cursor }, signal });

export function MinePage() {
  return (
    <Page title="My items" actions={<Link className="button" to="/market/sell">Sell an item</Link>}>
      <MarketNav />
      <FlashNotice />
      <Paged load={loadMine} summary={(count, more) => (count === 0 ? "You have not listed anything yet." : `Showing ${count} ${count === 1 ? "item" : "items"}${more ? "; there are more" : ""}.`)}>
        {(items) => (
          <ul className="list">
            {items.map((item) => (
              <li key={item.id} className="mine-row">
                {item.image ? <img src={item.image["256"]} alt="" width={64} height={64} /> : <span className="mine-no-picture" aria-hidden="true" />}
                <div>
                  {item.status === "removed" ? <strong>{item.title}</strong> : <Link to={`/market/items/${item.id}`}>{item.title}</Link>}
                  <br />
                  <span className="muted">
                    {formatMoney(item.price_minor, item.currency)} · {STATUS_LABELS[item.status]} · {item.available} of {item.quantity} free · listed {formatDateTime(item.created_at)}
                  </span>
                </div>
                {item.status !== "removed" && (
                  <Link to={`/market/items/${item.id}/edit`} aria-label={`Edit ${item.title}`}>Edit</Link>
                )}
              </li>
            ))}
          </ul>
        )}
      </Paged>
    </Page>
  );
}
