// Unit tests of the Batcher and its metrics. Time is faked (node:test mock timers, Date included) wherever
// a test depends on when things happen, so no assertion races the real clock.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import {
  Batcher,
  BatcherClosedError,
  BatcherFullError,
  DEFAULTS,
  fnv1a32,
  type BatcherOptions,
  type FlushReason,
  type FlushReport,
} from '../../workloads/api/batcher.js';
import { createBatcherMetrics } from '../../workloads/api/batcher-metrics.js';

type Groups = Map<string, number[]>;

/** One call of a gated flush: the test decides when and how it settles. */
interface FlushCall {
  readonly groups: Groups;
  /** Mocked Date.now() when the Batcher called flush. */
  readonly at: number;
  readonly release: () => void;
  readonly fail: (error: unknown) => void;
}

/** A flush callback whose calls stay in flight until the test releases or fails them. */
function gatedFlush(): { flush: (groups: Groups) => Promise<void>; calls: FlushCall[] } {
  const calls: FlushCall[] = [];
  const flush = (groups: Groups): Promise<void> =>
    new Promise((release, fail) => calls.push({ groups, at: Date.now(), release, fail }));
  return { flush, calls };
}

/** Lets every pending promise callback run (setImmediate is not faked). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Fake setTimeout and Date, starting at time 0, for the rest of test `t`. */
function fakeClock(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
}

/** An observer that records the reason of every flush. */
function reasonRecorder(): { reasons: FlushReason[]; observer: { flushed(report: FlushReport): void } } {
  const reasons: FlushReason[] = [];
  return { reasons, observer: { flushed: (report) => reasons.push(report.reason) } };
}

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}

test('defaults are real numbers that pass validation', async () => {
  const batcher = new Batcher<number>({ flush: () => Promise.resolve() });
  assert.deepEqual(batcher.bucketDepths(), new Array<number>(DEFAULTS.workers).fill(0));
  await batcher.close();
});

test('bad options throw a RangeError naming the option and the value', () => {
  const flush = (): Promise<void> => Promise.resolve();
  const cases: [Partial<BatcherOptions<number>>, string, string][] = [
    [{ size: 0 }, '"size"', 'got 0'],
    [{ size: 2.5 }, '"size"', 'got 2.5'],
    [{ size: Number.NaN }, '"size"', 'got NaN'],
    [{ size: '100' as unknown as number }, '"size"', 'got "100"'],
    [{ buffer: -1 }, '"buffer"', 'got -1'],
    [{ size: 10, buffer: 5 }, '"buffer" (5)', '"size" (10)'],
    [{ workers: 0 }, '"workers"', 'got 0'],
    [{ intervalMs: 0 }, '"intervalMs"', 'got 0'],
    [{ intervalMs: 2 ** 31 }, '"intervalMs"', 'got 2147483648'],
  ];
  for (const [options, option, value] of cases) {
    assert.throws(
      () => new Batcher<number>({ flush, ...options }),
      (error: unknown) =>
        error instanceof RangeError && error.message.includes(option) && error.message.includes(value),
      JSON.stringify(options),
    );
  }
  assert.throws(() => new Batcher<number>({ flush: undefined as unknown as typeof flush }), TypeError);
});

test('fnv1a32 matches the published FNV-1a test vectors', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
});

test('a shard result that is not an integer rejects the add; a negative one is fine', async () => {
  const batcher = new Batcher<number>({
    flush: () => Promise.resolve(),
    size: 1,
    shard: (key) => (key === 'neg' ? -7 : Number.NaN),
  });
  await assert.rejects(
    batcher.add('x', 1),
    (error: unknown) => error instanceof RangeError && /NaN/.test(error.message),
  );
  await batcher.add('neg', 2);
  await batcher.close();
});

test('size trigger: a full batch flushes at once, without waiting for the interval', async (t) => {
  fakeClock(t);
  const { flush, calls } = gatedFlush();
  const { reasons, observer } = reasonRecorder();
  const batcher = new Batcher<number>({ flush, size: 3, workers: 1, intervalMs: 1000, observer });
  const done = [batcher.add('a', 1), batcher.add('b', 2), batcher.add('a', 3)];
  // The clock has not moved: the size trigger alone started the flush.
  assert.equal(calls.length, 1);
  assert.deepEqual(
    [...(calls[0]?.groups ?? [])],
    [
      ['a', [1, 3]],
      ['b', [2]],
    ],
  );
  calls[0]?.release();
  await Promise.all(done);
  assert.deepEqual(reasons, ['size']);
  await batcher.close();
});

