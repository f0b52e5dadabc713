// The seed's etcd-lock stock guard against a real etcd and Redis: concurrent claimers racing for the last
// units never oversell and never grant a buyer twice.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ulid } from 'ulid';
import { createEtcdLockGuard } from '../../workloads/consumer/etcd-lock-guard.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { type Outcome } from '../../workloads/shared/outcomes.js';
import { withScripts } from '../../workloads/shared/redis/scripts.js';
import { createSale } from '../../tools/lib/sale.js';
import { requireEnv, stackEnv } from '../../tools/lib/stack-env.js';

const redis = createRedis(stackEnv.redisUrl(), 'test-etcd-guard');
after(() => redis.quit());

// 4 guards x 5 runs of 25 buyers, runs starting 10 buyers apart: 500 entries of 215 distinct buyers
// (285 repeats). The stock is below the 215 possible winners, so the guards race to sell out.
const RUNS = 20;
const BUYERS_PER_RUN = 25;
const DISTINCT_BUYERS = (RUNS - 1) * 10 + BUYERS_PER_RUN; // 215
const STOCK = 150;

test('four guards racing for the last units sell exactly the stock, each buyer at most once', async () => {
  const sale = await createSale(redis, undefined, [{ id: 1, stock: STOCK, perUserLimit: 1 }]);
  const guards = Array.from({ length: 4 }, () =>
    createEtcdLockGuard([requireEnv('ETCD_ENDPOINTS')], withScripts(redis)),
  );
  try {
    const runs = guards.flatMap((guard, g) =>
      Array.from({ length: 5 }, (_, r) =>
        guard.claim({
          event: sale.name,
          productId: 1,
          perUserLimit: 1,
          // 25 buyers per run, overlapping across guards so the per-user limit is contended too.
          entries: Array.from({ length: BUYERS_PER_RUN }, (_, i) => ({
            ticket: ulid(),
            userId: (g * 5 + r) * 10 + i,
            acceptedAt: 0,
          })),
        }),
      ),
    );
    const results = (await Promise.all(runs)).flatMap((r) => r.results);
    const count = (outcome: Outcome): number => results.filter((r) => r.outcome === outcome).length;
    assert.equal(results.length, RUNS * BUYERS_PER_RUN);
    assert.equal(count('won'), STOCK, 'exactly the stock is won');
    assert.equal(count('won') + count('limit') + count('sold_out'), results.length);
    // Buyers who never won can only have been refused for the sell-out: the race did happen.
    assert.ok(count('sold_out') >= DISTINCT_BUYERS - STOCK, `${count('sold_out')} sold-out answers`);
    assert.equal(await redis.hget(`seckill:{${sale.name}:1}:stock`, 'seckill'), String(STOCK), 'no oversell');
    const buyers = await redis.hgetall(`seckill:{${sale.name}:1}:buyers`);
    assert.equal(Object.keys(buyers).length, STOCK, 'one buyer per unit');
    assert.ok(
      Object.values(buyers).every((b) => b === '1'),
      'no buyer over the limit',
    );
  } finally {
    await Promise.all(guards.map((g) => g.close()));
  }
});
