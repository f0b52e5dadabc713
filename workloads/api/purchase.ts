// The purchase use case, free of HTTP: a verified buyer's request in, a ticket (or an ApiError) out.
//   a keyed repeat this pod has seen -> the first attempt's answer (no further step)
//   catalog checks (no I/O) -> per-user limit and throttle (memory) -> ticket -> sink (Kafka) -> ticket.
// Only the last step does I/O, so everything that cannot win is refused at once, costing no Redis or Kafka.
import type { RedisClient } from '../shared/redis/client.js';
import { keys } from '../shared/keys.js';
import { decodeResult, type Outcome } from '../shared/outcomes.js';
import { BatcherClosedError, BatcherFullError } from './batcher.js';
import type { CatalogCheck } from './catalog-cache.js';
import { ApiError } from './errors.js';
import { idempotentTicket, KeyedPurchases } from './idempotency.js';
import type { PurchaseSink } from './purchase-producer.js';
import type { LimitGuard, UserThrottle } from './throttle.js';
import type { PurchaseRequest } from './validation.js';

export interface PurchaseDeps {
  catalog: { check(event: string, productId: number, now: number): CatalogCheck };
  sink: PurchaseSink;
  throttle: UserThrottle;
  limits: LimitGuard;
  /** A new ticket id, unique across pods (ULID). */
  newTicket: () => string;
  /** False while draining: new purchases get 503. */
  accepting: () => boolean;
  /** This pod's keyed purchases (Idempotency-Key); default: a fresh memory. */
  keyed?: KeyedPurchases;
  now?: () => number;
}

const REFUSALS = {
  unknown_event: () => new ApiError('unknown_event', 'no such event'),
  unknown_product: () => new ApiError('unknown_product', 'the event has no such product'),
  not_started: () => new ApiError('not_started', 'the sale has not started yet'),
  ended: () => new ApiError('ended', 'the sale has ended'),
  sold_out: () => new ApiError('sold_out', 'the product is sold out'),
} as const;

/** What the client is told when the sink refused or failed a purchase (the ticket it was given). */
export function submitFailure(err: unknown, ticket?: string): ApiError {
  if (err instanceof BatcherFullError) {
    return new ApiError('busy', 'too many purchases in flight; retry shortly', err.retryAfterMs);
  }
  if (err instanceof BatcherClosedError) {
    return new ApiError('unavailable', 'this server is shutting down; retry', 1000);
  }
  if (err instanceof ApiError) return err;
  // A Kafka send that failed after its retries (broker down, timeout): nothing of it is acknowledged, but
  // a timed-out send may still have been written, so the answer carries the ticket to poll.
  return new ApiError('unavailable', 'the order queue is unavailable; retry', 1000, ticket);
}

/** A refusal of a keyed purchase names its ticket: an earlier attempt with the key may have got through. */
const withTicket = (err: ApiError, ticket: string | undefined): ApiError =>
  ticket === undefined ? err : new ApiError(err.code, err.message, err.retryAfterMs, ticket);

export class PurchaseService {
  private readonly now: () => number;
  private readonly keyed: KeyedPurchases;
  constructor(private readonly deps: PurchaseDeps) {
    this.now = deps.now ?? Date.now;
    this.keyed = deps.keyed ?? new KeyedPurchases();
  }

  /**
   * The refusal a purchase of this product gets whoever buys (unknown, outside the window, sold out), from
   * memory; undefined when it may win. The front door asks before it pays for a token's signature check.
   */
  refusalForAnyone(event: string, productId: number): ApiError | undefined {
    const check = this.deps.catalog.check(event, productId, this.now());
    return check.ok ? undefined : REFUSALS[check.reason]();
  }

  /**
   * Returns the ticket once Kafka has the purchase; throws ApiError otherwise. With an idempotency key the
   * ticket is the key's (idempotency.ts), and a repeat this pod has seen gets the first attempt's answer.
   */
  purchase(request: PurchaseRequest, idempotencyKey?: string): Promise<string> {
    if (!this.deps.accepting()) {
      return Promise.reject(new ApiError('unavailable', 'this server is shutting down; retry', 1000));
    }
    if (idempotencyKey === undefined) return this.attempt(request, undefined);
    const ticket = idempotentTicket(request.event, request.productId, request.userId, idempotencyKey);
    const earlier = this.keyed.get(ticket);
    if (earlier !== undefined) return earlier;
    const attempt = this.attempt(request, ticket);
    this.keyed.remember(ticket, attempt);
    return attempt;
  }

  private async attempt(request: PurchaseRequest, keyedTicket: string | undefined): Promise<string> {
    const { catalog, sink, throttle, limits } = this.deps;
    const now = this.now();
    const { event, productId, userId } = request;
    const check = catalog.check(event, productId, now);
    if (!check.ok) {
      const refusal = REFUSALS[check.reason]();
      throw check.reason === 'sold_out' || check.reason === 'ended'
        ? withTicket(refusal, keyedTicket)
        : refusal;
    }
    if (!limits.reserve(event, productId, userId, check.product.spec.perUserLimit)) {
      const limit = check.product.spec.perUserLimit;
      const refusal = new ApiError(
        'limit',
        `you already hold the per-user limit of ${limit} for this product`,
      );
      throw withTicket(refusal, keyedTicket);
    }
    const waitMs = throttle.acquire(userId, now);
    if (waitMs > 0) {
      limits.release(event, productId, userId);
      throw new ApiError('throttled', 'too many requests from this user; retry later', waitMs);
    }
    const ticket = keyedTicket ?? this.deps.newTicket();
    try {
      await sink.submit({ event, topic: check.event.spec.topic, productId, ticket, userId, acceptedAt: now });
    } catch (err) {
      // No ticket was handed out: give the buyer's slots back so a retry is judged afresh.
      limits.release(event, productId, userId);
      throttle.release(userId);
      throw submitFailure(err, ticket);
    }
    return ticket;
  }
}

export interface TicketStatus {
  ticket: string;
  status: 'won' | 'lost' | 'pending';
  reason?: Exclude<Outcome, 'won'>;
}

/** Reads a ticket's final result as the consumer wrote it (outcome and owner, shared/outcomes.ts). */
export class TicketService {
  constructor(private readonly redis: RedisClient) {}

  /** The ticket's status for `buyer` (undefined: anyone, AUTH_MODE=none); another buyer's ticket is a 404. */
  async status(ticket: string, buyer: number | undefined): Promise<TicketStatus> {
    let value: string | null;
    try {
      value = await this.redis.get(keys.result(ticket));
    } catch {
      throw new ApiError('unavailable', 'ticket results are unavailable; retry', 1000);
    }
    return ticketStatus(ticket, value, buyer);
  }
}

export function ticketStatus(ticket: string, value: string | null, buyer?: number): TicketStatus {
  const result = decodeResult(value);
  // Not written yet (or an unknown ticket: indistinguishable without a lookup we refuse to pay for).
  if (result === undefined) return { ticket, status: 'pending' };
  // Another buyer's result is none of this buyer's business: the same answer as a path that is not there.
  if (buyer !== undefined && result.owner !== undefined && result.owner !== buyer) {
    throw new ApiError('unknown_ticket', 'no such ticket');
  }
  const { outcome } = result;
  if (outcome === 'won') return { ticket, status: 'won' };
  return { ticket, status: 'lost', reason: outcome };
}
