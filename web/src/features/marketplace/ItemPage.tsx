/** /market/items/:id: the item's pictures, details and price; buyers add it to their cart, its seller edits or removes it. */
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useAction, useAsync } from "../../api/hooks";
import { useSession } from "../../api/session";
import { ReportForm } from "../social/ReportForm";
import { Button, ErrorMessage, Field, formatDateTime, formatMoney, Loaded, Notice, Page } from "../../ui/ui";
import { addToCart, CONDITION_LABELS, deleteItem, getItem, type Item } from "./api";
import { FlashNotice } from "./flash";
import { MarketNav } from "./MarketNav";
import "./marketplace.css";

export function ItemPage() {
  const { id = "" } = useParams();
  const state = useAsync((signal) => getItem(id, signal), [id]);
  const item = state.data;
  if (!item || item.id !== id) {
    return (
      <Page title={state.error ? "Item not available" : "Item"}>
        <MarketNav />
        <Loaded state={state}>{() => null}</Loaded>
      </Page>
    );
  }
  return (
    <Page title={item.title}>
      <MarketNav />
      <FlashNotice />
      <div className="item-layout">
        <Gallery item={item} />
        <div>
          <ItemFacts item={item} />
          <ItemActions item={item} />
        </div>
      </div>
      <h2>Description</h2>
      {item.description ? <p className="item-description">{item.description}</p> : <p className="muted">The seller wrote no description.</p>}
    </Page>
  );
}

function Gallery({ item }: { item: Item }) {
  const [shown, setShown] = useState(0);
  const count = item.images.length;
  if (count === 0) return <div className="gallery gallery-empty muted">No pictures of this item.</div>;
  const index = Math.min(shown, count - 1);
  return (
    <div className="gallery">
      <img className="gallery-main" src={item.images[index].urls["1024"]} alt={`${item.title}: picture ${index + 1} of ${count}`} />
      {count > 1 && (
        <ul className="gallery-thumbs" aria-label="Pictures">
          {item.images.map((image, i) => (
            <li key={image.id}>
              <button type="button" className="gallery-thumb" aria-pressed={i === index} onClick={() => setShown(i)}>
                <img src={image.urls["256"]} alt={`Show picture ${i + 1} of ${count}`} width={64} height={64} />
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** What a buyer can take: units sold and units held by others' pending orders are not. */
function stockText(item: Item): string {
  if (item.status === "sold") return "Sold out";
  if (item.status === "reserved") return `Reserved: the ${item.quantity === 1 ? "last unit is" : `last ${item.quantity} units are`} held by pending orders`;
  const held = item.quantity - item.available;
  return `${item.available} available${held > 0 ? ` (${held} more held by pending orders)` : ""}`;
}

function ItemFacts({ item }: { item: Item }) {
  return (
    <dl className="item-facts">
      <dt>Price</dt>
      <dd className="item-price">{formatMoney(item.price_minor, item.currency)}</dd>
      <dt>Condition</dt>
      <dd>{CONDITION_LABELS[item.condition]}</dd>
      <dt>Category</dt>
      <dd>
        <Link to={`/market?category=${item.category_id}`}>{item.category_name}</Link>
      </dd>
      <dt>Seller</dt>
      <dd>{item.seller_username ?? <span className="muted">not known yet</span>}</dd>
      <dt>Stock</dt>
      <dd>{stockText(item)}</dd>
      <dt>Listed</dt>
      <dd>{formatDateTime(item.created_at)}</dd>
    </dl>
  );
}

function ItemActions({ item }: { item: Item }) {
  const { status, account } = useSession();
  if (status !== "signed-in" || !account) {
    return (
      <p>
        <Link to="/login" state={{ from: `/market/items/${item.id}` }}>Sign in</Link> to buy this item.
      </p>
    );
  }
  if (account.id === item.seller_id) return <SellerActions item={item} />;
  return (
    <>
      <AddToCart item={item} />
      <details className="item-report">
        <summary>Report this item</summary>
        <ReportForm targetType="item" targetId={item.id} about={`“${item.title}”`} />
      </details>
    </>
  );
}

function AddToCart({ item }: { item: Item }) {
  const [quantity, setQuantity] = useState("1");
  const [added, setAdded] = useState<number | null>(null);
  const add = useAction(async (units: number) => {
    await addToCart(item.id, units);
    setAdded(units);
  });
  if (item.available === 0) return <p className="muted">No units are free to buy right now.</p>;
  function submit(event: FormEvent) {
    event.preventDefault();
    setAdded(null);
    void add.run(Number(quantity));
  }
  return (
    <form className="add-to-cart" onSubmit={submit} aria-label="Add to cart">
      <Field label="Quantity" type="number" min={1} max={item.available} step={1} required value={quantity} onChange={(e) => setQuantity(e.target.value)} />
      <Button type="submit" busy={add.busy}>Add to cart</Button>
      <ErrorMessage error={add.error} />
      {added !== null && (
        <Notice>
          Added {added} to your cart. <Link to="/market/cart">Go to the cart</Link>
        </Notice>
      )}
    </form>
  );
}

function SellerActions({ item }: { item: Item }) {
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const remove = useAction(async () => {
    await deleteItem(item.id);
    navigate("/market/mine", { state: { notice: `“${item.title}” was removed from sale.` } });
  });
  return (
    <div className="panel">
      <p>This is your item.</p>
      <div className="row">
        <Link className="button" to={`/market/items/${item.id}/edit`}>Edit item</Link>
        {!confirming ? (
          <Button type="button" className="button danger" onClick={() => setConfirming(true)}>Remove from sale</Button>
        ) : (
          <>
            <span id="confirm-remove">Remove it from sale? Orders keep it in their history.</span>
            <Button type="button" className="button danger" busy={remove.busy} aria-describedby="confirm-remove" onClick={() => void remove.run()}>Yes, remove it</Button>
            <Button type="button" className="button secondary" onClick={() => setConfirming(false)}>Keep it</Button>
          </>
        )}
      </div>
      <ErrorMessage error={remove.error} />
    </div>
  );
}
