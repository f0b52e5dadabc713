// The batch claim script against a real Redis: grants, limits, replays, sold out.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ulid } from 'ulid';
import { luaGuard } from '../../workloads/consumer/stock-guard.js';
import { keys } from '../../workloads/shared/keys.js';
import { createRedis } from '../../workloads/shared/redis/client.js';
import { withScripts } from '../../workloads/shared/redis/scripts.js';
import { createSale } from '../../tools/lib/sale.js';
import { stackEnv } from '../../tools/lib/stack-env.js';

const redis = createRedis(stackEnv.redisUrl(), 'test-claim');
after(() => redis.quit());
const entry = (userId: number) => ({ ticket: ulid(), userId, acceptedAt: Date.now() });

test('claim grants up to the stock, enforces the per-user limit and answers every entry', async () => {
  const sale = await createSale(redis, undefined, [{ id: 1, stock: 3, perUserLimit: 1 }]);
  const guard = luaGuard(withScripts(redis));
  const entries = [entry(10), entry(10), entry(11), entry(12), entry(13), entry(14)];
  const reply = await guard.claim({ event: sale.name, productId: 1, perUserLimit: 1, entries });
  assert.deepEqual(
    reply.results.map((r) => r.outcome),
    ['won', 'limit', 'won', 'won', 'sold_out', 'sold_out'],
  );
  assert.equal(reply.remaining, 0);
});

test('a redelivered ticket replays its first outcome and changes nothing', async () => {
  const sale = await createSale(redis, undefined, [{ id: 7, stock: 2, perUserLimit: 2 }]);
  const guard = luaGuard(withScripts(redis));
  const run = { event: sale.name, productId: 7, perUserLimit: 2, entries: [entry(1), entry(2)] };
  const first = await guard.claim(run);
  const again = await guard.claim(run);
  assert.deepEqual(
    first.results.map((r) => [r.outcome, r.replay]),
    [
      ['won', false],
      ['won', false],
    ],
  );
  assert.deepEqual(
    again.results.map((r) => [r.outcome, r.replay]),
    [
      ['won', true],
      ['won', true],
    ],
  );
  assert.equal(again.remaining, 0);
  const late = await guard.claim({ ...run, entries: [entry(3)] });
  assert.deepEqual(late.results, [{ outcome: 'sold_out', replay: false }]);
});

test('the per-entry comparison mode decides exactly as the batch claim, and both as the rules say', async () => {
  const users = [1, 1, 2, 3, 3, 3, 4, 5, 6];
  const stock = 6;
  const perUserLimit = 2;
  // From the inputs: sold out first (S), then the limit (L), else a win (W). Buyers 1, 2 and 3 take 5
  // units, buyer 3's third try hits the limit, buyer 4 takes the last unit, buyers 5 and 6 find none:
  // 6 won (the stock), 1 limited, 2 sold out.
  const [W, L, S] = ['won', 'limit', 'sold_out'] as const;
  const expected = [W, W, W, W, W, L, W, S, S];
  const decide = async (perEntry: boolean) => {
    const sale = await createSale(redis, undefined, [{ id: 1, stock, perUserLimit }]);
    const reply = await luaGuard(withScripts(redis), perEntry).claim({
      event: sale.name,
      productId: 1,
      perUserLimit,
      entries: users.map(entry),
    });
    assert.equal(reply.remaining, 0, `perEntry ${perEntry}: sold out`);
    assert.equal(await redis.hget(keys.stock(sale.name, 1), 'seckill'), String(stock));
    return reply.results.map((r) => r.outcome);
  };
  assert.deepEqual(await decide(true), expected, 'one call per entry');
  assert.deepEqual(await decide(false), expected, 'one call per run');
});

test('a product that was never preloaded is an error, not a silent sale', async () => {
  await assert.rejects(
    luaGuard(withScripts(redis)).claim({ event: 'nope', productId: 1, perUserLimit: 1, entries: [entry(1)] }),
    /NOSTOCK/,
  );
});
