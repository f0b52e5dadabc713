// The operator's Prometheus metrics (prefix seckill_operator_), on its own registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createRegistry } from '../workloads/shared/metrics.js';
import type { ParsedEvent, Phase, SeckillEventStatus } from './api/types.js';
import type { ControllerMetrics } from './runtime/controller.js';
import type { WorkQueueHooks } from './runtime/workqueue.js';

export interface OperatorMetrics {
  registry: Registry;
  reconcileTotal: Counter<'result'>;
  reconcileDuration: Histogram<'result'>;
  queueDepth: Gauge;
  queueAdds: Counter;
  queueRetries: Counter;
  leader: Gauge;
  informerRestarts: Counter<'resource' | 'reason'>;
  eventStock: Gauge<'namespace' | 'event'>;
  eventSold: Gauge<'namespace' | 'event'>;
  eventLag: Gauge<'namespace' | 'event'>;
  eventPartitions: Gauge<'namespace' | 'event'>;
  eventDesiredReplicas: Gauge<'namespace' | 'event'>;
  eventReadyReplicas: Gauge<'namespace' | 'event'>;
  eventPhase: Gauge<'namespace' | 'event' | 'phase'>;
  productStock: Gauge<'namespace' | 'event' | 'product'>;
  productSold: Gauge<'namespace' | 'event' | 'product'>;
  /** Product ids reported per event, so a deleted event's product series can be dropped. */
  productsSeen: Map<string, Set<string>>;
}

export function createOperatorMetrics(registry: Registry = createRegistry('operator')): OperatorMetrics {
  const metrics = defineOperatorMetrics(registry);
  // Counters start at 0 so the first error is visible to rate() and the SeckillReconcileErrors alert.
  for (const result of ['success', 'requeue', 'conflict', 'error']) metrics.reconcileTotal.inc({ result }, 0);
  return metrics;
}

function defineOperatorMetrics(registry: Registry): OperatorMetrics {
  const registers = [registry];
  const perEvent = ['namespace', 'event'] as const;
  return {
    registry,
    reconcileTotal: new Counter({
      name: 'seckill_operator_reconcile_total',
      help: 'Reconciles by result (success, requeue, error).',
      labelNames: ['result'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'seckill_operator_reconcile_duration_seconds',
      help: 'Duration of one reconcile.',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'seckill_operator_workqueue_depth',
      help: 'Keys waiting in the work queue.',
      registers,
    }),
    queueAdds: new Counter({
      name: 'seckill_operator_workqueue_adds_total',
      help: 'Adds to the work queue.',
      registers,
    }),
    queueRetries: new Counter({
      name: 'seckill_operator_workqueue_retries_total',
      help: 'Rate-limited re-adds after a failed reconcile.',
      registers,
    }),
    leader: new Gauge({
      name: 'seckill_operator_leader',
      help: '1 while this process holds the leader lease.',
      registers,
    }),
    informerRestarts: new Counter({
      name: 'seckill_operator_informer_restarts_total',
      help: 'Informer restarts with a relist, by resource and reason (error, stale).',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    eventStock: new Gauge({
      name: 'seckill_operator_event_stock',
      help: 'Stock total of an event (sum over products).',
      labelNames: perEvent,
      registers,
    }),
    eventSold: new Gauge({
      name: 'seckill_operator_event_sold',
      help: 'Units sold of an event (from Redis).',
      labelNames: perEvent,
      registers,
    }),
    eventLag: new Gauge({
      name: 'seckill_operator_event_lag',
      help: 'Consumer group lag of an event (messages).',
      labelNames: perEvent,
      registers,
    }),
    eventPartitions: new Gauge({
      name: 'seckill_operator_event_partitions',
      help: 'Partitions of the event topic.',
      labelNames: perEvent,
      registers,
    }),
    eventDesiredReplicas: new Gauge({
      name: 'seckill_operator_event_desired_replicas',
      help: 'Consumer replicas the operator asks for.',
      labelNames: perEvent,
      registers,
    }),
    eventReadyReplicas: new Gauge({
      name: 'seckill_operator_event_ready_replicas',
      help: 'Ready consumer replicas.',
      labelNames: perEvent,
      registers,
    }),
    eventPhase: new Gauge({
      name: 'seckill_operator_event_phase',
      help: '1 for the phase an event is in.',
      labelNames: ['namespace', 'event', 'phase'],
      registers,
    }),
    // Per product: one product oversold must not hide behind another's unsold stock in an event sum.
    productStock: new Gauge({
      name: 'seckill_operator_product_stock',
      help: 'Stock total of one product (from Redis).',
      labelNames: [...perEvent, 'product'],
      registers,
    }),
    productSold: new Gauge({
      name: 'seckill_operator_product_sold',
      help: 'Units sold of one product (from Redis).',
      labelNames: [...perEvent, 'product'],
      registers,
    }),
    productsSeen: new Map(),
  };
}

const PHASES: readonly Phase[] = ['Pending', 'Scheduled', 'Active', 'Ended', 'Completed', 'Failed'];

export function queueHooks(m: OperatorMetrics): WorkQueueHooks {
  return {
    onAdd: () => m.queueAdds.inc(),
    onDepth: (depth) => m.queueDepth.set(depth),
    onRetry: () => m.queueRetries.inc(),
  };
}

/** What the generic controller reports, mapped onto the operator's series. */
export function controllerMetrics(m: OperatorMetrics): ControllerMetrics {
  return {
    queue: queueHooks(m),
    reconciled: (outcome, seconds) => {
      m.reconcileDuration.observe({ result: outcome }, seconds);
      m.reconcileTotal.inc({ result: outcome });
    },
  };
}

/** Publishes what one reconcile wrote to an event's status as the per-event and per-product gauges. */
export function observeEvent(m: OperatorMetrics, ev: ParsedEvent, status: SeckillEventStatus): void {
  const labels = { namespace: ev.namespace, event: ev.name };
  if (status.totalStock !== undefined) m.eventStock.set(labels, status.totalStock);
  if (status.totalSold !== undefined) m.eventSold.set(labels, status.totalSold);
  const key = `${ev.namespace}/${ev.name}`;
  const seen = m.productsSeen.get(key) ?? new Set<string>();
  for (const p of status.products ?? []) {
    const product = String(p.id);
    m.productStock.set({ ...labels, product }, p.total);
    m.productSold.set({ ...labels, product }, p.sold);
    seen.add(product);
  }
  m.productsSeen.set(key, seen);
  if (status.lag !== undefined) m.eventLag.set(labels, status.lag);
  if (status.partitions !== undefined) m.eventPartitions.set(labels, status.partitions);
  m.eventDesiredReplicas.set(labels, status.consumers?.desired ?? 0);
  m.eventReadyReplicas.set(labels, status.consumers?.ready ?? 0);
  for (const phase of PHASES) m.eventPhase.set({ ...labels, phase }, status.phase === phase ? 1 : 0);
}

/** Drops the per-event series of a deleted event. */
export function forgetEvent(m: OperatorMetrics, namespace: string, event: string): void {
  const labels = { namespace, event };
  for (const g of [
    m.eventStock,
    m.eventSold,
    m.eventLag,
    m.eventPartitions,
    m.eventDesiredReplicas,
    m.eventReadyReplicas,
  ]) {
    g.remove(labels);
  }
  for (const phase of PHASES) m.eventPhase.remove({ ...labels, phase });
  const key = `${namespace}/${event}`;
  for (const product of m.productsSeen.get(key) ?? []) {
    m.productStock.remove({ ...labels, product });
    m.productSold.remove({ ...labels, product });
  }
  m.productsSeen.delete(key);
}
