// Status conditions, the Kubernetes way (metav1.Condition, apimachinery's meta.SetStatusCondition):
// each condition carries observedGeneration, and lastTransitionTime changes only when status changes.
import type { Condition, ConditionStatus, ConditionType, SeckillEventStatus } from '../api/types.js';

export interface ConditionUpdate {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** The conditions every event reports, in this order. */
export const CONDITION_TYPES: readonly ConditionType[] = [
  'Ready',
  'StockPreloaded',
  'TopicReady',
  'ConsumersReady',
  'SoldOut',
];

/** Returns a new list with `update` applied (pure; the input is not modified). */
export function setCondition(
  conditions: readonly Condition[],
  update: ConditionUpdate,
  generation: number,
  now: Date,
): Condition[] {
  const existing = conditions.find((c) => c.type === update.type);
  const lastTransitionTime =
    existing && existing.status === update.status ? existing.lastTransitionTime : now.toISOString();
  const next: Condition = { ...update, lastTransitionTime, observedGeneration: generation };
  const out = conditions.filter((c) => c.type !== update.type);
  out.push(next);
  return out.sort((a, b) => CONDITION_TYPES.indexOf(a.type) - CONDITION_TYPES.indexOf(b.type));
}

export function setConditions(
  conditions: readonly Condition[],
  updates: readonly ConditionUpdate[],
  generation: number,
  now: Date,
): Condition[] {
  return updates.reduce<Condition[]>((acc, u) => setCondition(acc, u, generation, now), [...conditions]);
}

export function findCondition(
  status: SeckillEventStatus | undefined,
  type: ConditionType,
): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Ready is True when every other condition that matters for selling is True. */
export function readyCondition(conditions: readonly ConditionUpdate[]): ConditionUpdate {
  const blocking = conditions.filter(
    (c) => c.type !== 'Ready' && c.type !== 'SoldOut' && c.status !== 'True',
  );
  if (blocking.length === 0) {
    return {
      type: 'Ready',
      status: 'True',
      reason: 'AllReady',
      message: 'stock preloaded, topic ready, consumers ready',
    };
  }
  return {
    type: 'Ready',
    status: 'False',
    reason: blocking[0]!.reason,
    message: blocking.map((c) => `${c.type}: ${c.message}`).join('; '),
  };
}

/**
 * Whether two statuses say the same thing (the reconciler skips a no-op write). Compared as JSON with
 * keys sorted, so field order does not matter.
 */
export function sameStatus(a: SeckillEventStatus | undefined, b: SeckillEventStatus): boolean {
  return stableJson(a ?? {}) === stableJson(b);
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)),
        )
      : v,
  );
}
