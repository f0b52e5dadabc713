import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partitionsForRate, parseSeckillEvent, SpecError } from '../../operator/api/types.js';
import { computePhase, nextWakeupMs } from '../../operator/reconcile/phase.js';
import { readyCondition, sameStatus, setCondition } from '../../operator/reconcile/status.js';
import { parseExtraEnv } from '../../operator/config.js';
import { buildConsumerDeployment, ownerKey } from '../../operator/resources/consumer-deployment.js';
import { totalLag } from '../../operator/resources/lag.js';
import { BATCHER_SPEC_BOUNDS } from '../../operator/api/types.js';
import { BATCHER_DEFAULTS } from '../../workloads/shared/batcher-settings.js';

const base = {
  nowMs: 1000,
  startMs: 2000,
  endMs: 3000,
  preloaded: true,
  lag: 0,
  desiredReplicas: 1,
  readyReplicas: 1,
};

test('phase from the clock and observations', () => {
  assert.equal(computePhase({ ...base, preloaded: false }), 'Pending');
  assert.equal(computePhase(base), 'Scheduled');
  assert.equal(computePhase({ ...base, nowMs: 2000 }), 'Active');
  assert.equal(computePhase({ ...base, nowMs: 2999 }), 'Active');
  assert.equal(computePhase({ ...base, nowMs: 3000 }), 'Ended', 'consumers still up');
  assert.equal(
    computePhase({ ...base, nowMs: 3000, lag: 5, desiredReplicas: 0, readyReplicas: 0 }),
    'Ended',
    'lag left',
  );
  assert.equal(
    computePhase({ ...base, nowMs: 3000, lag: undefined, desiredReplicas: 0, readyReplicas: 0 }),
    'Ended',
  );
  assert.equal(computePhase({ ...base, nowMs: 3000, desiredReplicas: 0, readyReplicas: 0 }), 'Completed');
  assert.equal(computePhase({ ...base, failedReason: 'InvalidSpec' }), 'Failed');
});

test('requeue at the start, the end, or the refresh, whichever is first', () => {
  const o = { activeRefreshMs: 5000, idleRefreshMs: 30_000 };
  assert.equal(nextWakeupMs('Scheduled', 0, 10_000, 20_000, o), 10_000);
  assert.equal(nextWakeupMs('Scheduled', 0, 100_000, 200_000, o), 30_000);
  assert.equal(nextWakeupMs('Active', 18_000, 10_000, 20_000, o), 2000);
  assert.equal(nextWakeupMs('Active', 11_000, 10_000, 20_000, o), 5000);
  assert.equal(nextWakeupMs('Ended', 25_000, 10_000, 20_000, o), 5000);
  assert.equal(nextWakeupMs('Failed', 0, 10_000, 20_000, o), undefined);
});

test('conditions: lastTransitionTime changes only when status changes; observedGeneration always follows', () => {
  const t1 = new Date('2030-01-01T00:00:00Z');
  const t2 = new Date('2030-01-01T00:01:00Z');
  const t3 = new Date('2030-01-01T00:02:00Z');
  let cs = setCondition(
    [],
    { type: 'TopicReady', status: 'True', reason: 'TopicReady', message: '3 partitions' },
    1,
    t1,
  );
  cs = setCondition(
    cs,
    { type: 'TopicReady', status: 'True', reason: 'TopicReady', message: '5 partitions' },
    2,
    t2,
  );
  assert.equal(cs.length, 1);
  assert.equal(cs[0]?.lastTransitionTime, t1.toISOString());
  assert.equal(cs[0]?.observedGeneration, 2);
  assert.equal(cs[0]?.message, '5 partitions');
  cs = setCondition(
    cs,
    { type: 'TopicReady', status: 'False', reason: 'NotSupported', message: 'lower' },
    3,
    t3,
  );
  assert.equal(cs[0]?.lastTransitionTime, t3.toISOString());
  cs = setCondition(cs, { type: 'Ready', status: 'False', reason: 'NotSupported', message: 'x' }, 3, t3);
  assert.deepEqual(
    cs.map((c) => c.type),
    ['Ready', 'TopicReady'],
    'stable order',
  );
});

