/**
 * The proof-of-work search, off the main thread so the page stays responsive while it runs.
 * One challenge per worker: the search is a tight synchronous loop, so cancelling is done by the
 * page terminating the worker (index.ts), not by a message this loop would never read.
 */
import type { SolveMessage, SolveRequest } from "./protocol";
import { solve } from "./solver";

// The project's types are the DOM's (a worker's global is not a Window): only what this file uses.
// (A `/// <reference lib="webworker" />` would change `self` for every file of the project.)
const scope = self as unknown as {
  postMessage(message: SolveMessage): void;
  onmessage: ((event: MessageEvent<SolveRequest>) => void) | null;
};

function post(message: SolveMessage): void {
  scope.postMessage(message);
}

scope.onmessage = (event) => {
  const { token, difficulty } = event.data;
  try {
    let last = { tried: 0, expected: 2 ** difficulty };
    const nonce = solve(token, difficulty, {
      onProgress: (progress) => {
        last = progress;
        post({ type: "progress", ...progress });
      },
    });
    post({ type: "solved", nonce, ...last });
  } catch (error) {
    post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  }
};
