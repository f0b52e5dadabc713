// After the orders are durable, each ticket's result (its outcome and its buyer) goes where the front
// door's ticket endpoint reads it, and a product that ran out is announced so every front door stops accepting it.
import type { Redis } from 'ioredis';
import type { PurchaseEntry } from '../shared/kafka/codec.js';
import { keys } from '../shared/keys.js';
import { runKey } from '../shared/names.js';
import { encodeResult, type ClaimResult } from '../shared/outcomes.js';

/** Results are kept a day: long enough for any buyer to poll. */
export const RESULT_TTL_SECONDS = 24 * 3600;

export async function recordResults(
  redis: Redis,
  entries: PurchaseEntry[],
  results: ClaimResult[],
): Promise<void> {
  const pipeline = redis.pipeline();
  entries.forEach((entry, i) => {
    pipeline.set(
      keys.result(entry.ticket),
      encodeResult(results[i]!.outcome, entry.userId),
      'EX',
      RESULT_TTL_SECONDS,
    );
  });
  const replies = (await pipeline.exec()) ?? [];
  const failed = replies.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
}

export async function announceSoldOut(redis: Redis, event: string, productId: number): Promise<void> {
  await redis.publish(keys.soldOutChannel(), runKey(event, productId));
}