test('interval trigger: a partial bucket flushes when its tick comes, not before', async (t) => {
  fakeClock(t);
  const { flush, calls } = gatedFlush();
  const { reasons, observer } = reasonRecorder();
  const batcher = new Batcher<number>({ flush, size: 100, workers: 1, intervalMs: 100, observer });
  const done = [batcher.add('a', 1), batcher.add('a', 2)];
  t.mock.timers.tick(99);
  assert.equal(calls.length, 0);
  t.mock.timers.tick(1);
  assert.equal(calls.length, 1);
  assert.deepEqual([...(calls[0]?.groups ?? [])], [['a', [1, 2]]]);
  calls[0]?.release();
  await Promise.all(done);
  assert.deepEqual(reasons, ['interval']);
  await batcher.close();
});

test('ticks are staggered: bucket i ticks at (i / workers + k) * intervalMs', async (t) => {
  fakeClock(t);
  const flushes: [number, string][] = [];
  const batcher = new Batcher<number>({
    flush: (groups) => {
      flushes.push([Date.now(), [...groups.keys()].join()]);
      return Promise.resolve();
    },
    workers: 4,
    intervalMs: 100,
    shard: Number, // key "i" goes to bucket i
  });
  const done = ['0', '1', '2', '3'].map((key) => batcher.add(key, 0));
  const advanceTo = async (end: number): Promise<void> => {
    while (Date.now() < end) {
      t.mock.timers.tick(1);
      await settle(); // let each flush settle before the next millisecond
    }
  };
  await advanceTo(110);
  done.push(batcher.add('1', 0)); // at 110: bucket 1's next grid point is 125
  await advanceTo(130);
  assert.deepEqual(flushes, [
    [25, '1'],
    [50, '2'],
    [75, '3'],
    [100, '0'], // at time 0 bucket 0's tick had just passed: an entry waits at most one interval
    [125, '1'],
  ]);
  await Promise.all(done);
  await batcher.close();
});

test('one flush per bucket: a size trigger during a flush fires right after it settles', async (t) => {
  fakeClock(t);
  const { flush, calls } = gatedFlush();
  const { reasons, observer } = reasonRecorder();
  const batcher = new Batcher<number>({ flush, size: 2, workers: 1, intervalMs: 1000, observer });
  const done = [1, 2, 3, 4, 5].map((n) => batcher.add('a', n));
  assert.equal(calls.length, 1, 'entries 3..5 wait: the first flush is still running');
  calls[0]?.release();
  await settle();
  assert.equal(calls.length, 2);
  assert.deepEqual([...(calls[1]?.groups ?? [])], [['a', [3, 4]]], 'oldest first, at most size');
  calls[1]?.release();
  await settle();
  assert.equal(calls.length, 2, 'entry 5 is a partial batch: it waits for the tick');
  t.mock.timers.tick(1000);
  calls[2]?.release();
  await Promise.all(done);
  assert.deepEqual(reasons, ['size', 'size', 'interval']);
  await batcher.close();
});

test('one flush per bucket: a tick during a flush is honoured right after it settles', async (t) => {
  fakeClock(t);
  const { flush, calls } = gatedFlush();
  const { reasons, observer } = reasonRecorder();
  const batcher = new Batcher<number>({ flush, size: 2, workers: 1, intervalMs: 10, observer });
  const done = [batcher.add('a', 1), batcher.add('a', 2), batcher.add('a', 3)];
  t.mock.timers.tick(10);
  assert.equal(calls.length, 1, 'the tick came while flush 1 ran');
  calls[0]?.release();
  await settle();
  assert.equal(calls.length, 2, 'no new tick needed');
  assert.deepEqual([...(calls[1]?.groups ?? [])], [['a', [3]]]);
  calls[1]?.release();
  await Promise.all(done);
  assert.deepEqual(reasons, ['size', 'interval']);
  await batcher.close();
});

