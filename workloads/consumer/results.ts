// After the orders are durable, each ticket's result (its outcome and its buyer) goes where the front
// door's ticket endpoint reads it, and a product that ran out is announced so every front door stops accepting it.
import type { RedisClient } from '../shared/redis/client.js';
import type { PurchaseEntry } from '../shared/kafka/codec.js';
import { keys } from '../shared/keys.js';
import { runKey } from '../shared/names.js';
import { encodeResult, type ClaimResult } from '../shared/outcomes.js';

/** Results are kept a day: long enough for any buyer to poll. */
export const RESULT_TTL_SECONDS = 24 * 3600;

export async function recordResults(
  redis: RedisClient,
  entries: PurchaseEntry[],
  results: ClaimResult[],
): Promise<void> {
  // One SET per ticket, all at once: each ticket's key is its own slot on a Redis Cluster, where one
  // explicit pipeline could not hold them (a single Redis auto-pipelines them; a Cluster client sends each
  // on its own so that each follows its slot: client.ts).
  await Promise.all(
    entries.map((entry, i) =>
      redis.set(
        keys.result(entry.ticket),
        encodeResult(results[i]!.outcome, entry.userId),
        'EX',
        RESULT_TTL_SECONDS,
      ),
    ),
  );
}

export async function announceSoldOut(redis: RedisClient, event: string, productId: number): Promise<void> {
  await redis.publish(keys.soldOutChannel(), runKey(event, productId));
}
