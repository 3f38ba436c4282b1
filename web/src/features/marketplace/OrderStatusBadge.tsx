import type { OrderStatus } from "./api";

const LABELS: Record<OrderStatus, string> = { pending: "Waiting for payment", paid: "Paid", cancelled: "Cancelled", expired: "Expired" };

/** An order's status as words (colour only repeats them). */
export function OrderStatusBadge({ status }: { status: OrderStatus }) {
  return <span className={`status status-${status}`}>{LABELS[status]}</span>;
}
