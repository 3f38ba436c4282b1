/**
 * Registration checks made before the proof-of-work is solved: the server is the authority
 * (its 422 field errors are shown as they come), but a registration it refuses spends the
 * challenge, so a mistake caught here saves the person a second round of work.
 * The rules mirror auth's RegistrationSchema and password policy.
 */
import type { Registration } from "./api";

const USERNAME = /^[a-z0-9_.]{3,32}$/; // checked after lower-casing, as the server does
const E164 = /^\+[1-9][0-9]{6,14}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

/** Field name → what is wrong with it; empty when the form may be sent. */
export function registrationProblems(details: Registration, confirmation: string): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!USERNAME.test(details.username.trim().toLowerCase())) {
    problems.username = "3 to 32 characters: letters, digits, '_' and '.'.";
  }
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(details.email.trim())) problems.email = "Enter an email address such as ada@example.com.";
  if (!E164.test(details.phone.trim())) problems.phone = "An international number with its country code, such as +14155550123.";
  if (details.password.length < PASSWORD_MIN || details.password.length > PASSWORD_MAX) {
    problems.password = `${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`;
  }
  if (confirmation !== details.password) problems.confirmation = "The two passwords differ.";
  return problems;
}

/** How far the proof-of-work search is, for the progress bar and its label. */
export function workDone(tried: number, expected: number): { value: number; percent: number; label: string } {
  const ratio = expected > 0 ? tried / expected : 0;
  const percent = Math.floor(ratio * 100);
  // The expected work is an average: an unlucky search goes past it, which is normal.
  const shown = percent === 0 && tried > 0 ? "under 1%" : `${percent}%`;
  const label = percent <= 100 ? `${shown} of the expected work` : `${shown} of the expected work: longer than average, still searching`;
  return { value: Math.min(tried, expected), percent, label };
}
