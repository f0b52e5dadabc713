// The stock guard decides, atomically, which entries of a product run win a unit of stock.
// Two implementations share this interface: the Redis Lua batch claim (the default) and an etcd lock
// (the seed's alternative, kept to measure it).
import type { ClaimReply } from '../shared/outcomes.js';
import type { ProductRun, ScriptedRedis } from '../shared/redis/scripts.js';

export interface StockGuard {
  /** Claims stock for every entry of the run, in order; idempotent per ticket. */
  claim(run: ProductRun): Promise<ClaimReply>;
  close(): Promise<void>;
}

/** How long a product's ticket memory lives: longer than any Kafka redelivery can arrive. */
export const CLAIMS_TTL_SECONDS = 7 * 24 * 3600;

/** One Lua call per run ("lua"), or one per entry ("lua-per-entry", the comparison mode). */
export function luaGuard(scripts: ScriptedRedis, perEntry = false): StockGuard {
  return {
    async claim(run) {
      if (!perEntry) return scripts.claimBatch(run, CLAIMS_TTL_SECONDS);
      const merged: ClaimReply = { results: [], remaining: 0, total: 0 };
      for (const entry of run.entries) {
        const one = await scripts.claimBatch({ ...run, entries: [entry] }, CLAIMS_TTL_SECONDS);
        merged.results.push(...one.results);
        merged.remaining = one.remaining;
        merged.total = one.total;
      }
      return merged;
    },
    close: () => Promise.resolve(),
  };
}
