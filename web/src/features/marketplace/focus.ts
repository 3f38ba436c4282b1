import { useEffect, useRef } from "react";

/**
 * After a refused submit, take the keyboard (and a screen reader) to the first field to fix:
 * returns the form's ref; `refusal` is whatever changes with each refusal (the errors found).
 */
export function useFocusFirstInvalid(...refusal: unknown[]) {
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, refusal);
  return formRef;
}
