/** The messages between solveChallenge (index.ts) and its worker (worker.ts). */
export interface SolveRequest {
  token: string;
  difficulty: number;
}

export type SolveMessage =
  | { type: "progress"; tried: number; expected: number }
  | { type: "solved"; nonce: string; tried: number; expected: number }
  | { type: "failed"; message: string };
