// The reconcile loop of one SeckillEvent, controller-runtime style: level-based (it reads the world and
// converges it, whatever events led here) and idempotent (running it twice changes nothing the second
// time). One call:
//   1. reads the event (gone -> forget it); deleting -> the finalizer's cleanup, then remove the finalizer;
//   2. validates the spec (invalid -> phase Failed, reason InvalidSpec, no retry until the spec changes);
//   3. adds the finalizer;
//   4. converges in named steps (steps/), each deciding its conditions and Events:
//      name   claim the event's name (global in Redis and Kafka; another namespace/uid's -> phase Failed,
//             StockPreloaded False reason NameConflict, nothing written, rechecked at the idle refresh);
//      stock  preload the stock and the event's window for the front door (StockPreloaded);
//      topic  ensure the topic and its partitions (TopicReady), read the consumer lag;
//      consumers  apply the consumer Deployment with the scaling rule's replicas (ConsumersReady);
//      status the phase (phase.ts) and the status with conditions, written only when it changed;
//   5. asks to be requeued when the clock next matters (start, end, refresh).
// A dependency down (Redis, Kafka, API) shows in its condition, and the reconcile fails after writing
// status, so the work queue retries it with backoff. It never crashes the process.
import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from '../../workloads/shared/log.js';
import type { ScriptedRedis } from '../../workloads/shared/redis/scripts.js';
import type { SeckillEventClient } from '../api/client.js';
import { SpecError, parseSeckillEvent, splitKey, type ParsedEvent, type SeckillEvent } from '../api/types.js';
import type { OperatorConfig } from '../config.js';
import { forgetEvent, observeEvent, type OperatorMetrics } from '../metrics.js';
import type { LagAdmin } from '../resources/lag.js';
import { emptyScaleMemory, type ScaleMemory } from '../resources/scaling.js';
import { parseOwner } from '../resources/stock.js';
import type { TopicAdmin } from '../resources/topic.js';
import type { Reconcile, ReconcileResult } from '../runtime/controller.js';
import type { EventTarget, Recorder } from '../runtime/event-recorder.js';
import { errMessage, ignoreNotFound, isNotFound } from '../runtime/kube.js';
import { addFinalizer, cleanup, hasFinalizer, removeFinalizer } from './finalizer.js';
import { clockPhase, computePhase, nextWakeupMs } from './phase.js';
import {
  buildStatus,
  failedStatus,
  sameStatus,
  soldOutCondition,
  writeStatus,
  type ConditionUpdate,
} from './status.js';
import { consumersStep } from './steps/consumers.js';
import { claimName, mayManage } from './steps/name.js';
import { mergeReports, type PlannedEvent } from './steps/step.js';
import { stockStep } from './steps/stock.js';
import { topicStep } from './steps/topic.js';

export interface ReconcilerDeps {
  events: SeckillEventClient;
  apps: AppsV1Api;
  core: CoreV1Api;
  redis: ScriptedRedis;
  kafka: TopicAdmin & LagAdmin;
  recorder: Recorder;
  metrics: OperatorMetrics;
  log: Logger;
  config: Pick<
    OperatorConfig,
    | 'consumerImage'
    | 'consumerImagePullPolicy'
    | 'consumerResources'
    | 'consumerClaimWait'
    | 'consumerExtraEnv'
    | 'activeRefreshMs'
    | 'idleRefreshMs'
    | 'topicReplication'
  >;
}

/** A reconcile that did its best but must be retried with backoff (a dependency is down). */
export class ReconcileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcileError';
  }
}

/** What the operator remembers between reconciles of one event (lost on restart: all of it is optional). */
interface EventMemory {
  scale: ScaleMemory;
  /** This process saw the event own its name (lets a Redis outage not stop Kafka and scaling work). */
  ownsName?: boolean;
}

const targetOf = (obj: SeckillEvent): EventTarget => ({
  namespace: obj.metadata?.namespace ?? 'default',
  name: obj.metadata?.name ?? '',
  uid: obj.metadata?.uid ?? '',
});

export class Reconciler implements Reconcile {
  private readonly memory = new Map<string, EventMemory>();

  constructor(private readonly d: ReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const obj = await ignoreNotFound(this.d.events.get(namespace, name));
    if (!obj) return this.forget(key, namespace, name);
    if (obj.metadata?.deletionTimestamp) return this.finalize(key, obj);

    let ev: ParsedEvent;
    try {
      ev = parseSeckillEvent(obj);
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      await this.fail(obj, 'InvalidSpec', err.message);
      return {};
    }
    try {
      if (!hasFinalizer(obj)) await addFinalizer(this.d.events, obj);
      return await this.converge(key, obj, ev);
    } catch (err) {
      // Deleted while we worked on it: nothing left to converge (the finalizer saw to the cleanup).
      if (isNotFound(err)) return {};
      throw err;
    }
  }

