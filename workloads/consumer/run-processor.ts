// Processes one product run: the entries of consecutive Kafka messages for one product.
//   claim stock (one atomic, idempotent call) -> write the winners' orders (one transaction)
//   -> record every ticket's result -> announce a sell-out.
// Each step retries until done; only then does the caller commit the Kafka offsets.
import type { Pool } from 'mysql2/promise';
import type { RedisClient } from '../shared/redis/client.js';
import type { ProductSpec } from '../shared/catalog.js';
import type { Logger } from '../shared/log.js';
import type { PurchaseBatch, PurchaseEntry } from '../shared/kafka/codec.js';
import type { ConsumerMetrics } from './metrics.js';
import { writeOrders, writeOrdersOneByOne } from './order-writer.js';
import { announceSoldOut, recordResults } from './results.js';
import { retryUntilDone } from './retry.js';
import type { StockGuard } from './stock-guard.js';

/** The sale's terms the consumer needs of a product (the rest of its ProductSpec is the operator's). */
export type ProductTerms = Pick<ProductSpec, 'perUserLimit'>;

export interface RunProcessorDeps {
  redis: RedisClient;
  pool: Pool;
  guard: StockGuard;
  /** The sale's terms for a product (from the catalog the operator preloaded); the total comes from the claim. */
  terms: (event: string, productId: number) => ProductTerms;
  writeMode: 'batch' | 'per-order';
  metrics: ConsumerMetrics;
  log: Logger;
  signal: AbortSignal;
}

export function createRunProcessor(deps: RunProcessorDeps) {
  const { metrics, log, signal } = deps;
  const retry = <T>(step: string, fn: () => Promise<T>): Promise<T> =>
    retryUntilDone(fn, {
      step,
      signal,
      onRetry: (s, attempt, err) => {
        metrics.retries.inc({ step: s });
        log.warn('step failed, retrying', { step: s, attempt, err });
      },
    });

  return async function processRun(batches: PurchaseBatch[]): Promise<void> {
    const { event, productId } = batches[0]!;
    const entries: PurchaseEntry[] = batches.flatMap((b) => b.entries);
    const terms = deps.terms(event, productId);

    const claimTimer = metrics.claimDuration.startTimer();
    const claim = await retry('claim', () =>
      deps.guard.claim({ event, productId, perUserLimit: terms.perUserLimit, entries }),
    );
    claimTimer();
    metrics.entriesPerClaim.observe(entries.length);
    claim.results.forEach((r) => metrics.claimOutcomes.inc({ outcome: r.outcome, replay: String(r.replay) }));

    // A replayed winner is written again: the first delivery may have crashed before MySQL had it.
    const winners = entries.filter((_, i) => claim.results[i]!.outcome === 'won');
    const write = deps.writeMode === 'batch' ? writeOrders : writeOrdersOneByOne;
    const insertTimer = metrics.orderInsertDuration.startTimer();
    const created = await retry('orders', () =>
      write(deps.pool, { event, productId, total: claim.total, winners }),
    );
    insertTimer();
    metrics.ordersCreated.inc(created);

    await retry('results', () => recordResults(deps.redis, entries, claim.results));
    if (claim.remaining <= 0 && claim.results.some((r) => !r.replay)) {
      await retry('announce', () => announceSoldOut(deps.redis, event, productId));
      metrics.soldOut.inc();
    }
  };
}
