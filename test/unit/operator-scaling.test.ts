import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decideReplicas,
  emptyScaleMemory,
  replicasForLag,
  type ScaleInput,
} from '../../operator/resources/scaling.js';

const consumer = {
  minReplicas: 2,
  maxReplicas: 8,
  lagPerReplica: 100,
  scaleDownStabilizationSeconds: 60,
  cooldownSeconds: 30,
};
const input = (over: Partial<ScaleInput>): ScaleInput => ({
  phase: 'Active',
  nowMs: 1_000_000,
  lag: 0,
  partitions: 6,
  consumer,
  current: 2,
  memory: emptyScaleMemory(),
  ...over,
});

test('KEDA rule: ceil(lag / lagPerReplica) clamped to [min, min(max, partitions)]', () => {
  assert.equal(replicasForLag(0, consumer, 6), 2);
  assert.equal(replicasForLag(201, consumer, 6), 3);
  assert.equal(replicasForLag(450, consumer, 6), 5);
  assert.equal(replicasForLag(10_000, consumer, 6), 6, 'capped at partitions');
  assert.equal(replicasForLag(10_000, consumer, 50), 8, 'capped at max');
  assert.equal(replicasForLag(0, { ...consumer, minReplicas: 5 }, 3), 3, 'partitions beat min');
});

test('pre-warmed to min before the start; 0 when completed; untouched when failed', () => {
  assert.equal(decideReplicas(input({ phase: 'Scheduled', lag: 5000 })).replicas, 2);
  assert.equal(decideReplicas(input({ phase: 'Pending', lag: undefined })).replicas, 2);
  assert.equal(decideReplicas(input({ phase: 'Completed' })).replicas, 0);
  assert.equal(decideReplicas(input({ phase: 'Failed', current: 4 })).replicas, 4);
});

test('scale up is immediate; scale down waits for the stabilization window', () => {
  const up = decideReplicas(input({ lag: 550 }));
  assert.equal(up.replicas, 6);
  assert.equal(up.reason, 'ScaleUp');
  // Lag drops 10 s later: the 6 of 10 s ago still counts.
  const held = decideReplicas(input({ lag: 0, nowMs: 1_010_000, current: 6, memory: up.memory }));
  assert.equal(held.replicas, 6);
  assert.equal(held.recheckAfterMs, 50_000, 're-check when the high recommendation leaves the window');
  // 61 s after the peak: down to min.
  const down = decideReplicas(input({ lag: 0, nowMs: 1_061_000, current: 6, memory: held.memory }));
  assert.equal(down.replicas, 2);
  assert.equal(down.reason, 'ScaleDown');
});

test('lag unknown: never scales down, brings an active sale up to min', () => {
  assert.equal(decideReplicas(input({ lag: undefined, current: 5 })).replicas, 5);
  assert.equal(decideReplicas(input({ lag: undefined, current: 0 })).replicas, 2);
  assert.equal(decideReplicas(input({ phase: 'Ended', lag: undefined, current: 3 })).replicas, 3);
});

test('after the end: drain while lag remains, then 0 once lag stayed 0 for the cooldown', () => {
  const draining = decideReplicas(
    input({
      phase: 'Ended',
      lag: 150,
      current: 4,
      consumer: { ...consumer, scaleDownStabilizationSeconds: 0 },
    }),
  );
  assert.equal(draining.replicas, 2);
  const first = decideReplicas(input({ phase: 'Ended', lag: 0, current: 2 }));
  assert.equal(first.replicas, 2);
  assert.equal(first.reason, 'Cooldown');
  assert.equal(first.recheckAfterMs, 30_000);
  const mid = decideReplicas(
    input({ phase: 'Ended', lag: 0, current: 2, nowMs: 1_020_000, memory: first.memory }),
  );
  assert.equal(mid.replicas, 2);
  // Lag comes back during the cooldown: the clock restarts.
  const again = decideReplicas(
    input({ phase: 'Ended', lag: 10, current: 2, nowMs: 1_025_000, memory: mid.memory }),
  );
  assert.equal(again.memory.lagZeroSinceMs, undefined);
  const restart = decideReplicas(
    input({ phase: 'Ended', lag: 0, current: 2, nowMs: 1_026_000, memory: again.memory }),
  );
  assert.equal(restart.replicas, 2);
  const done = decideReplicas(
    input({ phase: 'Ended', lag: 0, current: 2, nowMs: 1_056_000, memory: restart.memory }),
  );
  assert.equal(done.replicas, 0);
  assert.equal(done.reason, 'Drained');
});
