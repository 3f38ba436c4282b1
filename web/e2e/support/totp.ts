/**
 * TOTP codes (RFC 6238 over RFC 4226: HMAC-SHA1, 6 digits, 30 s steps), what an authenticator app
 * shows for auth's base32 secret (pyotp's defaults, which auth uses).
 *
 * auth accepts each step's code once per account (a replayed code is refused), and steps within
 * one either side of now. `TotpDevice.nextCode()` hands out codes of steps never used before, so a
 * test can confirm 2FA and sign in again at once, waiting for the clock only when it must.
 */
import { createHmac } from "node:crypto";

export const STEP_SECONDS = 30;
const ACCEPTED_AHEAD = 1; // auth's VALID_WINDOW: one step either side of now

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Decode(secret: string): Buffer {
  const clean = secret.replace(/[\s=]/g, "").toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${JSON.stringify(char)}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The code of time step `step` (RFC 4226 HOTP of the step counter). */
export function hotp(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const digest = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, "0");
}

export function currentStep(now: number = Date.now()): number {
  return Math.floor(now / 1000 / STEP_SECONDS);
}

/** The code an authenticator shows now. */
export function totp(secret: string, now: number = Date.now()): string {
  return hotp(secret, currentStep(now));
}

/** An authenticator app that never shows the same step twice (auth refuses a code used before). */
export class TotpDevice {
  private lastStep = -1;

  constructor(readonly secret: string) {}

  /** The code of the earliest step after the last one used that auth accepts now (waits if none). */
  async nextCode(): Promise<string> {
    for (;;) {
      const now = currentStep();
      const step = Math.max(now, this.lastStep + 1);
      if (step <= now + ACCEPTED_AHEAD) {
        this.lastStep = step;
        return hotp(this.secret, step);
      }
      // Both acceptable steps are spent: the next one opens at the start of the next step.
      const wait = (now + 1) * STEP_SECONDS * 1000 - Date.now() + 50;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** A code used by someone else (e.g. typed in the browser): later codes come after it. */
  markUsed(code: string): void {
    const now = currentStep();
    for (let step = now - ACCEPTED_AHEAD; step <= now + ACCEPTED_AHEAD; step++) {
      if (hotp(this.secret, step) === code) this.lastStep = Math.max(this.lastStep, step);
    }
  }
}