test('Ready is True only when every other condition but SoldOut is True', () => {
  const ok = [
    { type: 'StockPreloaded', status: 'True', reason: 'Preloaded', message: '' },
    { type: 'TopicReady', status: 'True', reason: 'TopicReady', message: '' },
    { type: 'ConsumersReady', status: 'True', reason: 'Ready', message: '' },
    { type: 'SoldOut', status: 'False', reason: 'Available', message: '' },
  ] as const;
  assert.equal(readyCondition([...ok]).status, 'True');
  const bad = readyCondition([
    ...ok.slice(0, 2),
    { type: 'ConsumersReady', status: 'False', reason: 'Progressing', message: '0/2 consumers ready' },
  ]);
  assert.equal(bad.status, 'False');
  assert.equal(bad.reason, 'Progressing');
  assert.match(bad.message, /ConsumersReady: 0\/2 consumers ready/);
});

test('sameStatus ignores key order', () => {
  assert.ok(sameStatus({ phase: 'Active', lag: 1 }, { lag: 1, phase: 'Active' }));
  assert.ok(!sameStatus({ phase: 'Active', lag: 1 }, { lag: 2, phase: 'Active' }));
});

test('partitions from the expected peak rate: ceil(rate / 5000) clamped to 1..1000', () => {
  assert.equal(partitionsForRate(1), 1);
  assert.equal(partitionsForRate(5000), 1);
  assert.equal(partitionsForRate(5001), 2);
  assert.equal(partitionsForRate(20_000), 4);
  assert.equal(partitionsForRate(1e9), 1000);
  assert.equal(partitionsForRate(0), 1);
});

const event = (spec: Record<string, unknown>) => ({
  metadata: { name: 'sale', namespace: 'shop', uid: 'u1', generation: 3 },
  spec: {
    products: [{ id: 1, stock: 10 }],
    startTime: '2030-01-01T10:00:00Z',
    endTime: '2030-01-01T11:00:00Z',
    kafka: { expectedPeakRate: 12_000 },
    connection: { secretName: 'conn' },
    ...spec,
  },
});

test('parseSeckillEvent applies defaults and derives partitions and topic', () => {
  const ev = parseSeckillEvent(event({}));
  assert.equal(ev.partitions, 3);
  assert.equal(ev.topic, 'seckill.sale.purchases');
  assert.deepEqual(ev.products, [{ id: 1, stock: 10, perUserLimit: 1 }]);
  assert.equal(ev.consumer.maxReplicas, 10);
  assert.equal(ev.cleanupPolicy, 'Retain');
  assert.equal(ev.generation, 3);
  assert.equal(ev.startMs, Date.parse('2030-01-01T10:00:00Z'));
});

test('parseSeckillEvent refuses what the schema should have caught, naming the field', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ products: [] }, /spec\.products must be a non-empty list/],
    [
      {
        products: [
          { id: 1, stock: 1 },
          { id: 1, stock: 2 },
        ],
      },
      /spec\.products\[1\]\.id 1 is duplicated/,
    ],
    [{ products: [{ id: 1, stock: -5 }] }, /spec\.products\[0\]\.stock must be an integer/],
    [{ endTime: '2030-01-01T09:00:00Z' }, /endTime must be after/],
    [{ kafka: {} }, /exactly one of partitions or expectedPeakRate/],
    [{ consumer: { minReplicas: 5, maxReplicas: 2 } }, /maxReplicas must be >= /],
    [{ startTime: 'soon' }, /spec\.startTime must be an RFC 3339 time/],
  ];
  for (const [spec, message] of cases)
    assert.throws(
      () => parseSeckillEvent(event(spec)),
      (e: unknown) => e instanceof SpecError && message.test(e.message),
    );
});

test('parseSeckillEvent: no spec.batcher means the shared Batcher defaults', () => {
  assert.deepEqual(parseSeckillEvent(event({})).batcher, BATCHER_DEFAULTS);
});

test("parseSeckillEvent enforces spec.batcher's bounds (the CRD's), field by field", () => {
  for (const field of ['size', 'intervalMs', 'workers', 'buffer'] as const) {
    const [min, max] = BATCHER_SPEC_BOUNDS[field];
    // buffer must stay >= size: probe size under the largest buffer, the others with the smallest size.
    const others = field === 'size' ? { buffer: BATCHER_SPEC_BOUNDS.buffer[1] } : { size: 1 };
    const parse = (value: number) =>
      parseSeckillEvent(event({ batcher: { ...others, [field]: value } })).batcher;
    assert.equal(parse(max)[field], max);
    assert.equal(parse(min)[field], min);
    const refused = new RegExp(`spec\\.batcher\\.${field} must be an integer`);
    assert.throws(() => parse(max + 1), refused);
    assert.throws(() => parse(min - 1), refused);
  }
});

