// How many consumer replicas an event needs. Pure: the reconciler keeps the ScaleMemory per event and
// passes the clock in, so every rule is unit-tested without Kafka or Kubernetes.
//
// - Before the start (Pending, Scheduled): minReplicas, pre-warmed so the first purchase finds a consumer.
// - Active, and Ended while lag remains: KEDA's rule, ceil(lag / lagPerReplica) clamped to
//   [minReplicas, min(maxReplicas, partitions)] (a replica beyond the partition count would sit idle;
//   when minReplicas exceeds that cap the cap wins). Lag unknown (Kafka unreachable): keep the current count.
// - Scale-down stabilization (the HPA's): a lower count is applied only when every recommendation of the
//   last scaleDownStabilizationSeconds is that low, i.e. replicas = max(recommendations in window). Scale-up
//   is immediate.
// - After the end: once lag has been 0 for cooldownSeconds, 0 replicas (the sale is drained).
// - Completed: 0. Failed: unchanged (a human looks at it; the operator does not tear consumers down).
import type { ConsumerSpec, Phase } from '../api/types.js';

export interface ScaleMemory {
  /** Recent recommendations, newest last, pruned to the stabilization window. */
  recommendations: { atMs: number; replicas: number }[];
  /** Since when lag has been 0 after the end (cooldown), or undefined. */
  lagZeroSinceMs?: number;
}

export interface ScaleInput {
  phase: Phase;
  nowMs: number;
  /** Total consumer lag of the event's group, undefined when Kafka could not be asked. */
  lag: number | undefined;
  partitions: number;
  consumer: Pick<
    ConsumerSpec,
    'minReplicas' | 'maxReplicas' | 'lagPerReplica' | 'scaleDownStabilizationSeconds' | 'cooldownSeconds'
  >;
  /** Replicas the Deployment has now (undefined when it does not exist yet). */
  current: number | undefined;
  memory: ScaleMemory;
}

export interface ScaleDecision {
  replicas: number;
  reason: string;
  memory: ScaleMemory;
  /** When a later reconcile would decide differently on its own (cooldown end, window expiry), ms from now. */
  recheckAfterMs?: number;
}

export const emptyScaleMemory = (): ScaleMemory => ({ recommendations: [] });

/** KEDA's rule: ceil(lag / lagPerReplica) clamped to [min, min(max, partitions)]. */
export function replicasForLag(lag: number, c: ScaleInput['consumer'], partitions: number): number {
  const upper = Math.max(1, Math.min(c.maxReplicas, partitions));
  const lower = Math.min(c.minReplicas, upper);
  return Math.min(upper, Math.max(lower, Math.ceil(Math.max(0, lag) / c.lagPerReplica)));
}

export function decideReplicas(input: ScaleInput): ScaleDecision {
  const { phase, nowMs, lag, partitions, consumer: c, current, memory } = input;
  const upper = Math.max(1, Math.min(c.maxReplicas, partitions));
  const prewarm = Math.min(c.minReplicas, upper);
  switch (phase) {
    case 'Pending':
    case 'Scheduled':
      return { replicas: prewarm, reason: 'PreWarm', memory: emptyScaleMemory() };
    case 'Completed':
      return { replicas: 0, reason: 'Completed', memory: emptyScaleMemory() };
    case 'Failed':
      return { replicas: current ?? 0, reason: 'Failed', memory };
    case 'Active':
    case 'Ended':
      break;
  }

  if (lag === undefined) {
    // Blind: never scale down on missing data; bring a missing or empty Deployment up to min while active.
    const keep = phase === 'Active' ? Math.max(current ?? 0, prewarm) : (current ?? prewarm);
    return { replicas: keep, reason: 'LagUnknown', memory };
  }

  if (phase === 'Ended' && lag === 0) {
    const since = memory.lagZeroSinceMs ?? nowMs;
    const left = since + c.cooldownSeconds * 1000 - nowMs;
    const mem: ScaleMemory = { recommendations: memory.recommendations, lagZeroSinceMs: since };
    if (left <= 0)
      return { replicas: 0, reason: 'Drained', memory: { recommendations: [], lagZeroSinceMs: since } };
    return { replicas: current ?? 1, reason: 'Cooldown', memory: mem, recheckAfterMs: left };
  }

  // Active, or Ended with lag left to drain.
  const raw = replicasForLag(lag, c, partitions);
  const recommendation = phase === 'Ended' ? Math.max(1, raw) : raw;
  const windowMs = c.scaleDownStabilizationSeconds * 1000;
  const recommendations = [
    ...memory.recommendations.filter((r) => r.atMs > nowMs - windowMs),
    { atMs: nowMs, replicas: recommendation },
  ];
  const stabilized = Math.max(...recommendations.map((r) => r.replicas));
  const replicas = Math.min(stabilized, upper);
  const reason =
    current === undefined || replicas === current ? 'Steady' : replicas > current ? 'ScaleUp' : 'ScaleDown';
  // When held up by an older, higher recommendation, look again when it leaves the window.
  const held = recommendations.filter((r) => r.replicas > recommendation);
  const recheckAfterMs =
    held.length > 0 ? Math.max(1, Math.min(...held.map((r) => r.atMs + windowMs - nowMs))) : undefined;
  return {
    replicas,
    reason,
    memory: { recommendations, lagZeroSinceMs: undefined },
    ...(recheckAfterMs !== undefined ? { recheckAfterMs } : {}),
  };
}
