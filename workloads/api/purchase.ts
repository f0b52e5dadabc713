// The purchase use case, free of HTTP: a parsed request in, a ticket (or an ApiError) out.
//   catalog checks (no I/O) -> per-user limit and throttle (memory) -> ticket -> sink (Kafka) -> ticket.
// Only the last step does I/O, so everything that cannot win is refused at once, costing no Redis or Kafka.
import type { Redis } from 'ioredis';
import { keys } from '../shared/keys.js';
import { decodeOutcome, type Outcome } from '../shared/outcomes.js';
import { BatcherClosedError, BatcherFullError } from './batcher.js';
import type { CatalogCheck } from './catalog-cache.js';
import { ApiError } from './errors.js';
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

export class PurchaseService {
  private readonly now: () => number;
  constructor(private readonly deps: PurchaseDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Returns the ticket once Kafka has the purchase; throws ApiError otherwise. */
  async purchase(request: PurchaseRequest): Promise<string> {
    const { catalog, sink, throttle, limits } = this.deps;
    if (!this.deps.accepting())
      throw new ApiError('unavailable', 'this server is shutting down; retry', 1000);
    const now = this.now();
    const { event, productId, userId } = request;
    const check = catalog.check(event, productId, now);
    if (!check.ok) throw REFUSALS[check.reason]();
    if (!limits.reserve(event, productId, userId, check.product.spec.perUserLimit)) {
      throw new ApiError(
        'limit',
        `you already hold the per-user limit of ${check.product.spec.perUserLimit} for this product`,
      );
    }
    const waitMs = throttle.acquire(userId, now);
    if (waitMs > 0) {
      limits.release(event, productId, userId);
      throw new ApiError('throttled', 'too many requests from this user; retry later', waitMs);
    }
    const ticket = this.deps.newTicket();
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

/** Reads a ticket's final result as the consumer wrote it (an outcome code, shared/outcomes.ts). */
export class TicketService {
  constructor(private readonly redis: Redis) {}

  async status(ticket: string): Promise<TicketStatus> {
    let value: string | null;
    try {
      value = await this.redis.get(keys.result(ticket));
    } catch {
      throw new ApiError('unavailable', 'ticket results are unavailable; retry', 1000);
    }
    return ticketStatus(ticket, value);
  }
}

export function ticketStatus(ticket: string, value: string | null): TicketStatus {
  const outcome = decodeOutcome(value);
  // Not written yet (or an unknown ticket: indistinguishable without a lookup we refuse to pay for).
  if (outcome === undefined) return { ticket, status: 'pending' };
  if (outcome === 'won') return { ticket, status: 'won' };
  return { ticket, status: 'lost', reason: outcome };
}
