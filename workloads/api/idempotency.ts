// Safe retries: the `Idempotency-Key` request header (IETF httpapi draft). A purchase's ticket is a
// deterministic function of (event, product, buyer, key), so a buyer's retry, on this pod or another,
// names the ticket of the first attempt. Kafka may then carry the purchase twice; the consumer's claim
// script already answers a ticket it has seen with the first outcome (a replay), so a retry can never win
// a second unit, and the hot path pays no extra Redis round trip. This pod also remembers the keyed
// purchases it has in flight or accepted, so a repeat that lands here is answered with the first
// attempt's result without a second Kafka message or a second slot of the per-user limit or throttle.
//
// Unlike the draft, a key reused for another product is not a 422: it is another purchase (the product is
// part of the ticket), since refusing it would need a shared lookup per request.
import { createHash } from 'node:crypto';
import { ApiError } from './errors.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * The key of an Idempotency-Key header, or undefined without one. The draft sends an sf-string
 * ("..."); a bare token, as most clients send, is accepted too. 400 for an empty or over-long key, or
 * one with characters other than visible ASCII (a repeated header, joined with ", ", is one of those).
 */
export function parseIdempotencyKey(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let key = raw;
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    key = key.slice(1, -1).replace(/\\(["\\])/g, '$1');
  }
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !VISIBLE_ASCII.test(key)) {
    throw new ApiError(
      'invalid_request',
      `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters`,
    );
  }
  return key;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The ticket of a keyed purchase: 128 bits of SHA-256 over the purchase and the key, written as a ULID
 * (26 Crockford base32 characters, the first at most 7). A collision with another buyer's ticket, or with
 * a random ULID, is as likely as two random ULIDs colliding.
 */
export function idempotentTicket(event: string, productId: number, buyer: number, key: string): string {
  const digest = createHash('sha256')
    .update(`seckill-ticket\u0000${event}\u0000${productId}\u0000${buyer}\u0000${key}`)
    .digest();
  let value = 0n;
  for (let i = 0; i < 16; i++) value = (value << 8n) | BigInt(digest[i]!);
  let out = '';
  for (let i = 0; i < 26; i++) {
    out = CROCKFORD[Number(value & 31n)]! + out;
    value >>= 5n;
  }
  return out;
}

/**
 * This pod's keyed purchases: ticket -> the first attempt's outcome (a promise while Kafka has not
 * answered). A failed attempt is forgotten, so a retry is tried afresh. Bounded: the oldest is forgotten
 * first (a repeat of a forgotten one goes to Kafka again, where the claim recognises it).
 */
export class KeyedPurchases {
  private readonly attempts = new Map<string, Promise<string>>();
  constructor(private readonly maxEntries = 200_000) {}

  /** The first attempt with this ticket, when this pod has it. */
  get(ticket: string): Promise<string> | undefined {
    return this.attempts.get(ticket);
  }

  /** Remembers an attempt; forgets it again if it fails. */
  remember(ticket: string, attempt: Promise<string>): void {
    if (this.attempts.size >= this.maxEntries) {
      const oldest = this.attempts.keys().next();
      if (!oldest.done) this.attempts.delete(oldest.value);
    }
    this.attempts.set(ticket, attempt);
    attempt.catch(() => {
      if (this.attempts.get(ticket) === attempt) this.attempts.delete(ticket);
    });
  }

  get size(): number {
    return this.attempts.size;
  }
}
