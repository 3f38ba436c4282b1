/** The sell form, for a new item and for editing one: what the API's ItemCreate/ItemUpdate take. */
import { useState, type FormEvent, type ReactNode } from "react";
import { ApiError } from "../../api/client";
import { Button, ErrorMessage, Field, Select, TextArea } from "../../ui/ui";
import { CONDITION_LABELS, CONDITIONS, type Category, type Condition, type ItemFields } from "./api";
import { CategorySelect } from "./categories";
import { useFocusFirstInvalid } from "./focus";
import { COMMON_CURRENCIES, parseMajor, toMajorText } from "./money";

export interface ItemDraft {
  title: string;
  description: string;
  category_id: string;
  price: string;
  currency: string;
  quantity: string;
  condition: Condition | "";
}

export const EMPTY_DRAFT: ItemDraft = { title: "", description: "", category_id: "", price: "", currency: "EUR", quantity: "1", condition: "" };

export function draftOf(item: ItemFields): ItemDraft {
  return {
    title: item.title,
    description: item.description,
    category_id: item.category_id,
    price: toMajorText(item.price_minor, item.currency),
    currency: item.currency,
    quantity: String(item.quantity),
    condition: item.condition,
  };
}

type DraftErrors = Partial<Record<keyof ItemDraft, string>>;

/** The draft as the API's fields, or what to fix first. */
export function fieldsOf(draft: ItemDraft): { fields?: ItemFields; errors: DraftErrors } {
  const errors: DraftErrors = {};
  const currency = draft.currency.trim().toUpperCase();
  if (!draft.title.trim()) errors.title = "Give the item a title.";
  if (!draft.category_id) errors.category_id = "Choose a category.";
  if (!draft.condition) errors.condition = "Choose the item's condition.";
  if (!/^[A-Z]{3}$/.test(currency)) errors.currency = "A currency is a three-letter code, like EUR.";
  const price = errors.currency ? null : parseMajor(draft.price, currency);
  if (price === null && !errors.currency) errors.price = "Enter a price like 12.50.";
  const quantity = Number(draft.quantity);
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 100000) errors.quantity = "From 1 to 100000 units.";
  if (Object.keys(errors).length) return { errors };
  return {
    errors,
    fields: {
      title: draft.title.trim(),
      description: draft.description,
      category_id: draft.category_id,
      price_minor: price as number,
      currency,
      quantity,
      condition: draft.condition as Condition,
    },
  };
}

// The API names fields as it stores them; the form shows the price as one "price" field.
const API_FIELD_TO_DRAFT: Record<string, keyof ItemDraft> = { price_minor: "price" };

function serverErrors(error: unknown): DraftErrors {
  if (!(error instanceof ApiError)) return {};
  const out: DraftErrors = {};
  for (const [name, message] of Object.entries(error.fields)) out[API_FIELD_TO_DRAFT[name] ?? (name as keyof ItemDraft)] = message;
  return out;
}

export function ItemForm({ initial, categories, submitLabel, busy, error, onSubmit, children }: {
  initial: ItemDraft;
  categories: Category[];
  submitLabel: string;
  busy: boolean;
  error: unknown;
  onSubmit: (fields: ItemFields) => void;
  /** Extra controls before the submit button (the sell page's pictures). */
  children?: ReactNode;
}) {
  const [draft, setDraft] = useState(initial);
  const [errors, setErrors] = useState<DraftErrors>({});
  const set = (name: keyof ItemDraft, value: string) => setDraft((current) => ({ ...current, [name]: value }));
  const shown = { ...serverErrors(error), ...errors };
  const formRef = useFocusFirstInvalid(errors, error);

  function submit(event: FormEvent) {
    event.preventDefault();
    const { fields, errors: found } = fieldsOf(draft);
    setErrors(found);
    if (fields) onSubmit(fields);
  }

  return (
    <form ref={formRef} className="item-form" onSubmit={submit} noValidate aria-label="Item details">
      <Field label="Title" name="title" required maxLength={120} value={draft.title} error={shown.title} onChange={(e) => set("title", e.target.value)} />
      <TextArea label="Description" name="description" maxLength={5000} hint="What it is, its size, any flaws. Up to 5000 characters." value={draft.description} onChange={(e) => set("description", e.target.value)} />
      <CategorySelect label="Category" name="category" required value={draft.category_id} categories={categories} error={shown.category_id} onChange={(id) => set("category_id", id)} />
      <div className="price-row">
        <Field label="Price" name="price" inputMode="decimal" required value={draft.price} hint="Per unit, e.g. 12.50" error={shown.price} onChange={(e) => set("price", e.target.value)} />
        <Field label="Currency" name="currency" required list="sell-currencies" maxLength={3} value={draft.currency} error={shown.currency} onChange={(e) => set("currency", e.target.value.toUpperCase())} />
        <datalist id="sell-currencies">
          {COMMON_CURRENCIES.map((code) => <option key={code} value={code} />)}
        </datalist>
      </div>
      <Field label="Quantity" name="quantity" type="number" min={1} max={100000} step={1} required value={draft.quantity} error={shown.quantity} onChange={(e) => set("quantity", e.target.value)} />
      <Select label="Condition" name="condition" required value={draft.condition} aria-invalid={shown.condition ? true : undefined} aria-describedby={shown.condition ? "item-condition-error" : undefined} onChange={(e) => set("condition", e.target.value)}>
        <option value="" disabled>Choose the condition</option>
        {CONDITIONS.map((condition) => (
          <option key={condition} value={condition}>{CONDITION_LABELS[condition]}</option>
        ))}
      </Select>
      {shown.condition && <small id="item-condition-error" className="field-error">{shown.condition}</small>}
      {children}
      <ErrorMessage error={error} />
      <div className="row">
        <Button type="submit" busy={busy}>{submitLabel}</Button>
      </div>
    </form>
  );
}
