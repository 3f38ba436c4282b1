/**
 * /market/cart: my cart's lines (priced now, with their availability), totals per currency, and
 * checkout: a shipping address, the currency when the cart holds several, and one Idempotency-Key
 * per attempt (see attempt.ts), so pressing "Place order" again after a lost answer cannot
 * place a second order.
 */
import { useRef, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError } from "../../api/client";
import { useAction, useAsync } from "../../api/hooks";
import { Button, ErrorMessage, Field, formatMoney, Loaded, Page, Select } from "../../ui/ui";
import { checkout, getCart, removeFromCart, setCartQuantity, type Address, type Cart, type CartLine } from "./api";
import { Attempt } from "./attempt";
import { MarketNav } from "./MarketNav";
import "./marketplace.css";

export function CartPage() {
  const cart = useAsync((signal) => getCart(signal), []);
  return (
    <Page title="Your cart">
      <MarketNav />
      <Loaded state={cart}>
        {(loaded) =>
          loaded.lines.length === 0 ? (
            <p>
              Your cart is empty. <Link to="/market">Find something in the market</Link>.
            </p>
          ) : (
            <>
              <ul className="list cart-lines" aria-label="Items in your cart">
                {loaded.lines.map((line) => (
                  <li key={line.item_id}>
                    <CartLineRow line={line} onChanged={cart.setData} onRemoved={cart.reload} />
                  </li>
                ))}
              </ul>
              <Totals cart={loaded} />
              <CheckoutForm cart={loaded} />
            </>
          )
        }
      </Loaded>
    </Page>
  );
}

function availabilityText(line: CartLine) {
  switch (line.availability) {
    case "available":
      return null;
    case "insufficient":
      return `Only ${line.available_quantity} available: lower the quantity to check out.`;
    case "in_order":
      return "Held by one of your pending orders: pay or cancel that order.";
    case "unavailable":
      return "No longer for sale: remove it to check out.";
  }
}

function CartLineRow({ line, onChanged, onRemoved }: { line: CartLine; onChanged: (cart: Cart) => void; onRemoved: () => void }) {
  const [quantity, setQuantity] = useState(String(line.quantity));
  const update = useAction(async () => onChanged(await setCartQuantity(line.item_id, Number(quantity))));
  const remove = useAction(async () => {
    await removeFromCart(line.item_id);
    onRemoved();
  });
  const problem = availabilityText(line);
  function submit(event: FormEvent) {
    event.preventDefault();
    void update.run();
  }
  return (
    <div className="cart-line">
      <div>
        <Link to={`/market/items/${line.item_id}`} className="cart-line-title">{line.title}</Link>
        <p className="muted">
          {formatMoney(line.unit_price_minor, line.currency)} each · {formatMoney(line.line_total_minor, line.currency)} for {line.quantity}
        </p>
        {problem && (
          <p className="warning">
            {problem} {line.pending_order_id && <Link to={`/market/orders/${line.pending_order_id}`}>Open the order</Link>}
          </p>
        )}
      </div>
      <form className="cart-line-form" onSubmit={submit} aria-label={`Quantity of ${line.title}`}>
        <Field label={`Quantity of ${line.title}`} type="number" min={1} step={1} required value={quantity} onChange={(e) => setQuantity(e.target.value)} />
        <Button type="submit" className="button secondary" busy={update.busy} disabled={quantity === String(line.quantity)}>Update</Button>
        <Button type="button" className="button danger" busy={remove.busy} onClick={() => void remove.run()} aria-label={`Remove ${line.title} from the cart`}>Remove</Button>
      </form>
      <ErrorMessage error={update.error ?? remove.error} />
    </div>
  );
}

function Totals({ cart }: { cart: Cart }) {
  return (
    <section aria-labelledby="cart-totals">
      <h2 id="cart-totals">Total</h2>
      <ul className="cart-totals">
        {cart.totals.map((total) => (
          <li key={total.currency}>
            <strong>{formatMoney(total.total_minor, total.currency)}</strong> for {total.units} {total.units === 1 ? "unit" : "units"}
          </li>
        ))}
      </ul>
    </section>
  );
}

const EMPTY_ADDRESS: Address = { name: "", line1: "", line2: "", city: "", postal_code: "", country: "" };

function CheckoutForm({ cart }: { cart: Cart }) {
  const navigate = useNavigate();
  const currencies = cart.totals.map((total) => total.currency);
  const [address, setAddress] = useState<Address>(EMPTY_ADDRESS);
  const [currency, setCurrency] = useState(currencies.length === 1 ? currencies[0] : "");
  const attempt = useRef(new Attempt());
  const set = (name: keyof Address, value: string) => setAddress((current) => ({ ...current, [name]: value }));
  const placeOrder = useAction(async () => {
    const body = {
      shipping_address: { ...address, line2: address.line2?.trim() || null, country: address.country.trim().toUpperCase() },
      currency: currency || null,
    };
    const order = await attempt.current.run(body, (key) => checkout(body, key));
    navigate(`/market/orders/${order.id}`, { state: { notice: "Order placed: its items are held for you until you pay or the reservation ends." } });
  });
  const fieldError = (name: string) => (placeOrder.error instanceof ApiError ? placeOrder.error.fields[`shipping_address.${name}`] : undefined);
  const ready = cart.lines.some((line) => line.availability === "available" && (!currency || line.currency === currency));

  function submit(event: FormEvent) {
    event.preventDefault();
    void placeOrder.run();
  }

  return (
    <section aria-labelledby="checkout-heading">
      <h2 id="checkout-heading">Checkout</h2>
      <form onSubmit={submit} aria-labelledby="checkout-heading">
        <fieldset>
          <legend>Shipping address</legend>
          <Field label="Full name" autoComplete="name" required maxLength={100} value={address.name} error={fieldError("name")} onChange={(e) => set("name", e.target.value)} />
          <Field label="Address" autoComplete="address-line1" required maxLength={200} value={address.line1} error={fieldError("line1")} onChange={(e) => set("line1", e.target.value)} />
          <Field label="Address, second line (optional)" autoComplete="address-line2" maxLength={200} value={address.line2 ?? ""} error={fieldError("line2")} onChange={(e) => set("line2", e.target.value)} />
          <Field label="City" autoComplete="address-level2" required maxLength={100} value={address.city} error={fieldError("city")} onChange={(e) => set("city", e.target.value)} />
          <Field label="Postal code" autoComplete="postal-code" required maxLength={20} value={address.postal_code} error={fieldError("postal_code")} onChange={(e) => set("postal_code", e.target.value)} />
          <Field label="Country" autoComplete="country" required maxLength={2} hint="Two-letter code, like DE or FR" value={address.country} error={fieldError("country")} onChange={(e) => set("country", e.target.value.toUpperCase())} />
        </fieldset>
        {currencies.length > 1 && (
          <Select label="Pay in" required value={currency} onChange={(e) => setCurrency(e.target.value)}>
            <option value="" disabled>Choose a currency</option>
            {currencies.map((code) => (
              <option key={code} value={code}>{code}: the lines priced in {code}</option>
            ))}
          </Select>
        )}
        {currencies.length > 1 && <p className="muted">Your cart holds items in several currencies: each order is paid in one of them.</p>}
        <ErrorMessage error={placeOrder.error} />
        <div className="row">
          <Button type="submit" busy={placeOrder.busy} disabled={!ready}>Place order</Button>
          {!ready && <span className="muted">Nothing in the cart can be checked out as it is.</span>}
        </div>
      </form>
    </section>
  );
}