test('a full bucket rejects at once with BatcherFullError, counting the running flush', async (t) => {
  fakeClock(t);
  const { flush, calls } = gatedFlush();
  const batcher = new Batcher<number>({ flush, size: 2, buffer: 3, workers: 1, intervalMs: 50 });
  const done = [batcher.add('a', 1), batcher.add('a', 2), batcher.add('a', 3)];
  assert.equal(batcher.depth(), 3);
  const refused = batcher.add('a', 4);
  await assert.rejects(refused, (error: unknown) => {
    assert.ok(error instanceof BatcherFullError);
    assert.equal(error.bucket, 0);
    assert.equal(error.capacity, 3);
    assert.ok(error.retryAfterMs >= 50);
    return true;
  });
  assert.equal(calls.length, 1, 'the refusal did not wait for anything');
  calls[0]?.release();
  await settle();
  done.push(batcher.add('a', 5)); // room again
  const closed = batcher.close();
  calls[1]?.release();
  await Promise.all([...done, closed]);
});

test('a failed flush rejects every waiter of that flush, and later flushes still work', async () => {
  const boom = new Error('kafka down');
  let call = 0;
  const batcher = new Batcher<number>({
    flush: () => (call++ === 0 ? Promise.reject(boom) : Promise.resolve()),
    size: 3,
    workers: 1,
  });
  const failed = [1, 2, 3].map((n) => batcher.add(`k${n % 2}`, n));
  for (const waiter of failed) await assert.rejects(waiter, (error) => error === boom);
  await Promise.all([4, 5, 6].map((n) => batcher.add('k', n)));
  await batcher.close();
});

test('a flush callback that throws synchronously fails its waiters like a rejection', async () => {
  const boom = new Error('sync');
  const batcher = new Batcher<number>({
    flush: () => {
      throw boom;
    },
    size: 1,
  });
  await assert.rejects(batcher.add('a', 1), (error) => error === boom);
  await batcher.close();
});

test('close flushes everything, waits for running flushes, refuses new entries, is idempotent', async (t) => {
  fakeClock(t);
  const { flush, calls } = gatedFlush();
  const { reasons, observer } = reasonRecorder();
  const batcher = new Batcher<number>({
    flush,
    size: 2,
    workers: 2,
    intervalMs: 60_000,
    shard: Number,
    observer,
  });
  const done = [batcher.add('0', 1), batcher.add('0', 2), batcher.add('0', 3), batcher.add('1', 4)];
  assert.equal(calls.length, 1, 'bucket 0 is flushing 1 and 2');
  let closed = false;
  const closing = batcher.close().then(() => (closed = true));
  assert.equal(calls.length, 2, 'bucket 1 flushes at once; bucket 0 waits for its running flush');
  await assert.rejects(batcher.add('1', 5), BatcherClosedError);
  calls[0]?.release();
  calls[1]?.release();
  await settle();
  assert.equal(closed, false, 'entry 3 is not flushed yet');
  assert.deepEqual([...(calls[2]?.groups ?? [])], [['0', [3]]]);
  calls[2]?.release();
  await closing;
  await Promise.all(done);
  assert.deepEqual(reasons, ['size', 'close', 'close']);
  assert.equal(batcher.depth(), 0);
  await batcher.close(); // a second close is harmless and already done
});

test('timers: an idle Batcher holds none, waiting entries hold some, close leaves none', async () => {
  const before = activeTimeouts();
  const batcher = new Batcher<number>({ flush: () => Promise.resolve(), workers: 4, intervalMs: 60_000 });
  assert.equal(activeTimeouts(), before, 'idle: no timer');
  const done = ['a', 'b', 'c', 'd', 'e'].map((key) => batcher.add(key, 1));
  assert.ok(activeTimeouts() > before, 'entries wait for a tick');
  await batcher.close();
  await Promise.all(done);
  assert.equal(activeTimeouts(), before, 'closed: no timer left, the process can exit');
});

test('an observer that throws does not disturb batching', async () => {
  const warned = new Promise<Error>((resolve) => {
    const onWarning = (warning: Error): void => {
      if (warning.name !== 'BatcherObserverWarning') return;
      process.off('warning', onWarning);
      resolve(warning);
    };
    process.on('warning', onWarning);
  });
  const batcher = new Batcher<number>({
    flush: () => Promise.resolve(),
    size: 1,
    observer: {
      flushed: () => {
        throw new Error('observer bug');
      },
    },
  });
  await batcher.add('a', 1);
  await batcher.add('a', 2);
  assert.match((await warned).message, /observer bug/);
  await batcher.close();
});

