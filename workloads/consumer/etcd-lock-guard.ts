// The seed's alternative stock guard: a lease-backed etcd mutex per product (TTL 10 s, as in the seed)
// around plain Redis reads and one MULTI write. Correct while every writer takes the lock; kept so its
// cost can be measured against the Lua claim (docs/BENCHMARKS.md). The Lua claim is the default.
import { Etcd3, EtcdLockFailedError, type Lock } from 'etcd3';
import type { RedisClient } from '../shared/redis/client.js';
import { keys } from '../shared/keys.js';
import { runKey } from '../shared/names.js';
import type { ProductRun, ScriptedRedis } from '../shared/redis/scripts.js';
import {
  decodeOutcome,
  encodeOutcome,
  type ClaimReply,
  type ClaimResult,
  type Outcome,
} from '../shared/outcomes.js';
import { CLAIMS_TTL_SECONDS, type StockGuard } from './stock-guard.js';

const LOCK_TTL_SECONDS = 10;

export function createEtcdLockGuard(endpoints: string[], { redis }: ScriptedRedis): StockGuard {
  const etcd = new Etcd3({ hosts: endpoints });
  return {
    async claim(run) {
      const lock = etcd.lock(`seckill/locks/${runKey(run.event, run.productId)}`).ttl(LOCK_TTL_SECONDS);
      await acquire(lock);
      try {
        return await claimUnderLock(redis, run);
      } finally {
        await lock.release();
      }
    },
    close: () => Promise.resolve(etcd.close()),
  };
}

/** etcd3's lock is a try-lock: wait and try again while another consumer holds it. */
async function acquire(lock: Lock): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await lock.acquire();
      return;
    } catch (err) {
      if (!(err instanceof EtcdLockFailedError)) throw err;
      await new Promise((r) => setTimeout(r, Math.min(50, 1 + attempt * 2)));
    }
  }
}

/** The claim script's logic, as separate Redis commands: safe only because the lock is held. */
async function claimUnderLock(redis: RedisClient, run: ProductRun): Promise<ClaimReply> {
  const stockKey = keys.stock(run.event, run.productId);
  const buyersKey = keys.buyers(run.event, run.productId);
  const claimsKey = keys.claims(run.event, run.productId);
  const [totalRaw, soldRaw] = await redis.hmget(stockKey, 'total', 'seckill');
  if (totalRaw === null) throw new Error(`NOSTOCK no stock hash at ${stockKey} (event not preloaded)`);
  const total = Number(totalRaw);
  let sold = Number(soldRaw ?? 0);
  const tickets = run.entries.map((e) => e.ticket);
  const users = [...new Set(run.entries.map((e) => String(e.userId)))];
  const stored = await redis.hmget(claimsKey, ...tickets);
  const firsts = new Map(
    tickets.flatMap((t, i) => (stored[i] ? [[t, storedOutcome(stored[i])] as const] : [])),
  );
  const bought = new Map(users.map((u, i) => [u, i]));
  const boughtCounts = (await redis.hmget(buyersKey, ...users)).map((v) => Number(v ?? 0));

  const tx = redis.multi();
  const results = run.entries.map((entry): ClaimResult => {
    const first = firsts.get(entry.ticket);
    if (first) return { outcome: first, replay: true };
    const u = bought.get(String(entry.userId))!;
    let outcome: Outcome = 'sold_out';
    if (sold < total) {
      if (boughtCounts[u]! >= run.perUserLimit) outcome = 'limit';
      else {
        outcome = 'won';
        sold++;
        boughtCounts[u]!++;
        tx.hset(buyersKey, String(entry.userId), boughtCounts[u]!);
      }
    }
    firsts.set(entry.ticket, outcome); // a ticket repeated within the run replays its first outcome
    tx.hset(claimsKey, entry.ticket, encodeOutcome(outcome));
    return { outcome, replay: false };
  });
  tx.hset(stockKey, 'seckill', sold).expire(claimsKey, CLAIMS_TTL_SECONDS);
  await tx.exec();
  return { results, remaining: total - sold, total };
}

/** A ticket's first outcome as the claims hash holds it; refused, like the claim script's reply, if unknown. */
function storedOutcome(code: string): Outcome {
  const outcome = decodeOutcome(code);
  if (outcome === undefined) throw new Error(`claims hash holds unknown outcome ${JSON.stringify(code)}`);
  return outcome;
}
