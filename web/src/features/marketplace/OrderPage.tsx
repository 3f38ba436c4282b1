/**
 * /market/orders/:id: one of my orders. A pending one holds its items until `reserved_until` (a
 * countdown) and is paid here by card; the card's number and CVC only ever live in this form's
 * state and the request (the API keeps brand and last four).
 */
import { useRef, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { ApiError } from "../../api/client";
import { useAction, useAsync } from "../../api/hooks";
import { Button, ErrorMessage, Field, formatDateTime, formatMoney, Loaded, Notice, Page, Select } from "../../ui/ui";
import { cancelOrder, getOrder, payOrder, type Order } from "./api";
import { Attempt } from "./attempt";
import { formatDuration, useSecondsLeft } from "./countdown";
import { FlashNotice } from "./flash";
import { MarketNav } from "./MarketNav";
import { OrderStatusBadge } from "./OrderStatusBadge";
import "./marketplace.css";

export function OrderPage() {
  const { id = "" } = useParams();
  const order = useAsync((signal) => getOrder(id, signal), [id]);
  return (
    <Page title="Order">
      <MarketNav />
      <FlashNotice />
      <Loaded state={order}>{(loaded) => <OrderView order={loaded} onChanged={order.setData} reload={order.reload} />}</Loaded>
    </Page>
  );
}

function OrderView({ order, onChanged, reload }: { order: Order; onChanged: (order: Order) => void; reload: () => void }) {
  const pending = order.status === "pending";
  const left = useSecondsLeft(pending ? order.reserved_until : null);
  const expired = pending && left === 0;
  return (
    <>
      <p>
        Placed {formatDateTime(order.placed_at)} · <OrderStatusBadge status={order.status} />
        {order.paid_at && <> · paid {formatDateTime(order.paid_at)}</>}
        {order.closed_at && <> · closed {formatDateTime(order.closed_at)}</>}
      </p>
      {pending && !expired && left !== null && (
        <p className="reservation">
          Your items are held for you for <strong><time dateTime={`PT${left}S`}>{formatDuration(left)}</time></strong> more (until {formatDateTime(order.reserved_until)}).
        </p>
      )}
      {expired && (
        <p className="warning" role="status">
          The reservation has ended: its items are released. <Link to="/market/cart">Check out again from your cart</Link>.
        </p>
      )}
      <h2>Items</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col" className="number">Unit price</th>
              <th scope="col" className="number">Quantity</th>
              <th scope="col" className="number">Total</th>
            </tr>
          </thead>
          <tbody>
            {order.lines.map((line) => (
              <tr key={line.item_id}>
                <th scope="row"><Link to={`/market/items/${line.item_id}`}>{line.title}</Link></th>
                <td className="number">{formatMoney(line.unit_price_minor, line.currency)}</td>
                <td className="number">{line.quantity}</td>
                <td className="number">{formatMoney(line.line_total_minor, line.currency)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={3}>Order total</th>
              <td className="number"><strong>{formatMoney(order.total_minor, order.currency)}</strong></td>
            </tr>
          </tfoot>
        </table>
      </div>
      <h2>Shipping to</h2>
      <address className="shipping-address">
        {order.shipping_address.name}<br />
        {order.shipping_address.line1}<br />
        {order.shipping_address.line2 && <>{order.shipping_address.line2}<br /></>}
        {order.shipping_address.postal_code} {order.shipping_address.city}<br />
        {order.shipping_address.country}
      </address>
      {order.status === "paid" && <Notice>This order is paid. Thank you!</Notice>}
      {pending && !expired && <PayForm order={order} onPaid={onChanged} onRefused={reload} />}
      {pending && <CancelOrder order={order} onCancelled={onChanged} />}
      <Payments order={order} />
    </>
  );
}

const THIS_YEAR = new Date().getFullYear();

function PayForm({ order, onPaid, onRefused }: { order: Order; onPaid: (order: Order) => void; onRefused: () => void }) {
  const [number, setNumber] = useState("");
  const [month, setMonth] = useState("");
  const [year, setYear] = useState("");
  const [cvc, setCvc] = useState("");
  const attempt = useRef(new Attempt());
  const pay = useAction(async () => {
    const card = { number: number.trim(), exp_month: Number(month), exp_year: Number(year), cvc: cvc.trim() };
    // The attempt is keyed on the card without its CVC: a retry after a lost answer is the same payment.
    const sameRequest = { number: card.number, exp_month: card.exp_month, exp_year: card.exp_year };
    try {
      onPaid(await attempt.current.run(sameRequest, (key) => payOrder(order.id, card, key)));
    } catch (error) {
      // A refused payment (402) is on record: show the attempt in the list below.
      if (error instanceof ApiError && error.status === 402) onRefused();
      throw error;
    } finally {
      setCvc("");
    }
  });
  const fieldError = (name: string) => (pay.error instanceof ApiError ? pay.error.fields[`card.${name}`] : undefined);

  function submit(event: FormEvent) {
    event.preventDefault();
    void pay.run();
  }

  return (
    <section aria-labelledby="pay-heading">
      <h2 id="pay-heading">Pay {formatMoney(order.total_minor, order.currency)}</h2>
      <details className="test-cards">
        <summary>Test cards (this shop charges no real money)</summary>
        <p>Any future expiry date; a 3-digit CVC (4 digits for American Express).</p>
        <ul>
          <li><code>4242 4242 4242 4242</code>: payment succeeds</li>
          <li><code>4000 0000 0000 0002</code>: declined</li>
          <li><code>4000 0000 0000 9995</code>: insufficient funds</li>
          <li><code>4000 0000 0000 0119</code>: the provider does not answer</li>
        </ul>
      </details>
      <form onSubmit={submit} aria-labelledby="pay-heading" className="pay-form">
        <Field label="Card number" autoComplete="cc-number" inputMode="numeric" required maxLength={32} value={number} error={fieldError("number")} onChange={(e) => setNumber(e.target.value)} />
        <div className="row expiry">
          <Select label="Expiry month" autoComplete="cc-exp-month" required value={month} onChange={(e) => setMonth(e.target.value)}>
            <option value="" disabled>Month</option>
            {Array.from({ length: 12 }, (_, i) => (
              <option key={i + 1} value={i + 1}>{String(i + 1).padStart(2, "0")}</option>
            ))}
          </Select>
          <Field label="Expiry year" autoComplete="cc-exp-year" inputMode="numeric" required placeholder={String(THIS_YEAR + 2)} maxLength={4} value={year} error={fieldError("exp_year") ?? fieldError("exp_month")} onChange={(e) => setYear(e.target.value)} />
        </div>
        <Field label="Security code (CVC)" autoComplete="cc-csc" inputMode="numeric" required maxLength={4} value={cvc} error={fieldError("cvc")} onChange={(e) => setCvc(e.target.value)} />
        <ErrorMessage error={pay.error} />
        <div className="row">
          <Button type="submit" busy={pay.busy} disabled={!number || !month || !year || !cvc}>Pay now</Button>
        </div>
      </form>
    </section>
  );
}

function CancelOrder({ order, onCancelled }: { order: Order; onCancelled: (order: Order) => void }) {
  const [confirming, setConfirming] = useState(false);
  const cancel = useAction(async () => onCancelled(await cancelOrder(order.id)));
  return (
    <div className="row cancel-order">
      {!confirming ? (
        <Button type="button" className="button secondary" onClick={() => setConfirming(true)}>Cancel this order</Button>
      ) : (
        <>
          <span id="confirm-cancel">Cancel the order and release its items?</span>
          <Button type="button" className="button danger" busy={cancel.busy} aria-describedby="confirm-cancel" onClick={() => void cancel.run()}>Yes, cancel it</Button>
          <Button type="button" className="button secondary" onClick={() => setConfirming(false)}>Keep it</Button>
        </>
      )}
      <ErrorMessage error={cancel.error} />
    </div>
  );
}

const BRANDS: Record<string, string> = { visa: "Visa", mastercard: "Mastercard", amex: "American Express", card: "card" };

const OUTCOMES = { succeeded: "Paid", declined: "Declined", insufficient_funds: "Insufficient funds", timeout: "No answer from the provider", error: "Provider error" } as const;

function Payments({ order }: { order: Order }) {
  if (order.payments.length === 0) return null;
  return (
    <>
      <h2>Payment attempts</h2>
      <ul className="list">
        {order.payments.map((payment) => (
          <li key={payment.id}>
            <strong>{OUTCOMES[payment.outcome]}</strong>: {formatMoney(payment.amount_minor, payment.currency)} by {BRANDS[payment.card_brand] ?? payment.card_brand} ending {payment.card_last4}, {formatDateTime(payment.created_at)}
            {payment.reason && <span className="muted"> ({payment.reason})</span>}
          </li>
        ))}
      </ul>
    </>
  );
}
