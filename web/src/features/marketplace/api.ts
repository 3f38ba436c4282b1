/**
 * The marketplace API's shapes (from /api/marketplace/openapi.json) and the calls the screens make.
 * Money is always integer minor units with its ISO 4217 currency, as the API sends it.
 */
import { api } from "../../api/client";

export const MARKET = "/api/marketplace";

export const CONDITIONS = ["new", "like_new", "good", "fair", "poor"] as const;
export type Condition = (typeof CONDITIONS)[number];

export const CONDITION_LABELS: Record<Condition, string> = {
  new: "New",
  like_new: "Like new",
  good: "Good",
  fair: "Fair",
  poor: "Poor",
};

export type ItemStatus = "available" | "reserved" | "sold" | "removed";

export interface Category {
  id: string;
  name: string;
  slug: string;
  parent_id: string | null;
  depth: number;
}

/** Rendition size (px, longest side) → URL; public, served as WebP. */
export type ImageUrls = Record<string, string>;

export interface ItemSummary {
  id: string;
  seller_id: string;
  seller_username: string | null;
  title: string;
  category_id: string;
  price_minor: number;
  currency: string;
  condition: Condition;
  quantity: number;
  available: number;
  status: ItemStatus;
  image: ImageUrls | null;
  created_at: string;
}

export interface ItemImage {
  id: string;
  position: number;
  urls: ImageUrls;
}

export interface Item extends ItemSummary {
  description: string;
  category_name: string;
  category_slug: string;
  images: ItemImage[];
  updated_at: string;
  removed_at: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface ItemFields {
  title: string;
  description: string;
  category_id: string;
  price_minor: number;
  currency: string;
  quantity: number;
  condition: Condition;
}

export type Availability = "available" | "insufficient" | "in_order" | "unavailable";

export interface CartLine {
  item_id: string;
  seller_id: string;
  title: string;
  unit_price_minor: number;
  currency: string;
  quantity: number;
  line_total_minor: number;
  available_quantity: number;
  availability: Availability;
  pending_order_id: string | null;
  added_at: string;
}

export interface Cart {
  lines: CartLine[];
  totals: { currency: string; total_minor: number; units: number }[];
}

export interface Address {
  name: string;
  line1: string;
  line2?: string | null;
  city: string;
  postal_code: string;
  country: string;
}

export type OrderStatus = "pending" | "paid" | "cancelled" | "expired";

export interface OrderLine {
  item_id: string;
  seller_id: string;
  title: string;
  unit_price_minor: number;
  currency: string;
  quantity: number;
  line_total_minor: number;
}

export interface Payment {
  id: string;
  outcome: "succeeded" | "declined" | "insufficient_funds" | "timeout" | "error";
  reason: string | null;
  amount_minor: number;
  currency: string;
  card_brand: string;
  card_last4: string;
  created_at: string;
}

export interface Order {
  id: string;
  buyer_id: string;
  status: OrderStatus;
  total_minor: number;
  currency: string;
  lines: OrderLine[];
  shipping_address: Address;
  reserved_until: string;
  failure_reason: string | null;
  payments: Payment[];
  placed_at: string;
  paid_at: string | null;
  closed_at: string | null;
}

export interface SoldLine {
  order_id: string;
  order_status: OrderStatus;
  buyer_id: string;
  item_id: string;
  title: string;
  unit_price_minor: number;
  currency: string;
  quantity: number;
  line_total_minor: number;
  placed_at: string;
  paid_at: string | null;
  shipping_address: Address | null;
}

export interface Sales {
  revenue: { currency: string; revenue_minor: number; units: number; orders: number }[];
  units: number;
  unique_buyers: number;
  by_month: { month: string; currency: string; revenue_minor: number; units: number }[];
  by_item: { item_id: string; title: string; currency: string; revenue_minor: number; units: number }[];
}

export interface Card {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc: string;
}

export const getCategories = (signal?: AbortSignal) => api<Category[]>(`${MARKET}/categories`, { signal });

export const getItem = (id: string, signal?: AbortSignal) => api<Item>(`${MARKET}/items/${encodeURIComponent(id)}`, { signal });

export const createItem = (fields: ItemFields) => api<Item>(`${MARKET}/items`, { json: fields });

export const updateItem = (id: string, fields: Partial<ItemFields>) =>
  api<Item>(`${MARKET}/items/${encodeURIComponent(id)}`, { method: "PATCH", json: fields });

export const deleteItem = (id: string) => api<void>(`${MARKET}/items/${encodeURIComponent(id)}`, { method: "DELETE" });

export function uploadImage(itemId: string, file: Blob, name = "image") {
  const form = new FormData();
  form.append("image", file, name);
  return api<ItemImage>(`${MARKET}/items/${encodeURIComponent(itemId)}/images`, { form });
}

export const orderImages = (itemId: string, imageIds: string[]) =>
  api<{ images: ItemImage[] }>(`${MARKET}/items/${encodeURIComponent(itemId)}/images/order`, { method: "PUT", json: { image_ids: imageIds } });

export const deleteImage = (itemId: string, imageId: string) =>
  api<void>(`${MARKET}/items/${encodeURIComponent(itemId)}/images/${encodeURIComponent(imageId)}`, { method: "DELETE" });

export const getCart = (signal?: AbortSignal) => api<Cart>(`${MARKET}/cart`, { signal });

export const addToCart = (itemId: string, quantity: number) => api<Cart>(`${MARKET}/cart/items`, { json: { item_id: itemId, quantity } });

export const setCartQuantity = (itemId: string, quantity: number) =>
  api<Cart>(`${MARKET}/cart/items/${encodeURIComponent(itemId)}`, { method: "PATCH", json: { quantity } });

export const removeFromCart = (itemId: string) => api<void>(`${MARKET}/cart/items/${encodeURIComponent(itemId)}`, { method: "DELETE" });

export const checkout = (body: { shipping_address: Address; currency: string | null }, idempotencyKey: string) =>
  api<Order>(`${MARKET}/checkout`, { json: body, headers: { "Idempotency-Key": idempotencyKey } });

export const getOrder = (id: string, signal?: AbortSignal) => api<Order>(`${MARKET}/orders/${encodeURIComponent(id)}`, { signal });

export const payOrder = (id: string, card: Card, idempotencyKey: string) =>
  api<Order>(`${MARKET}/orders/${encodeURIComponent(id)}/pay`, { json: { card }, headers: { "Idempotency-Key": idempotencyKey } });

export const cancelOrder = (id: string) => api<Order>(`${MARKET}/orders/${encodeURIComponent(id)}/cancel`, { method: "POST" });

export const getSales = (signal?: AbortSignal) => api<Sales>(`${MARKET}/sales`, { signal });
