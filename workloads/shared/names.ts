// The names and ids the workloads and the operator pass each other, and the rules they obey: one place
// for the patterns and ranges the Kafka codec, the front door's validation, the catalog and the operator
// check against, and for the run key built from an event name and a product id.

/** A ticket is a ULID: 26 characters of Crockford base32 (no I, L, O, U). */
export const TICKET_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * An event name is the SeckillEvent's object name, a DNS label (the CRD's CEL rule says the same): it
 * names Redis hash tags, the Kafka topic and consumer group and a label value, and it has no "/".
 */
export const EVENT_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A Kafka topic name by Kafka's own rule: its legal characters, at most 249 of them. */
export const TOPIC_NAME_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;

/** Product ids are 1 .. 2^31-1 (the CRD's bounds; the Kafka message key). */
export const MAX_PRODUCT_ID = 2 ** 31 - 1;
/** User ids are 1 .. 2^53-1: any positive integer JSON carries exactly. */
export const MAX_USER_ID = Number.MAX_SAFE_INTEGER;

/** One product of one event: what a sold-out announcement names and what a run or a batch is grouped by. */
export interface RunId {
  event: string;
  productId: number;
}

/**
 * The run key "<event>/<productId>": the sold-out announcement's message, the Batcher's and the shard
 * pool's grouping key. Unambiguous because an event name has no "/" (EVENT_NAME_PATTERN).
 */
export const runKey = (event: string, productId: number): string => `${event}/${productId}`;

/** Parses a run key back (the last "/" splits it); undefined when malformed. */
export function parseRunKey(key: string): RunId | undefined {
  const slash = key.lastIndexOf('/');
  if (slash <= 0) return undefined;
  const productId = Number(key.slice(slash + 1));
  if (!Number.isSafeInteger(productId) || productId < 1) return undefined;
  return { event: key.slice(0, slash), productId };
}
