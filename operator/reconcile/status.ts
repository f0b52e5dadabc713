// An event's status: conditions the Kubernetes way (metav1.Condition, apimachinery's
// meta.SetStatusCondition: each carries observedGeneration, lastTransitionTime changes only when status
// changes), the status object built from what the steps observed, and its write (only when it changed).
import type { SeckillEventClient } from '../api/client.js';
import type {
  Condition,
  ConditionStatus,
  ConditionType,
  ParsedEvent,
  Phase,
  ProductStatus,
  SeckillEvent,
  SeckillEventStatus,
} from '../api/types.js';
import { consumerDeploymentName } from '../resources/consumer-deployment.js';

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

/** SoldOut from the products' totals and sold counts (Unknown when Redis could not be read). */
export function soldOutCondition(products: readonly ProductStatus[] | undefined): ConditionUpdate {
  if (!products) {
    return { type: 'SoldOut', status: 'Unknown', reason: 'RedisUnavailable', message: 'stock unknown' };
  }
  const out = products.filter((p) => p.sold >= p.total);
  if (out.length === products.length) {
    return {
      type: 'SoldOut',
      status: 'True',
      reason: 'AllSoldOut',
      message: `all ${products.length} products sold out`,
    };
  }
  return {
    type: 'SoldOut',
    status: 'False',
    reason: 'Available',
    message: `${out.length} of ${products.length} products sold out`,
  };
}

/** What one reconcile observed, for the status. */
export interface Observed {
  phase: Phase;
  products: ProductStatus[] | undefined;
  partitions: number | undefined;
  /** What the topic has; undefined when Kafka could not be asked. */
  replication?: { replicationFactor?: number; minInSyncReplicas?: number } | undefined;
  lag: number | undefined;
  desired: number;
  ready: number;
  lastScaleTime: string | undefined;
  /** Every condition but Ready, which is derived from them here. */
  conditions: ConditionUpdate[];
  errors: readonly string[];
}

/** The new status; what this reconcile could not observe keeps its last known value. */
export function buildStatus(
  obj: SeckillEvent,
  ev: ParsedEvent,
  o: Observed,
  now = new Date(),
): SeckillEventStatus {
  const old = obj.status ?? {};
  const updates = [readyCondition(o.conditions), ...o.conditions];
  const status: SeckillEventStatus = {
    phase: o.phase,
    observedGeneration: ev.generation,
    topic: ev.topic,
    productCount: ev.products.length,
    consumers: {
      deployment: consumerDeploymentName(ev.name),
      desired: o.desired,
      ready: o.ready,
      summary: `${o.ready}/${o.desired}`,
    },
    conditions: setConditions(old.conditions ?? [], updates, ev.generation, now),
  };
  const partitions = o.partitions ?? old.partitions;
  if (partitions !== undefined) status.partitions = partitions;
  const replicationFactor = o.replication?.replicationFactor ?? old.replicationFactor;
  if (replicationFactor !== undefined) status.replicationFactor = replicationFactor;
  const minInSyncReplicas = o.replication?.minInSyncReplicas ?? old.minInSyncReplicas;
  if (minInSyncReplicas !== undefined) status.minInSyncReplicas = minInSyncReplicas;
  const products = o.products ?? old.products;
  if (products) {
    status.products = products;
    status.totalStock = products.reduce((sum, p) => sum + p.total, 0);
    status.totalSold = products.reduce((sum, p) => sum + p.sold, 0);
  }
  const lag = o.lag ?? old.lag;
  if (lag !== undefined) status.lag = lag;
  if (o.lastScaleTime) status.lastScaleTime = o.lastScaleTime;
  if (o.errors.length > 0) {
    status.reason = 'DependencyError';
    status.message = o.errors.join('; ');
  }
  return status;
}

/** Phase Failed with a reason, keeping the rest of the last status. */
export function failedStatus(
  obj: SeckillEvent,
  reason: string,
  message: string,
  extra: readonly ConditionUpdate[] = [],
  now = new Date(),
): SeckillEventStatus {
  const generation = obj.metadata?.generation ?? 0;
  const conditions = setConditions(
    obj.status?.conditions ?? [],
    [{ type: 'Ready', status: 'False', reason, message }, ...extra],
    generation,
    now,
  );
  return { ...obj.status, phase: 'Failed', reason, message, observedGeneration: generation, conditions };
}

/**
 * Merge-patches /status when it changed (returns whether it wrote); fields no longer reported are
 * removed (null).
 */
export async function writeStatus(
  client: SeckillEventClient,
  obj: SeckillEvent,
  status: SeckillEventStatus,
): Promise<boolean> {
  if (sameStatus(obj.status, status)) return false;
  const body: Record<string, unknown> = { ...status };
  for (const k of Object.keys(obj.status ?? {})) if (!(k in status)) body[k] = null;
  await client.patchStatus(obj.metadata?.namespace ?? 'default', obj.metadata?.name ?? '', { status: body });
  return true;
}