test('total lag over partitions (uncommitted partitions count from the earliest offset)', () => {
  assert.equal(
    totalLag([
      { partition: 0, high: 100, low: 0, committed: 40 },
      { partition: 1, high: 50, low: 10, committed: -1 },
      { partition: 2, high: 7, low: 7, committed: -1 },
      { partition: 3, high: 20, low: 15, committed: 3 },
    ]),
    60 + 40 + 0 + 5,
  );
});

test('the consumer Deployment: env contract, secret refs, owner reference, selector', () => {
  const ev = parseSeckillEvent(event({ consumer: { shardsPerPod: 4 } }));
  const dep = buildConsumerDeployment(ev, {
    image: 'seckill/consumer:1',
    replicas: 3,
    resources: { cpuRequest: '100m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
  });
  assert.equal(dep.metadata?.name, 'sale-consumer');
  assert.equal(dep.metadata?.namespace, 'shop');
  assert.equal(dep.spec?.replicas, 3);
  assert.deepEqual(dep.metadata?.ownerReferences, [
    {
      apiVersion: 'seckill.io/v1alpha1',
      kind: 'SeckillEvent',
      name: 'sale',
      uid: 'u1',
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.deepEqual(dep.spec?.selector.matchLabels, {
    'app.kubernetes.io/name': 'seckill-consumer',
    'seckill.io/event': 'sale',
  });
  const c = dep.spec?.template.spec?.containers[0];
  assert.equal(c?.image, 'seckill/consumer:1');
  const env = Object.fromEntries(
    (c?.env ?? []).map((e) => [
      e.name,
      e.value ?? e.valueFrom?.secretKeyRef?.name ?? e.valueFrom?.fieldRef?.fieldPath,
    ]),
  );
  assert.deepEqual(env, {
    SECKILL_EVENT: 'sale',
    KAFKA_TOPIC: 'seckill.sale.purchases',
    CONSUMER_SHARDS: '4',
    STOCK_GUARD: 'lua',
    HTTP_PORT: '9102',
    KAFKA_BROKERS: 'conn',
    REDIS_URL: 'conn',
    MYSQL_URL: 'conn',
    POD_NAME: 'metadata.name',
  });
  assert.equal(ownerKey(dep), 'shop/sale');
  const durable = buildConsumerDeployment(ev, {
    image: 'seckill/consumer:1',
    replicas: 1,
    resources: { cpuRequest: '1', memoryRequest: '1', memoryLimit: '1' },
    claimWait: { replicas: 1, timeoutMs: 500 },
  }).spec?.template.spec?.containers[0]?.env;
  assert.deepEqual(
    durable?.filter((e) => e.name.startsWith('CLAIM_WAIT_')),
    [
      { name: 'CLAIM_WAIT_REPLICAS', value: '1' },
      { name: 'CLAIM_WAIT_TIMEOUT_MS', value: '500' },
    ],
  );
  assert.equal(
    buildConsumerDeployment(
      { ...ev, consumer: { ...ev.consumer, image: 'custom:2' } },
      { image: 'x', replicas: 1, resources: { cpuRequest: '1', memoryRequest: '1', memoryLimit: '1' } },
    ).spec?.template.spec?.containers[0]?.image,
    'custom:2',
  );
});

test('CONSUMER_EXTRA_ENV: parsed strictly, and it overrides the consumer env of the same name', () => {
  assert.deepEqual(parseExtraEnv('STOCK_GUARD=lua-per-entry;ORDER_WRITE_MODE=per-order;'), {
    STOCK_GUARD: 'lua-per-entry',
    ORDER_WRITE_MODE: 'per-order',
  });
  assert.deepEqual(parseExtraEnv(''), {});
  assert.throws(() => parseExtraEnv('lower=1'), /CONSUMER_EXTRA_ENV: "lower=1" is not NAME=value/);
  assert.throws(() => parseExtraEnv('NOVALUE'), /CONSUMER_EXTRA_ENV/);
  const ev = parseSeckillEvent(event({}));
  const dep = buildConsumerDeployment(ev, {
    image: 'seckill/consumer:1',
    replicas: 1,
    resources: { cpuRequest: '100m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    extraEnv: { STOCK_GUARD: 'lua-per-entry', ORDER_WRITE_MODE: 'per-order' },
  });
  const env = dep.spec?.template.spec?.containers[0]?.env ?? [];
  assert.deepEqual(
    env
      .filter((e) => e.name === 'STOCK_GUARD' || e.name === 'ORDER_WRITE_MODE')
      .map((e) => [e.name, e.value]),
    [
      ['STOCK_GUARD', 'lua-per-entry'],
      ['ORDER_WRITE_MODE', 'per-order'],
    ],
  );
});
