// The reconcile loop of one SeckillEvent, controller-runtime style: level-based (it reads the world and
// converges it, whatever events led here) and idempotent (running it twice changes nothing the second
// time). One call:
//   1. reads the event (gone -> forget it); deleting -> the finalizer's cleanup, then remove the finalizer;
//   2. validates the spec (invalid -> phase Failed, reason InvalidSpec, no retry until the spec changes);
//   3. adds the finalizer;
//   4. claims the event's name (global in Redis and Kafka; taken by another namespace/uid -> phase Failed,
//      StockPreloaded False reason NameConflict, nothing written, rechecked at the idle refresh), then
//      preloads the stock and the event's window for the front door (StockPreloaded);
//   5. ensures the topic and its partitions (TopicReady), reads the consumer lag;
//   6. applies the consumer Deployment with the replicas of the scaling rule (ConsumersReady);
//   7. computes the phase from the clock and writes status (only when it changed) with conditions;
//   8. asks to be requeued when the clock next matters (start, end, refresh).
// A dependency down (Redis, Kafka, API) shows in its condition, and the reconcile fails after writing
// status, so the work queue retries it with backoff. It never crashes the process.
import {
  ApiException,
  PatchStrategy,
  setHeaderOptions,
  type AppsV1Api,
  type CustomObjectsApi,
  type V1Deployment,
} from '@kubernetes/client-node';
import { readEvent, type EventSpec } from '../../workloads/shared/catalog.js';
import { consumerGroup } from '../../workloads/shared/kafka/topics.js';
import type { Logger } from '../../workloads/shared/log.js';
import type { ScriptedRedis } from '../../workloads/shared/redis/scripts.js';
import {
  GROUP,
  PLURAL,
  SpecError,
  VERSION,
  parseSeckillEvent,
  splitKey,
  type Condition,
  type ParsedEvent,
  type Phase,
  type ProductStatus,
  type SeckillEvent,
  type SeckillEventStatus,
} from '../api/types.js';
import type { OperatorConfig } from '../config.js';
import { forgetEvent, type OperatorMetrics } from '../metrics.js';
import {
  FIELD_MANAGER,
  buildConsumerDeployment,
  consumerDeploymentName,
  ownedBy,
} from '../resources/consumer-deployment.js';
import { consumerLag, type LagAdmin } from '../resources/lag.js';
import { decideReplicas, emptyScaleMemory, type ScaleMemory } from '../resources/scaling.js';
import { claimEventName, ownerId, parseOwner, preloadStock, readProducts } from '../resources/stock.js';
import { ensureTopic, type TopicAdmin } from '../resources/topic.js';
import type { Recorder } from './events.js';
import { addFinalizer, cleanup, hasFinalizer, removeFinalizer } from './finalizer.js';
import { nextWakeupMs } from './phase.js';
import { readyCondition, sameStatus, setConditions, type ConditionUpdate } from './status.js';

/** While Redis cannot say who owns an event name, the event's topic and consumers are left alone. */
const ownerUnknown = (
  type: 'TopicReady' | 'ConsumersReady',
  name: string,
  what: string,
): ConditionUpdate => ({
  type,
  status: 'Unknown',
  reason: 'RedisUnavailable',
  message: `whether the name ${name} is this event's is unknown until Redis answers: ${what} left alone`,
});

export interface ReconcilerDeps {
  custom: CustomObjectsApi;
  apps: AppsV1Api;
  redis: ScriptedRedis;
  kafka: TopicAdmin & LagAdmin;
  recorder: Recorder;
  metrics: OperatorMetrics;
  log: Logger;
  config: Pick<
    OperatorConfig,
    'consumerImage' | 'consumerImagePullPolicy' | 'consumerResources' | 'activeRefreshMs' | 'idleRefreshMs'
  >;
}

export interface ReconcileResult {
  /** Reconcile again after this long (clock-driven work), even if nothing changes. */
  requeueAfterMs?: number;
}

/** A reconcile that did its best but must be retried with backoff (a dependency is down). */
export class ReconcileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcileError';
  }
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
/** A one-line error message; an ApiException's is the API server's Status message, not the whole body. */
export function errMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    let detail = '';
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        detail = typeof parsed.message === 'string' ? parsed.message : body.slice(0, 300);
      } catch {
        detail = body.slice(0, 300);
      }
    }
    return `API ${err.code}: ${detail || 'request failed'}`;
  }
  return err instanceof Error ? err.message : String(err);
}
const isNotFound = (err: unknown): boolean => err instanceof ApiException && err.code === 404;

