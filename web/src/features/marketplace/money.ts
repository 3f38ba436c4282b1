/**
 * Prices as people type them ("12.50") ⇄ the API's integer minor units (1250), per currency:
 * EUR has 2 decimals, JPY none, BHD 3 (ISO 4217, as the browser's Intl knows it).
 */

/** How many minor-unit digits a currency has (2 when the browser does not know the code). */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * "12.5" or "12,50" → 1250 for EUR. Null when it is not a plain non-negative amount, or has more
 * decimals than the currency allows (rounding a price silently would change what the seller meant).
 */
export function parseMajor(text: string, currency: string): number | null {
  const trimmed = text.trim().replace(/[\s']/g, "");
  // One decimal separator, either "." or "," (no thousands separators: "1,000" is ambiguous).
  const match = /^(\d+)(?:[.,](\d*))?$/.exec(trimmed);
  if (!match) return null;
  const digits = currencyDigits(currency);
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  if (fraction.length > digits) return null;
  const minor = Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, "0") || "0");
  return Number.isSafeInteger(minor) ? minor : null;
}

/** 1250 EUR → "12.50": the value of a price input. */
export function toMajorText(minor: number, currency: string): string {
  const digits = currencyDigits(currency);
  if (digits === 0) return String(minor);
  const text = String(minor).padStart(digits + 1, "0");
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** Currencies offered first in inputs; any ISO 4217 code is accepted. */
export const COMMON_CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "JPY", "CAD", "AUD"];
