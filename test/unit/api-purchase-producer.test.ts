import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatcherClosedError } from '../../workloads/api/batcher.js';
import { createPerEventBatchedSink, type PendingPurchase } from '../../workloads/api/purchase-producer.js';

const purchase = (event: string, n: number): PendingPurchase => ({
  event,
  topic: `t-${event}`,
  productId: 1,
  ticket: `T${n}`,
  userId: n,
  acceptedAt: 0,
});

test('each event batches with its own settings; a change drains the old Batcher and answers everyone', async () => {
  const flushes: { event: string; size: number }[] = [];
  const settings = new Map<string, { size: number; buffer: number }>([['a', { size: 2, buffer: 10 }]]);
  const sink = createPerEventBatchedSink(
    (groups) => {
      for (const entries of groups.values()) flushes.push({ event: entries[0]!.event, size: entries.length });
      return Promise.resolve();
    },
    { size: 3, intervalMs: 1000, workers: 1, buffer: 10 },
    (event) => settings.get(event),
  );
  // Event a flushes at 2 (its own size), event b at 3 (the defaults).
  await Promise.all([sink.submit(purchase('a', 1)), sink.submit(purchase('a', 2))]);
  await Promise.all([1, 2, 3].map((n) => sink.submit(purchase('b', n))));
  assert.deepEqual(flushes, [
    { event: 'a', size: 2 },
    { event: 'b', size: 3 },
  ]);

  // a's settings change while an entry waits in its Batcher: that entry is flushed by the drain.
  const waiting = sink.submit(purchase('a', 3));
  settings.set('a', { size: 1, buffer: 10 });
  await Promise.all([waiting, sink.submit(purchase('a', 4))]);
  assert.equal(flushes.filter((f) => f.event === 'a').length, 3);
  assert.equal(sink.depth(), 0);

  await sink.close();
  await assert.rejects(sink.submit(purchase('a', 5)), BatcherClosedError);
});
