/**
 * What screens call to solve auth's registration challenge: the search runs in a Web Worker
 * (worker.ts), reports progress a few times a second, and stops at once when `signal` aborts.
 */
import type { SolveMessage, SolveRequest } from "./protocol";
import type { Progress } from "./solver";

export type { Progress } from "./solver";

/**
 * The nonce that solves `token` at `difficulty`, found in a worker. Rejects with an AbortError
 * (DOMException) when `signal` aborts, and terminates the worker either way once done.
 */
export function solveChallenge(
  token: string,
  difficulty: number,
  onProgress?: (progress: Progress) => void,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "proof-of-work" });
    const finish = () => {
      worker.terminate();
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      finish();
      reject(abortError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.onmessage = (event: MessageEvent<SolveMessage>) => {
      const message = event.data;
      if (message.type === "progress") {
        onProgress?.({ tried: message.tried, expected: message.expected });
      } else if (message.type === "solved") {
        onProgress?.({ tried: message.tried, expected: message.expected });
        finish();
        resolve(message.nonce);
      } else {
        finish();
        reject(new Error(`The proof-of-work could not be solved: ${message.message}`));
      }
    };
    worker.onerror = (event) => {
      finish();
      reject(new Error(`The proof-of-work worker failed${event.message ? `: ${event.message}` : ""}.`));
    };
    const request: SolveRequest = { token, difficulty };
    worker.postMessage(request);
  });
}

function abortError(): DOMException {
  return new DOMException("The proof-of-work was cancelled.", "AbortError");
}
