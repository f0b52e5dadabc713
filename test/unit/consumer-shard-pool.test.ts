import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShardPool, stableHash } from '../../workloads/consumer/shard-pool.js';

interface Item {
  product: string;
  n: number;
}

const pool = (
  handle: (shard: number, items: Item[]) => Promise<void>,
  extra: { capacity?: number; maxRun?: number } = {},
) =>
  new ShardPool<Item>({
    shards: 4,
    capacity: extra.capacity ?? 100,
    maxRun: extra.maxRun ?? 100,
    runKey: (i) => i.product,
    size: () => 1,
    handle,
  });

test('items of one product keep their order and always land on the same shard', async () => {
  const seen = new Map<string, number[]>();
  const shardsOf = new Map<string, Set<number>>();
  const p = pool(async (shard, items) => {
    await new Promise((r) => setTimeout(r, Math.random() * 2));
    for (const i of items) {
      seen.set(i.product, [...(seen.get(i.product) ?? []), i.n]);
      shardsOf.set(i.product, (shardsOf.get(i.product) ?? new Set()).add(shard));
    }
  });
  const work: Promise<void>[] = [];
  for (let n = 0; n < 200; n++) work.push(p.submit({ product: `p${n % 7}`, n }));
  await Promise.all(work);
  for (const [product, ns] of seen) {
    assert.deepEqual(
      ns,
      [...ns].sort((a, b) => a - b),
      `order of ${product}`,
    );
    assert.equal(shardsOf.get(product)?.size, 1);
  }
  assert.equal([...seen.values()].flat().length, 200);
});

test('consecutive items of one product are handled as one run, up to maxRun entries', async () => {
  const runs: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const p = pool(
    async (_s, items) => {
      runs.push(items.length);
      await gate;
    },
    { maxRun: 5 },
  );
  const work = Array.from({ length: 13 }, (_, n) => p.submit({ product: 'hot', n }));
  release();
  await Promise.all(work);
  assert.deepEqual(runs, [1, 5, 5, 2], 'the first item starts alone, the queued ones coalesce');
});

test('a full shard reports itself and room() resolves once it drains', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const p = pool(() => gate, { capacity: 3 });
  const shard = p.shardOf({ product: 'x', n: 0 });
  const work = [0, 1, 2].map((n) => p.submit({ product: 'x', n }));
  assert.equal(p.isFull(shard), true);
  let roomy = false;
  const room = p.room(shard).then(() => (roomy = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(roomy, false);
  release();
  await Promise.all([...work, room]);
  assert.equal(p.isFull(shard), false);
});

test('a failing run rejects its own items only; the shard goes on', async () => {
  const p = pool(
    (_s, items) => (items.some((i) => i.n === 1) ? Promise.reject(new Error('boom')) : Promise.resolve()),
    {
      maxRun: 1,
    },
  );
  const results = await Promise.allSettled([0, 1, 2].map((n) => p.submit({ product: 'y', n })));
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
});

test('stableHash is FNV-1a', () => {
  assert.equal(stableHash(''), 0x811c9dc5);
  assert.equal(stableHash('a'), 0xe40c292c);
});