/** Reads one series (name plus labels, as exposed) from the registry's text exposition. */
async function scrape(registry: Registry, series: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('createBatcherMetrics counts flushes by reason, failures, rejections, sizes and depth', async (t) => {
  fakeClock(t);
  const registry = new Registry();
  const observer = createBatcherMetrics(registry, 'test_batcher');
  const { flush, calls } = gatedFlush();
  const batcher = new Batcher<number>({ flush, size: 2, buffer: 2, workers: 1, intervalMs: 100, observer });
  const m = (series: string): Promise<number | undefined> => scrape(registry, `test_batcher_${series}`);

  assert.equal(await m('flushes_total{reason="close"}'), 0, 'series exist before the first event');
  const sized = [batcher.add('a', 1), batcher.add('a', 2)];
  await assert.rejects(batcher.add('a', 3), BatcherFullError);
  assert.equal(await m('bucket_depth{bucket="0"}'), 2);
  calls[0]?.release();
  await Promise.all(sized);

  const ticked = batcher.add('b', 4);
  t.mock.timers.tick(100);
  calls[1]?.fail(new Error('kafka down'));
  await assert.rejects(ticked);

  const last = batcher.add('c', 5);
  const closed = batcher.close();
  calls[2]?.release();
  await Promise.all([last, closed]);
  await assert.rejects(batcher.add('d', 6), BatcherClosedError);

  assert.equal(await m('flushes_total{reason="size"}'), 1);
  assert.equal(await m('flushes_total{reason="interval"}'), 1);
  assert.equal(await m('flushes_total{reason="close"}'), 1);
  assert.equal(await m('flush_failures_total'), 1);
  assert.equal(await m('rejections_total{reason="full"}'), 1);
  assert.equal(await m('rejections_total{reason="closed"}'), 1);
  assert.equal(await m('entries_per_flush_count'), 3);
  assert.equal(await m('entries_per_flush_sum'), 4);
  assert.equal(await m('entries_per_flush_bucket{le="1"}'), 2);
  assert.equal(await m('flush_duration_seconds_count'), 3);
  assert.equal(await m('bucket_depth{bucket="0"}'), 0);
});

test('one metrics observer sums the bucket depths of several Batchers and forgets closed ones', async () => {
  const registry = new Registry();
  const observer = createBatcherMetrics(registry, 'multi');
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const flush = (): Promise<void> => gate;
  const one = new Batcher<number>({ flush, size: 1, workers: 1, observer });
  const two = new Batcher<number>({ flush, size: 1, workers: 1, observer });
  const adds = [one.add('a', 1), two.add('b', 2), two.add('b', 3)];
  assert.equal(await scrape(registry, 'multi_bucket_depth{bucket="0"}'), 3);
  release();
  await Promise.all([...adds, one.close(), two.close()]);
  assert.equal(await scrape(registry, 'multi_bucket_depth{bucket="0"}'), 0);
});

// Model-based property: random adds, clock ticks and flush settlements (some flushes fail), then close.
// Whatever the interleaving, every accepted entry reaches exactly one flush, keys keep their order, each
// waiter hears its own flush's outcome, and a bucket never runs two flushes at once.
type Op = { kind: 'add'; key: string } | { kind: 'tick'; ms: number } | { kind: 'settle' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 25 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settle' as const) }) },
);

const configArb = fc.record({
  size: fc.integer({ min: 1, max: 6 }),
  extraBuffer: fc.integer({ min: 0, max: 6 }),
  workers: fc.integer({ min: 1, max: 4 }),
  intervalMs: fc.integer({ min: 1, max: 20 }),
  failures: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
});

test('property: exactly-once delivery, per-key order, per-flush outcomes, one flush per bucket', async (t) => {
  fakeClock(t);
  await fc.assert(
    fc.asyncProperty(configArb, fc.array(opArb, { maxLength: 60, size: 'max' }), async (config, ops) => {
      const { size, workers, failures } = config;
      const shard = (key: string): number => key.charCodeAt(0);
      const busy = new Set<number>();
      let overlapped = false;
      const calls: { entries: [string, number][]; firsts: number[]; error: Error | undefined }[] = [];

      const batcher = new Batcher<number>({
        size,
        buffer: size + config.extraBuffer,
        workers,
        intervalMs: config.intervalMs,
        shard,
        flush: async (groups) => {
          const bucket = shard([...groups.keys()][0] ?? '') % workers;
          overlapped ||=
            busy.has(bucket) || [...groups.keys()].some((key) => shard(key) % workers !== bucket);
          busy.add(bucket);
          const index = calls.length;
          const error = failures[index % failures.length] ? new Error(`flush ${index} failed`) : undefined;
          const entries = [...groups].flatMap(([key, ns]) => ns.map((n): [string, number] => [key, n]));
          calls.push({ entries, firsts: [...groups.values()].map((ns) => ns[0] ?? -1), error });
          await settle(); // stay in flight across at least one test step
          busy.delete(bucket);
          if (error) throw error;
        },
      });

      const added: { key: string; n: number; outcome: Promise<unknown> }[] = [];
      for (const op of ops) {
        if (op.kind === 'add') {
          const n = added.length;
          // Attach the handler now, so a failed flush is never an unhandled rejection.
          added.push({
            key: op.key,
            n,
            outcome: batcher.add(op.key, n).then(
              () => 'ok',
              (error: unknown) => error,
            ),
          });
        } else if (op.kind === 'tick') {
          t.mock.timers.tick(op.ms);
        } else {
          await settle();
        }
      }
      await batcher.close();
      const outcomes = await Promise.all(added.map((a) => a.outcome));

      assert.equal(overlapped, false, 'a bucket ran two flushes at once');
      assert.equal(batcher.depth(), 0);
      const flushOf = new Map<number, number>(); // entry -> index of the flush that carried it
      calls.forEach((call, index) => {
        assert.ok(call.entries.length >= 1 && call.entries.length <= size, 'flush size within 1..size');
        const keyOrder = [...call.firsts].sort((x, y) => x - y);
        assert.deepEqual(call.firsts, keyOrder, 'keys in order of first appearance');
        for (const [, n] of call.entries) {
          assert.ok(!flushOf.has(n), `entry ${n} flushed twice`);
          flushOf.set(n, index);
        }
      });
      for (const { key, n } of added) {
        const outcome = outcomes[n];
        const index = flushOf.get(n);
        if (outcome instanceof BatcherFullError) {
          assert.equal(index, undefined, `refused entry ${n} was flushed`);
          continue;
        }
        assert.notEqual(index, undefined, `accepted entry ${n} (${key}) was never flushed`);
        const expected = calls[index ?? -1]?.error ?? 'ok';
        assert.equal(outcome, expected, `entry ${n} got another outcome than its flush`);
      }
      for (const key of ['a', 'b', 'c', 'd', 'e']) {
        const accepted = added.filter((a) => a.key === key && flushOf.has(a.n)).map((a) => a.n);
        const delivered = calls.flatMap((call) => call.entries.filter(([k]) => k === key).map(([, n]) => n));
        assert.deepEqual(delivered, accepted, `order of key ${key}`);
      }
    }),
    { numRuns: 200 },
  );
});

test('maxFlush lets a backlog built during a slow flush leave in one flush, in order', async () => {
  const calls: number[][] = [];
  let release!: () => void;
  const first = new Promise<void>((r) => (release = r));
  const batcher = new Batcher<number>({
    size: 2,
    maxFlush: 10,
    workers: 1,
    intervalMs: 1000,
    flush: (groups) => {
      calls.push([...groups.values()].flat());
      return calls.length === 1 ? first : Promise.resolve();
    },
  });
  const adds = Array.from({ length: 12 }, (_, i) => batcher.add('hot', i));
  release();
  await Promise.all(adds);
  await batcher.close();
  assert.deepEqual(calls, [
    [0, 1],
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  ]);
});

test('maxFlush below size is refused', () => {
  assert.throws(
    () => new Batcher<number>({ size: 10, maxFlush: 5, flush: () => Promise.resolve() }),
    /"maxFlush"/,
  );
});
