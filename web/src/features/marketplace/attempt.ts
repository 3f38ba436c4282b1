/**
 * Idempotency keys for checkout and pay. The API stores its first real answer under the key, so a
 * retry with the same key cannot place a second order or charge twice. One key per attempt:
 * - pressing the button again after no answer (network failure, gateway 5xx) is a retry of the
 *   same attempt: same key;
 * - once the server answered (success, refusal, declined card), the next press is a new attempt;
 * - a changed request (another address, another card) is a new attempt too: the API answers 422
 *   to a key reused with another body.
 */
import { ApiError } from "../../api/client";

export class Attempt {
  private current: { key: string; body: string } | null = null;

  constructor(private readonly newKey: () => string = () => crypto.randomUUID()) {}

  /** The key to send with this request body. */
  keyFor(body: unknown): string {
    const text = JSON.stringify(body);
    if (!this.current || this.current.body !== text) this.current = { key: this.newKey(), body: text };
    return this.current.key;
  }

  /** Send `request` under this attempt's key; forget the key once the server has answered. */
  async run<T>(body: unknown, request: (key: string) => Promise<T>): Promise<T> {
    const key = this.keyFor(body);
    try {
      const answer = await request(key);
      this.current = null;
      return answer;
    } catch (error) {
      if (answered(error)) this.current = null;
      throw error;
    }
  }
}

/** Did the server decide (any 4xx), rather than fail to answer (network, 5xx, gateway timeout)? */
function answered(error: unknown): boolean {
  return error instanceof ApiError && error.status >= 400 && error.status < 500;
}