/** What the operator remembers between reconciles of one event (lost on restart: all of it is optional). */
interface EventMemory {
  scale: ScaleMemory;
  /** This process saw the event own its name (lets a Redis outage not stop Kafka and scaling work). */
  ownsName?: boolean;
}

export class Reconciler {
  private readonly memory = new Map<string, EventMemory>();

  constructor(private readonly d: ReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    let obj: SeckillEvent;
    try {
      obj = (await this.d.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
      })) as SeckillEvent;
    } catch (err) {
      if (isNotFound(err)) {
        this.memory.delete(key);
        forgetEvent(this.d.metrics, namespace, name);
        return {};
      }
      throw err;
    }

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
      if (!hasFinalizer(obj)) await addFinalizer(this.d.custom, obj);
      return await this.converge(key, obj, ev);
    } catch (err) {
      // Deleted while we worked on it: nothing left to converge (the finalizer saw to the cleanup).
      if (isNotFound(err)) return {};
      throw err;
    }
  }

  private target(ev: Pick<ParsedEvent, 'namespace' | 'name' | 'uid'>): {
    namespace: string;
    name: string;
    uid: string;
  } {
    return { namespace: ev.namespace, name: ev.name, uid: ev.uid };
  }

  private async converge(key: string, obj: SeckillEvent, ev: ParsedEvent): Promise<ReconcileResult> {
    const { recorder, log } = this.d;
    const target = this.target(ev);
    const now = Date.now();
    const errors: string[] = [];
    const conds: ConditionUpdate[] = [];
    const mem = this.memory.get(key) ?? { scale: emptyScaleMemory() };
    this.memory.set(key, mem);

    // The name first: it is global in Redis and Kafka, and another namespace's event may hold it.
    let nameOk = false;
    let claimError: string | undefined;
    try {
      const owner = await claimEventName(this.d.redis.redis, ev.name, ev);
      if (owner !== ownerId(ev)) {
        mem.ownsName = false;
        return await this.nameConflict(obj, ev, owner);
      }
      mem.ownsName = true;
      nameOk = true;
    } catch (err) {
      claimError = `Redis: ${errMessage(err)}`;
      // Owned before the outage: a name is only given up by its owner's cleanup, so carry on with Kafka.
      nameOk = mem.ownsName === true;
    }

    // Stock and the front door's catalog entry.
    let products: ProductStatus[] | undefined;
    let preloaded = false;
    if (claimError !== undefined) {
      conds.push({
        type: 'StockPreloaded',
        status: 'False',
        reason: 'RedisUnavailable',
        message: claimError,
      });
      errors.push(claimError);
    } else {
      try {
        const stored = await readEvent(this.d.redis.redis, ev.name).catch(() => undefined);
        if (stored && sameCatalogEntry(stored, ev)) {
          products = await readProducts(this.d.redis.redis, ev);
          conds.push(stockCondition(ev, products));
        } else {
          const res = await preloadStock(this.d.redis, ev);
          products = res.products;
          if (res.belowSold.length > 0) {
            const msg = res.belowSold
              .map(
                (b) =>
                  `product ${b.id}: stock ${b.requested} is below the ${b.sold} units already sold, kept ${b.kept}`,
              )
              .join('; ');
            conds.push({ type: 'StockPreloaded', status: 'False', reason: 'StockBelowSold', message: msg });
            await recorder.record(target, 'Warning', 'StockBelowSold', msg);
          } else {
            conds.push(stockCondition(ev, products));
            const units = products.reduce((s, p) => s + p.total, 0);
            await recorder.record(
              target,
              'Normal',
              'StockPreloaded',
              `preloaded ${products.length} products, ${units} units`,
            );
          }
        }
        preloaded = true;
      } catch (err) {
        const msg = `Redis: ${errMessage(err)}`;
        conds.push({ type: 'StockPreloaded', status: 'False', reason: 'RedisUnavailable', message: msg });
        errors.push(msg);
      }
    }

    // Topic, partitions and lag (not while the name's owner is unknown: the topic may be another's).
    let partitions: number | undefined;
    let lag: number | undefined;
    if (!nameOk) {
      conds.push(ownerUnknown('TopicReady', ev.name, 'topic'));
    } else {
      try {
        const topic = await ensureTopic(this.d.kafka, ev.topic, ev.partitions, ev.replicationFactor);
        partitions = topic.partitions;
        if (topic.action === 'created') {
          await recorder.record(
            target,
            'Normal',
            'TopicCreated',
            `created topic ${ev.topic} with ${topic.partitions} partitions`,
          );
        } else if (topic.action === 'raised') {
          await recorder.record(
            target,
            'Normal',
            'PartitionsRaised',
            `raised topic ${ev.topic} from ${topic.previous} to ${topic.partitions} partitions`,
          );
        }
        if (topic.action === 'cannotLower') {
          const msg = `topic ${ev.topic} has ${topic.partitions} partitions and the spec asks ${ev.partitions}: Kafka cannot remove partitions, keeping ${topic.partitions}`;
          conds.push({ type: 'TopicReady', status: 'False', reason: 'NotSupported', message: msg });
          await recorder.record(target, 'Warning', 'NotSupported', msg);
        } else {
          conds.push({
            type: 'TopicReady',
            status: 'True',
            reason: 'TopicReady',
            message: `topic ${ev.topic} has ${topic.partitions} partitions`,
          });
        }
      } catch (err) {
        const msg = `Kafka: ${errMessage(err)}`;
        conds.push({ type: 'TopicReady', status: 'False', reason: 'KafkaUnavailable', message: msg });
        errors.push(msg);
      }
    }
    if (partitions !== undefined) {
      try {
        lag = await consumerLag(this.d.kafka, consumerGroup(ev.name), ev.topic);
      } catch (err) {
        // Right after a partition raise the new partitions may have no leader yet: retry soon.
        errors.push(`Kafka lag: ${errMessage(err)}`);
      }
    }

    // The clock's phase (Completed is decided after scaling: it needs the consumers at 0).
    const clockPhase: Phase = !preloaded
      ? 'Pending'
      : now < ev.startMs
        ? 'Scheduled'
        : now < ev.endMs
          ? 'Active'
          : 'Ended';

    // Consumers.
    let desired = 0;
    let ready = 0;
    let recheckAfterMs: number | undefined;
    let lastScaleTime = obj.status?.lastScaleTime;
    if (!nameOk) {
      conds.push(ownerUnknown('ConsumersReady', ev.name, 'consumers'));
    } else {
      try {
        const existing = await this.readDeployment(ev);
        if (existing && !ownedBy(existing, ev.uid)) {
          const msg = `Deployment ${consumerDeploymentName(ev.name)} exists and is not owned by this SeckillEvent`;
          conds.push({ type: 'ConsumersReady', status: 'False', reason: 'DeploymentConflict', message: msg });
          await recorder.record(target, 'Warning', 'DeploymentConflict', msg);
          errors.push(msg);
        } else {
          const current = existing?.spec?.replicas;
          const decision = decideReplicas({
            phase: clockPhase,
            nowMs: now,
            lag,
            partitions: partitions ?? ev.partitions,
            consumer: ev.consumer,
            current,
            memory: mem.scale,
          });
          mem.scale = decision.memory;
          recheckAfterMs = decision.recheckAfterMs;
          desired = decision.replicas;
          const applied = await this.applyDeployment(ev, desired);
          ready = applied.status?.readyReplicas ?? 0;
          if (!existing) {
            await recorder.record(
              target,
              'Normal',
              'DeploymentCreated',
              `created Deployment ${consumerDeploymentName(ev.name)} with ${desired} replicas`,
            );
          } else if (current !== desired) {
            lastScaleTime = new Date(now).toISOString();
            const msg = `scaled consumers from ${current ?? 0} to ${desired} (${decision.reason}, lag ${lag ?? 'unknown'})`;
            log.info(msg, { event: key });
            await recorder.record(target, 'Normal', 'Scaled', msg);
          }
          if (desired === 0) {
            conds.push({
              type: 'ConsumersReady',
              status: 'True',
              reason: 'ScaledToZero',
              message: 'no consumers needed',
            });
          } else if (ready >= desired) {
            conds.push({
              type: 'ConsumersReady',
              status: 'True',
              reason: 'Ready',
              message: `${ready}/${desired} consumers ready`,
            });
          } else {
            conds.push({
              type: 'ConsumersReady',
              status: 'False',
              reason: 'Progressing',
              message: `${ready}/${desired} consumers ready`,
            });
          }
        }
      } catch (err) {
        const msg = `consumer Deployment: ${errMessage(err)}`;
        conds.push({ type: 'ConsumersReady', status: 'False', reason: 'DeploymentFailed', message: msg });
        errors.push(msg);
      }
    }

    if (products) conds.push(soldOutCondition(products));
    else
      conds.push({
        type: 'SoldOut',
        status: 'Unknown',
        reason: 'RedisUnavailable',
        message: 'stock unknown',
      });

    const phase: Phase =
      clockPhase === 'Ended' && lag === 0 && desired === 0 && ready === 0 ? 'Completed' : clockPhase;
    const ready_ = readyCondition(conds);
    const status = this.buildStatus(obj, ev, {
      phase,
      products,
      partitions,
      lag,
      desired,
      ready,
      lastScaleTime,
      conditions: [ready_, ...conds],
      message: errors.length > 0 ? errors.join('; ') : undefined,
    });
    await this.writeStatus(obj, status);
    if (obj.status?.phase !== phase) {
      await recorder.record(target, 'Normal', 'Phase', `${obj.status?.phase ?? 'new'} -> ${phase}`);
    }
    this.observe(ev, status);

    if (errors.length > 0) throw new ReconcileError(errors.join('; '));
    const wakeup = nextWakeupMs(phase, now, ev.startMs, ev.endMs, this.d.config);
    const after = [wakeup, recheckAfterMs].filter((v): v is number => v !== undefined);
    return after.length > 0 ? { requeueAfterMs: Math.min(...after) } : {};
  }

  private async readDeployment(ev: ParsedEvent): Promise<V1Deployment | undefined> {
    try {
      return await this.d.apps.readNamespacedDeployment({
        name: consumerDeploymentName(ev.name),
        namespace: ev.namespace,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Server-side apply: creates or updates exactly the fields we own. */
  private async applyDeployment(ev: ParsedEvent, replicas: number): Promise<V1Deployment> {
    const { config } = this.d;
    const body = buildConsumerDeployment(ev, {
      image: config.consumerImage,
      imagePullPolicy: config.consumerImagePullPolicy,
      replicas,
      resources: config.consumerResources,
    });
    return this.d.apps.patchNamespacedDeployment(
      {
        name: consumerDeploymentName(ev.name),
        namespace: ev.namespace,
        body,
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      apply,
    );
  }

  private buildStatus(
    obj: SeckillEvent,
    ev: ParsedEvent,
    s: {
      phase: Phase;
      products: ProductStatus[] | undefined;
      partitions: number | undefined;
      lag: number | undefined;
      desired: number;
      ready: number;
      lastScaleTime: string | undefined;
      conditions: ConditionUpdate[];
      message: string | undefined;
    },
  ): SeckillEventStatus {
    const old = obj.status ?? {};
    const products = s.products ?? old.products;
    const conditions: Condition[] = setConditions(
      old.conditions ?? [],
      s.conditions,
      ev.generation,
      new Date(),
    );
    const status: SeckillEventStatus = {
      phase: s.phase,
      observedGeneration: ev.generation,
      topic: ev.topic,
      productCount: ev.products.length,
      consumers: {
        deployment: consumerDeploymentName(ev.name),
        desired: s.desired,
        ready: s.ready,
        summary: `${s.ready}/${s.desired}`,
      },
      conditions,
    };
    const partitions = s.partitions ?? old.partitions;
    if (partitions !== undefined) status.partitions = partitions;
    if (products) {
      status.products = products;
      status.totalStock = products.reduce((sum, p) => sum + p.total, 0);
      status.totalSold = products.reduce((sum, p) => sum + p.sold, 0);
    }
    const lag = s.lag ?? old.lag;
    if (lag !== undefined) status.lag = lag;
    if (s.lastScaleTime) status.lastScaleTime = s.lastScaleTime;
    if (s.message) {
      status.reason = 'DependencyError';
      status.message = s.message;
    }
    return status;
  }

  /** Merge-patches /status when it changed; fields no longer reported are removed (null). */
  private async writeStatus(obj: SeckillEvent, status: SeckillEventStatus): Promise<void> {
    if (sameStatus(obj.status, status)) return;
    const body: Record<string, unknown> = { ...status };
    for (const k of Object.keys(obj.status ?? {})) if (!(k in status)) body[k] = null;
    await this.d.custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: obj.metadata?.namespace ?? 'default',
        name: obj.metadata?.name ?? '',
        body: { status: body },
      },
      merge,
    );
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
    const generation = obj.metadata?.generation ?? 0;
    const target = {
      namespace: obj.metadata?.namespace ?? 'default',
      name: obj.metadata?.name ?? '',
      uid: obj.metadata?.uid ?? '',
    };
    const conditions = setConditions(
      obj.status?.conditions ?? [],
      [{ type: 'Ready', status: 'False', reason, message }, ...extra],
      generation,
      new Date(),
    );
    const status: SeckillEventStatus = {
      ...obj.status,
      phase: 'Failed',
      reason,
      message,
      observedGeneration: generation,
      conditions,
    };
    if (!sameStatus(obj.status, status)) {
      await this.writeStatus(obj, status);
      await this.d.recorder.record(target, 'Warning', reason, message);
    }
    this.d.log.warn('event failed', { event: `${target.namespace}/${target.name}`, reason, message });
  }

  private async finalize(key: string, obj: SeckillEvent): Promise<ReconcileResult> {
    if (!hasFinalizer(obj)) return {};
    const target = {
      namespace: obj.metadata?.namespace ?? 'default',
      name: obj.metadata?.name ?? '',
      uid: obj.metadata?.uid ?? '',
    };
    let summary: string;
    try {
      summary = await cleanup(this.d, obj);
    } catch (err) {
      const msg = `cleanup failed, will retry: ${errMessage(err)}`;
      await this.d.recorder.record(target, 'Warning', 'CleanupFailed', msg);
      throw new ReconcileError(msg);
    }
    await removeFinalizer(this.d.custom, obj);
    await this.d.recorder.record(target, 'Normal', 'CleanedUp', summary);
    this.d.log.info('event deleted', { event: key, summary });
    this.memory.delete(key);
    forgetEvent(this.d.metrics, target.namespace, target.name);
    return {};
  }

  private observe(ev: ParsedEvent, status: SeckillEventStatus): void {
    const m = this.d.metrics;
    const labels = { namespace: ev.namespace, event: ev.name };
    if (status.totalStock !== undefined) m.eventStock.set(labels, status.totalStock);
    if (status.totalSold !== undefined) m.eventSold.set(labels, status.totalSold);
    const seen = m.productsSeen.get(`${ev.namespace}/${ev.name}`) ?? new Set<string>();
    for (const p of status.products ?? []) {
      const product = String(p.id);
      m.productStock.set({ ...labels, product }, p.total);
      m.productSold.set({ ...labels, product }, p.sold);
      seen.add(product);
    }
    m.productsSeen.set(`${ev.namespace}/${ev.name}`, seen);
    if (status.lag !== undefined) m.eventLag.set(labels, status.lag);
    if (status.partitions !== undefined) m.eventPartitions.set(labels, status.partitions);
    m.eventDesiredReplicas.set(labels, status.consumers?.desired ?? 0);
    m.eventReadyReplicas.set(labels, status.consumers?.ready ?? 0);
    for (const phase of ['Pending', 'Scheduled', 'Active', 'Ended', 'Completed', 'Failed'] as const) {
      m.eventPhase.set({ ...labels, phase }, status.phase === phase ? 1 : 0);
    }
  }
}

/** Whether Redis already holds exactly this event's window, topic and products. */
function sameCatalogEntry(stored: EventSpec, ev: ParsedEvent): boolean {
  if (stored.topic !== ev.topic || stored.startMs !== ev.startMs || stored.endMs !== ev.endMs) return false;
  if (stored.products.length !== ev.products.length) return false;
  return ev.products.every((p, i) => {
    const s = stored.products[i];
    return s !== undefined && s.id === p.id && s.stock === p.stock && s.perUserLimit === p.perUserLimit;
  });
}

function stockCondition(ev: ParsedEvent, products: ProductStatus[]): ConditionUpdate {
  const short = products.filter((p, i) => p.total !== ev.products[i]?.stock);
  if (short.length > 0) {
    return {
      type: 'StockPreloaded',
      status: 'False',
      reason: 'StockMismatch',
      message: `Redis totals differ from the spec for products ${short.map((p) => p.id).join(', ')}`,
    };
  }
  const units = products.reduce((s, p) => s + p.total, 0);
  return {
    type: 'StockPreloaded',
    status: 'True',
    reason: 'Preloaded',
    message: `${products.length} products, ${units} units`,
  };
}

function soldOutCondition(products: ProductStatus[]): ConditionUpdate {
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
