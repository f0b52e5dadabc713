import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExponentialBackoff, TokenBucket, WorkQueue } from '../../operator/runtime/workqueue.js';

test('one entry per key however many adds', async () => {
  const q = new WorkQueue();
  for (let i = 0; i < 100; i++) q.add('ns/a');
  q.add('ns/b');
  q.add('ns/a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'ns/a');
  assert.equal(await q.get(), 'ns/b');
  assert.equal(q.len(), 0);
});

test('a key re-added while processing is not handed out twice, and is processed again after done()', async () => {
  const q = new WorkQueue();
  q.add('k');
  const k = await q.get();
  assert.equal(k, 'k');
  q.add('k');
  q.add('k');
  assert.equal(q.len(), 0, 'not queued while processing');
  let second: string | undefined;
  void q.get().then((v) => (second = v));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined, 'no second worker gets it');
  q.done('k');
  await new Promise((r) => setImmediate(r));
  assert.equal(second, 'k', 'processed again after done');
  q.done('k');
  assert.equal(q.len(), 0);
});

test('a waiting worker gets the next key at once; shutDown releases waiting workers', async () => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.add('x');
  assert.equal(await waiting, 'x');
  const idle = q.get();
  q.shutDown();
  assert.equal(await idle, undefined);
  q.add('y');
  assert.equal(q.len(), 0, 'no adds after shutdown');
});

test('per-key exponential backoff, capped, reset by forget', () => {
  const b = new ExponentialBackoff(200, 60_000);
  const delays = Array.from({ length: 12 }, () => b.when('k'));
  assert.deepEqual(delays, [200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 60_000, 60_000, 60_000]);
  assert.equal(b.when('other'), 200, 'keys back off independently');
  assert.equal(b.retries('k'), 12);
  b.forget('k');
  assert.equal(b.when('k'), 200);
});

test('token bucket: burst at once, then qps', () => {
  let now = 0;
  const bucket = new TokenBucket(10, 3, () => now);
  assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
  assert.equal(bucket.reserve(), 100, 'fourth waits one token (100 ms at 10/s)');
  assert.equal(bucket.reserve(), 200);
  now += 1000; // refills, capped at the burst
  assert.deepEqual([bucket.reserve(), bucket.reserve()], [0, 0]);
});

test('addAfter delivers at the deadline and keeps only the earliest; addRateLimited backs off', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const q = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 1000, qps: 1000, burst: 1000 });
  q.addAfter('a', 5000);
  q.addAfter('a', 1000); // earlier wins
  q.addAfter('a', 9000); // later is ignored
  t.mock.timers.tick(999);
  assert.equal(q.len(), 0);
  t.mock.timers.tick(1);
  assert.equal(q.len(), 1);
  t.mock.timers.tick(10_000);
  assert.equal(q.len(), 1, 'delivered once');

  assert.equal(q.addRateLimited('b'), 200);
  assert.equal(q.addRateLimited('b'), 400, 'backoff grows; the pending earlier deadline is kept');
  t.mock.timers.tick(200);
  assert.equal(q.len(), 2);
  assert.equal(q.numRequeues('b'), 2);
  q.forget('b');
  assert.equal(q.numRequeues('b'), 0);
  q.shutDown();
});

test('the overall rate limit delays retries beyond the per-key backoff', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const q = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 1, qps: 2, burst: 2 });
  const delays = ['a', 'b', 'c', 'd'].map((k) => q.addRateLimited(k));
  assert.deepEqual(delays, [1, 1, 500, 1000]);
  q.shutDown();
});
