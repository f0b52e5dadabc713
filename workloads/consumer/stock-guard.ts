// The stock guard decides, atomically, which entries of a product run win a unit of stock.
// Two implementations share this interface: the Redis Lua batch claim (the default) and an etcd lock
// (the seed's alternative, kept to measure it).
import type { PurchaseEntry } from '../shared/kafka/codec.js';
import { keys } from '../shared/keys.js';
import type { ScriptedRedis } from '../shared/redis/scripts.js';
import { parseClaimReply, type ClaimReply } from './outcomes.js';

export interface ProductRun {
  event: string;
  productId: number;
  perUserLimit: number;
  entries: PurchaseEntry[];
}

export interface StockGuard {
  /** Claims stock for every entry of the run, in order; idempotent per ticket. */
  claim(run: ProductRun): Promise<ClaimReply>;
  close(): Promise<void>;
}

/** How long a product's ticket memory lives: longer than any Kafka redelivery can arrive. */
export const CLAIMS_TTL_SECONDS = 7 * 24 * 3600;

/** One Lua call per run ("lua"), or one per entry ("lua-per-entry", the comparison mode). */
export function luaGuard(scripts: ScriptedRedis, perEntry = false): StockGuard {
  const claimOnce = async (run: ProductRun, entries: PurchaseEntry[]): Promise<ClaimReply> => {
    const args: (string | number)[] = [run.perUserLimit, CLAIMS_TTL_SECONDS];
    for (const e of entries) args.push(e.ticket, e.userId);
    const reply = await scripts.run(
      'claimBatch',
      [
        keys.stock(run.event, run.productId),
        keys.buyers(run.event, run.productId),
        keys.claims(run.event, run.productId),
      ],
      args,
    );
    return parseClaimReply(reply, entries.length);
  };
  return {
    async claim(run) {
      if (!perEntry) return claimOnce(run, run.entries);
      const merged: ClaimReply = { results: [], remaining: 0, total: 0 };
      for (const entry of run.entries) {
        const one = await claimOnce(run, [entry]);
        merged.results.push(...one.results);
        merged.remaining = one.remaining;
        merged.total = one.total;
      }
      return merged;
    },
    close: () => Promise.resolve(),
  };
}
