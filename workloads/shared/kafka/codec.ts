// The Kafka message format shared by the front door (producer) and the consumer.
// One message = one product's batch; key = product id (per-product ordering and affinity).
// The value is compact JSON with a schema version `v`, so the format can evolve: a consumer
// rejects (dead-letters) versions it does not know instead of guessing.
import { EVENT_NAME_PATTERN, MAX_PRODUCT_ID, MAX_USER_ID, TICKET_PATTERN } from '../names.js';

export const SCHEMA_VERSION = 1;

export interface PurchaseEntry {
  ticket: string;
  userId: number;
  /** When the front door accepted the request (ms since epoch): end-to-end latency metrics. */
  acceptedAt: number;
}

export interface PurchaseBatch {
  event: string;
  productId: number;
  entries: PurchaseEntry[];
}

/** Wire shape: entries as [ticket, userId, acceptedAt] tuples keep a 100-entry batch small. */
interface WireBatchV1 {
  v: 1;
  e: string;
  p: number;
  n: [string, number, number][];
}

export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

export function encodeBatch(batch: PurchaseBatch): Buffer {
  const wire: WireBatchV1 = {
    v: SCHEMA_VERSION,
    e: batch.event,
    p: batch.productId,
    n: batch.entries.map((x) => [x.ticket, x.userId, x.acceptedAt]),
  };
  return Buffer.from(JSON.stringify(wire));
}

export const messageKey = (productId: number): string => String(productId);

/** Decodes and validates one message; throws DecodeError with the reason for the dead-letter header. */
export function decodeBatch(key: Buffer | null, value: Buffer | null): PurchaseBatch {
  if (!value) throw new DecodeError('empty value');
  let wire: unknown;
  try {
    wire = JSON.parse(value.toString('utf8'));
  } catch {
    throw new DecodeError('value is not JSON');
  }
  if (typeof wire !== 'object' || wire === null) throw new DecodeError('value is not an object');
  const w = wire as Partial<Record<keyof WireBatchV1, unknown>>;
  if (w.v !== SCHEMA_VERSION) throw new DecodeError(`unknown schema version ${JSON.stringify(w.v)}`);
  if (typeof w.e !== 'string' || !EVENT_NAME_PATTERN.test(w.e)) throw new DecodeError('bad event name');
  if (!isInt(w.p, 1, MAX_PRODUCT_ID)) throw new DecodeError('bad product id');
  if (key && key.toString() !== String(w.p)) throw new DecodeError('key does not match product id');
  if (!Array.isArray(w.n) || w.n.length === 0) throw new DecodeError('no entries');
  const entries = w.n.map((tuple: unknown, i): PurchaseEntry => {
    if (!Array.isArray(tuple) || tuple.length !== 3) throw new DecodeError(`entry ${i} is not a tuple`);
    const [ticket, userId, acceptedAt] = tuple as unknown[];
    if (typeof ticket !== 'string' || !TICKET_PATTERN.test(ticket))
      throw new DecodeError(`entry ${i}: bad ticket`);
    if (!isInt(userId, 1, MAX_USER_ID)) throw new DecodeError(`entry ${i}: bad user id`);
    if (!isInt(acceptedAt, 0, Number.MAX_SAFE_INTEGER)) throw new DecodeError(`entry ${i}: bad time`);
    return { ticket, userId, acceptedAt };
  });
  return { event: w.e, productId: w.p, entries };
}

function isInt(n: unknown, min: number, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
}
