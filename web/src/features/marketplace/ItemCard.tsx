import { Link } from "react-router";
import { formatMoney } from "../../ui/ui";
import { CONDITION_LABELS, type ItemSummary } from "./api";

export const STATUS_LABELS = { available: "Available", reserved: "Reserved", sold: "Sold", removed: "Removed" } as const;

/** One search result: its first picture, title (the link), price, condition and what is left. */
export function ItemCard({ item }: { item: ItemSummary }) {
  return (
    <article className="item-card">
      <div className="item-card-picture">
        {/* alt="": the title right below says what the picture shows; repeating it would make
            a screen reader read every result's title twice. */}
        {item.image ? <img src={item.image["256"]} alt="" loading="lazy" width={256} height={256} /> : <span className="muted">No picture</span>}
      </div>
      <h3 className="item-card-title">
        <Link to={`/market/items/${item.id}`}>{item.title}</Link>
      </h3>
      <p className="item-card-price">{formatMoney(item.price_minor, item.currency)}</p>
      <p className="muted item-card-meta">
        {CONDITION_LABELS[item.condition]} · {item.status === "available" ? `${item.available} available` : STATUS_LABELS[item.status]}
        {item.seller_username && <> · by {item.seller_username}</>}
      </p>
    </article>
  );
}