  private async converge(key: string, obj: SeckillEvent, ev: ParsedEvent): Promise<ReconcileResult> {
    const now = Date.now();
    const mem = this.memoryOf(key);
    const claim = await claimName(this.d.redis, ev, mem.ownsName === true);
    if (claim.state !== 'unknown') mem.ownsName = claim.state === 'owned';
    if (claim.state === 'taken') return this.nameConflict(obj, ev, claim.owner);
    const allowed = mayManage(claim);

    const stock = await stockStep(this.d.redis, ev, claim);
    const topic = await topicStep(this.d.kafka, ev, allowed, this.d.config.topicReplication);
    const window = { nowMs: now, startMs: ev.startMs, endMs: ev.endMs, preloaded: stock.preloaded };
    const consumers = await consumersStep(this.d, ev, {
      allowed,
      phase: clockPhase(window),
      nowMs: now,
      lag: topic.lag,
      partitions: topic.partitions ?? ev.partitions,
      memory: mem.scale,
      lastScaleTime: obj.status?.lastScaleTime,
    });
    mem.scale = consumers.memory;
    const report = mergeReports([stock, topic, consumers]);
    const phase = computePhase({
      ...window,
      lag: topic.lag,
      desiredReplicas: consumers.desired,
      readyReplicas: consumers.ready,
    });

    await this.record(obj, report.events);
    const status = buildStatus(obj, ev, {
      phase,
      products: stock.products,
      partitions: topic.partitions,
      replication: topic.replication,
      lag: topic.lag,
      desired: consumers.desired,
      ready: consumers.ready,
      lastScaleTime: consumers.lastScaleTime,
      conditions: [...report.conditions, soldOutCondition(stock.products)],
      errors: report.errors,
    });
    await writeStatus(this.d.events, obj, status);
    if (obj.status?.phase !== phase) await this.record(obj, [phaseChange(obj, phase)]);
    observeEvent(this.d.metrics, ev, status);

    if (report.errors.length > 0) throw new ReconcileError(report.errors.join('; '));
    const after = [nextWakeupMs(phase, now, ev.startMs, ev.endMs, this.d.config), consumers.recheckAfterMs];
    const due = after.filter((v): v is number => v !== undefined);
    return due.length > 0 ? { requeueAfterMs: Math.min(...due) } : {};
  }

  private memoryOf(key: string): EventMemory {
    const mem = this.memory.get(key) ?? { scale: emptyScaleMemory() };
    this.memory.set(key, mem);
    return mem;
  }

  private forget(key: string, namespace: string, name: string): ReconcileResult {
    this.memory.delete(key);
    forgetEvent(this.d.metrics, namespace, name);
    return {};
  }

  private async record(obj: SeckillEvent, events: readonly PlannedEvent[]): Promise<void> {
    for (const e of events) await this.d.recorder.record(targetOf(obj), e.type, e.reason, e.message);
  }

  /**
   * Another SeckillEvent (another namespace, or an older uid the claim could not adopt) owns this name in
   * Redis and Kafka: Failed with NameConflict, nothing written to either. Looked at again at the idle
   * refresh, so the event proceeds once the owner's cleanup has freed the name.
   */
  private async nameConflict(obj: SeckillEvent, ev: ParsedEvent, owner: string): Promise<ReconcileResult> {
    const other = parseOwner(owner);
    const message =
      `the name ${ev.name} is already used by SeckillEvent ${other.namespace}/${ev.name} (uid ${other.uid || '?'}): ` +
      `event names are global across namespaces in Redis (seckill:event:{${ev.name}}) and Kafka (topic ${ev.topic}), ` +
      'so this event is not preloaded and nothing was written; rename it, or delete the other one';
    await this.fail(obj, 'NameConflict', message, [
      { type: 'StockPreloaded', status: 'False', reason: 'NameConflict', message },
    ]);
    return { requeueAfterMs: this.d.config.idleRefreshMs };
  }

  /** Phase Failed with a reason: nothing is retried until the spec changes (a new generation). */
  private async fail(
    obj: SeckillEvent,
    reason: string,
    message: string,
    extra: ConditionUpdate[] = [],
  ): Promise<void> {
    const status = failedStatus(obj, reason, message, extra);
    if (!sameStatus(obj.status, status)) {
      await writeStatus(this.d.events, obj, status);
      await this.record(obj, [{ type: 'Warning', reason, message }]);
    }
    const t = targetOf(obj);
    this.d.log.warn('event failed', { event: `${t.namespace}/${t.name}`, reason, message });
  }

  private async finalize(key: string, obj: SeckillEvent): Promise<ReconcileResult> {
    if (!hasFinalizer(obj)) return {};
    let summary: string;
    try {
      summary = await cleanup(this.d, obj);
    } catch (err) {
      const message = `cleanup failed, will retry: ${errMessage(err)}`;
      await this.record(obj, [{ type: 'Warning', reason: 'CleanupFailed', message }]);
      throw new ReconcileError(message);
    }
    await removeFinalizer(this.d.events, obj);
    await this.record(obj, [{ type: 'Normal', reason: 'CleanedUp', message: summary }]);
    this.d.log.info('event deleted', { event: key, summary });
    const t = targetOf(obj);
    return this.forget(key, t.namespace, t.name);
  }
}

function phaseChange(obj: SeckillEvent, phase: string): PlannedEvent {
  return { type: 'Normal', reason: 'Phase', message: `${obj.status?.phase ?? 'new'} -> ${phase}` };
}
