// What a stock claim decides for one purchase entry, and how it is written down for the buyer.

/** W won, S sold out, L per-user limit reached. */
export type Outcome = 'W' | 'S' | 'L';

export interface ClaimResult {
  outcome: Outcome;
  /** True when the ticket had been claimed before (a Kafka redelivery): nothing changed this time. */
  replay: boolean;
}

export interface ClaimReply {
  results: ClaimResult[];
  /** Stock left after the claim. */
  remaining: number;
  /** The product's stock total at the time of the claim (the operator may raise it during a sale). */
  total: number;
}

/** Parses the claim script's reply { remaining, total, 'W'|'S'|'L'|'RW'|'RS'|'RL', ... }. */
export function parseClaimReply(reply: unknown, expected: number): ClaimReply {
  if (!Array.isArray(reply) || reply.length !== expected + 2) {
    throw new Error(
      `claim script returned ${JSON.stringify(reply)?.slice(0, 200)}, expected ${expected} outcomes`,
    );
  }
  const [remaining, total, ...codes] = reply as unknown[];
  if (typeof remaining !== 'number' || typeof total !== 'number') {
    throw new Error('claim script returned no remaining or total count');
  }
  const results = codes.map((code): ClaimResult => {
    switch (code) {
      case 'W':
      case 'S':
      case 'L':
        return { outcome: code, replay: false };
      case 'RW':
      case 'RS':
      case 'RL':
        return { outcome: code[1] as Outcome, replay: true };
      default:
        throw new Error(`claim script returned unknown outcome ${JSON.stringify(code)}`);
    }
  });
  return { results, remaining, total };
}
