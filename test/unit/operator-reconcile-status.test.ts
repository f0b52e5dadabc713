// operator/reconcile/status.ts (building the status from what the steps observed) and phase.ts's clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSeckillEvent, type SeckillEvent } from '../../operator/api/types.js';
import { clockPhase } from '../../operator/reconcile/phase.js';
import {
  buildStatus,
  failedStatus,
  soldOutCondition,
  type Observed,
} from '../../operator/reconcile/status.js';
import { mergeReports } from '../../operator/reconcile/steps/step.js';

const obj: SeckillEvent = {
  apiVersion: 'seckill.io/v1alpha1',
  kind: 'SeckillEvent',
  metadata: { name: 'spring', namespace: 'shop', uid: 'u1', generation: 3 },
  spec: {
    products: [
      { id: 1, stock: 10, perUserLimit: 1 },
      { id: 2, stock: 5, perUserLimit: 1 },
    ],
    startTime: '2026-01-01T00:00:00Z',
    endTime: '2026-01-01T01:00:00Z',
    kafka: { partitions: 4 },
    connection: { secretName: 'c' },
  },
};
const ev = parseSeckillEvent(obj);
const observed: Observed = {
  phase: 'Active',
  products: [
    { id: 1, total: 10, sold: 10 },
    { id: 2, total: 5, sold: 1 },
  ],
  partitions: 4,
  lag: 12,
  desired: 2,
  ready: 1,
  lastScaleTime: undefined,
  conditions: [
    { type: 'StockPreloaded', status: 'True', reason: 'Preloaded', message: '2 products, 15 units' },
    { type: 'TopicReady', status: 'True', reason: 'TopicReady', message: 'topic has 4 partitions' },
    { type: 'ConsumersReady', status: 'False', reason: 'Progressing', message: '1/2 consumers ready' },
  ],
  errors: [],
};

test('clockPhase: Pending until preloaded, then Scheduled, Active, Ended (never Completed)', () => {
  const w = { startMs: 10, endMs: 20, preloaded: true };
  assert.equal(clockPhase({ ...w, nowMs: 30, preloaded: false }), 'Pending');
  assert.equal(clockPhase({ ...w, nowMs: 5 }), 'Scheduled');
  assert.equal(clockPhase({ ...w, nowMs: 10 }), 'Active');
  assert.equal(clockPhase({ ...w, nowMs: 20 }), 'Ended');
});

test('buildStatus: totals from the products, Ready derived and first, generation observed', () => {
  const s = buildStatus(obj, ev, observed, new Date(0));
  assert.equal(s.phase, 'Active');
  assert.equal(s.observedGeneration, 3);
  assert.equal(s.totalStock, 15);
  assert.equal(s.totalSold, 11);
  assert.equal(s.partitions, 4);
  assert.equal(s.lag, 12);
  assert.deepEqual(s.consumers, { deployment: 'spring-consumer', desired: 2, ready: 1, summary: '1/2' });
  assert.equal(s.conditions?.[0]?.type, 'Ready');
  assert.equal(s.conditions?.[0]?.status, 'False');
  assert.equal(s.conditions?.[0]?.reason, 'Progressing');
  assert.ok(s.conditions?.every((c) => c.observedGeneration === 3));
  assert.equal(s.reason, undefined);
});

test('buildStatus: what was not observed keeps its last value; errors become the message', () => {
  const before = { ...obj, status: { partitions: 8, lag: 3, products: observed.products } };
  const s = buildStatus(before, ev, {
    ...observed,
    products: undefined,
    partitions: undefined,
    lag: undefined,
    errors: ['Kafka: down', 'Redis: down'],
  });
  assert.equal(s.partitions, 8);
  assert.equal(s.lag, 3);
  assert.equal(s.totalSold, 11);
  assert.equal(s.reason, 'DependencyError');
  assert.equal(s.message, 'Kafka: down; Redis: down');
});

test('soldOutCondition: True only when every product is sold out, Unknown without stock', () => {
  assert.equal(soldOutCondition(undefined).status, 'Unknown');
  assert.deepEqual(soldOutCondition(observed.products), {
    type: 'SoldOut',
    status: 'False',
    reason: 'Available',
    message: '1 of 2 products sold out',
  });
  assert.equal(soldOutCondition([{ id: 1, total: 3, sold: 3 }]).status, 'True');
});

test('failedStatus keeps the last status and sets phase, reason and Ready False', () => {
  const s = failedStatus({ ...obj, status: { lag: 7 } }, 'InvalidSpec', 'bad', [], new Date(0));
  assert.equal(s.phase, 'Failed');
  assert.equal(s.lag, 7);
  assert.equal(s.reason, 'InvalidSpec');
  assert.deepEqual(
    s.conditions?.map((c) => [c.type, c.status, c.reason]),
    [['Ready', 'False', 'InvalidSpec']],
  );
});

test('mergeReports keeps the steps order', () => {
  const a = { conditions: [observed.conditions[0]!], events: [], errors: ['a'] };
  const b = { conditions: [observed.conditions[1]!], events: [], errors: ['b'] };
  const m = mergeReports([a, b]);
  assert.deepEqual(m.errors, ['a', 'b']);
  assert.deepEqual(
    m.conditions.map((c) => c.type),
    ['StockPreloaded', 'TopicReady'],
  );
});
