/** The category tree as a select: the API lists each category right after its parent, with its depth. */
import { useId, type ChangeEvent } from "react";
import { useAsync } from "../../api/hooks";
import { Select } from "../../ui/ui";
import { getCategories, type Category } from "./api";

export function useCategories() {
  return useAsync((signal) => getCategories(signal), []);
}

// Indentation with no-break spaces: an <option> holds text only, and this is how a screen reader
// and a sighted reader both see the nesting ("Furniture", "  Chairs").
const indent = (category: Category) => "\u00a0\u00a0\u00a0".repeat(category.depth) + category.name;

export function CategorySelect({ label, value, onChange, categories, anyLabel, required, name, error }: {
  label: string;
  value: string;
  onChange: (id: string) => void;
  categories: Category[];
  /** The first option, meaning no category ("All categories"); left out when a category is required. */
  anyLabel?: string;
  required?: boolean;
  name?: string;
  /** Why the choice is refused, shown under the select. */
  error?: string;
}) {
  const errorId = useId();
  return (
    <>
      <Select label={label} value={value} name={name} required={required} aria-invalid={error ? true : undefined} aria-describedby={error ? errorId : undefined} onChange={(event: ChangeEvent<HTMLSelectElement>) => onChange(event.target.value)}>
        {anyLabel !== undefined ? <option value="">{anyLabel}</option> : <option value="" disabled>Choose a category</option>}
        {categories.map((category) => (
          <option key={category.id} value={category.id}>
            {indent(category)}
          </option>
        ))}
      </Select>
      {error && <small id={errorId} className="field-error">{error}</small>}
    </>
  );
}
