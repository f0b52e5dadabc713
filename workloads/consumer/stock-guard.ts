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

/**
 * Durable claims: a claim a Redis master acknowledged but had not replicated when it died would vanish
 * with it (the promoted replica never saw it), while its winners' orders were already written. So after
 * each claim WAIT until `replicas` replicas have it; if they do not within `timeoutMs`, the claim step
 * fails and is retried (the claim is idempotent: the retry replays it), and nothing acts on it meanwhile.
 */
export interface ClaimDurability {
  /** Replicas that must have a claim before it is acted on; 0 = do not wait (a single Redis). */
  replicas: number;
  timeoutMs: number;
  /** Observes each wait: its seconds and whether enough replicas confirmed. */
  observe?: (seconds: number, confirmed: boolean) => void;
}

/** Thrown when fewer replicas than required confirmed a claim in time: the step is retried. */
export class ClaimNotReplicated extends Error {
  override readonly name = 'ClaimNotReplicated';
}

async function durableClaim(
  scripts: ScriptedRedis,
  run: ProductRun,
  d: ClaimDurability,
): Promise<ClaimReply> {
  if (d.replicas <= 0) return scripts.claimBatch(run, CLAIMS_TTL_SECONDS);
  const started = performance.now();
  const { reply, replicas } = await scripts.claimBatchReplicated(run, CLAIMS_TTL_SECONDS, d);
  const confirmed = replicas >= d.replicas;
  d.observe?.((performance.now() - started) / 1000, confirmed);
  if (!confirmed) {
    throw new ClaimNotReplicated(
      `claim confirmed by ${replicas} of ${d.replicas} replica(s) within ${d.timeoutMs} ms: retrying before acting on it`,
    );
  }
  return reply;
}

/** One Lua call per run ("lua"), or one per entry ("lua-per-entry", the comparison mode). */
export function luaGuard(
  scripts: ScriptedRedis,
  perEntry = false,
  durability: ClaimDurability = { replicas: 0, timeoutMs: 0 },
): StockGuard {
  return {
    async claim(run) {
      if (!perEntry) return durableClaim(scripts, run, durability);
      const merged: ClaimReply = { results: [], remaining: 0, total: 0 };
      for (const entry of run.entries) {
        const one = await durableClaim(scripts, { ...run, entries: [entry] }, durability);
        merged.results.push(...one.results);
        merged.remaining = one.remaining;
        merged.total = one.total;
      }
      return merged;
    },
    close: () => Promise.resolve(),
  };
}
