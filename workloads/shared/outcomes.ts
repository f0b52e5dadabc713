// What a stock claim decides for one purchase entry, and the one place TypeScript writes and reads its
// codes. A claim's outcome is stored as one letter, W (won), S (sold out) or L (per-user limit reached): in
// the claims hash (ticket -> first outcome, keys.claims) and in the ticket's result (keys.result), which the
// front door's ticket endpoint reads. The claim script answers R + the first code (RW, RS, RL) for a ticket
// claimed before. The Lua scripts (redis/lua/claim-batch.lua) write the same letters and name this module.

/** The outcomes; also the `outcome` label of the consumer's claim metric and the ticket endpoint's reason. */
export const OUTCOMES = ['won', 'sold_out', 'limit'] as const;
export type Outcome = (typeof OUTCOMES)[number];

const CODES = { won: 'W', sold_out: 'S', limit: 'L' } as const satisfies Record<Outcome, string>;
export type OutcomeCode = (typeof CODES)[Outcome];

const BY_CODE: ReadonlyMap<unknown, Outcome> = new Map(OUTCOMES.map((o) => [CODES[o], o]));
/** The claim script's prefix for a ticket claimed before (a Kafka redelivery). */
const REPLAY_PREFIX = 'R';

/** The stored code of an outcome. */
export function encodeOutcome(outcome: Outcome): OutcomeCode {
  return CODES[outcome];
}

/** The outcome a stored code stands for; undefined for anything else (nothing stored yet, or garbage). */
export function decodeOutcome(code: unknown): Outcome | undefined {
  return BY_CODE.get(code);
}

/**
 * A ticket's result as the consumer stores it (keys.result): the outcome code and the buyer, "W:42", so
 * the ticket endpoint shows a result to its owner only. A bare code ("W") is a result written before
 * owners were recorded: its owner is unknown.
 */
export interface TicketResult {
  outcome: Outcome;
  owner?: number;
}

export function encodeResult(outcome: Outcome, owner: number): string {
  return `${CODES[outcome]}:${owner}`;
}

/** The stored result; undefined for nothing stored yet, or garbage. */
export function decodeResult(value: unknown): TicketResult | undefined {
  if (typeof value !== 'string') return undefined;
  const colon = value.indexOf(':');
  if (colon < 0) {
    const outcome = decodeOutcome(value);
    return outcome === undefined ? undefined : { outcome };
  }
  const outcome = decodeOutcome(value.slice(0, colon));
  const owner = Number(value.slice(colon + 1));
  if (outcome === undefined || !Number.isSafeInteger(owner) || owner < 1) return undefined;
  return { outcome, owner };
}

export interface ClaimResult {
  outcome: Outcome;
  /** True when the ticket had been claimed before (a Kafka redelivery): nothing changed this time. */
  replay: boolean;
}

/** One code of the claim script's reply: W, S, L, or a replay RW, RS, RL; undefined for anything else. */
export function decodeClaimCode(code: unknown): ClaimResult | undefined {
  const replay = typeof code === 'string' && code.length === 2 && code.startsWith(REPLAY_PREFIX);
  const outcome = decodeOutcome(replay ? code.slice(REPLAY_PREFIX.length) : code);
  return outcome === undefined ? undefined : { outcome, replay };
}

export interface ClaimReply {
  results: ClaimResult[];
  /** Stock left after the claim. */
  remaining: number;
  /** The product's stock total at the time of the claim (the operator may raise it during a sale). */
  total: number;
}

/** Parses the claim script's reply { remaining, total, code, code, ... } (codes as decodeClaimCode reads). */
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
    const result = decodeClaimCode(code);
    if (result === undefined)
      throw new Error(`claim script returned unknown outcome ${JSON.stringify(code)}`);
    return result;
  });
  return { results, remaining, total };
}
