// The seed's etcd-lock stock guard against a real etcd and Redis: concurrent claimers never oversell.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ulid } from 'ulid';
import { createEtcdLockGuard } from '../../workloads/consumer/etcd-lock-guard.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { withScripts } from '../../workloads/shared/redis/scripts.js';
import { createSale } from '../helpers/sale.js';
import { requireEnv, stackEnv } from '../helpers/stack-env.js';

const redis = createRedis(stackEnv.redisUrl(), 'test-etcd-guard');
after(() => redis.quit());

test('four guards racing on one product grant each buyer once and keep the counts exact', async () => {
  const sale = await createSale(redis, undefined, [{ id: 1, stock: 300, perUserLimit: 1 }]);
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
          entries: Array.from({ length: 25 }, (_, i) => ({
            ticket: ulid(),
            userId: (g * 5 + r) * 10 + i,
            acceptedAt: 0,
          })),
        }),
      ),
    );
    const replies = await Promise.all(runs);
    const won = replies.flatMap((r) => r.results).filter((r) => r.outcome === 'won').length;
    const limited = replies.flatMap((r) => r.results).filter((r) => r.outcome === 'limit').length;
    // 20 runs of 25 buyers starting 10 apart: 215 distinct buyers, 285 repeats; stock 300 is enough.
    assert.equal(won, 215);
    assert.equal(limited, 285);
    assert.equal(await redis.hget(`seckill:{${sale.name}:1}:stock`, 'seckill'), '215');
    const buyers = await redis.hvals(`seckill:{${sale.name}:1}:buyers`);
    assert.ok(buyers.every((b) => b === '1'));
  } finally {
    await Promise.all(guards.map((g) => g.close()));
  }
});
