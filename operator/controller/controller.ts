// The controller: informers feed keys into the work queue, a bounded pool of workers reconciles them.
// Watches SeckillEvents (key = the event) and the consumer Deployments (label
// app.kubernetes.io/name=seckill-consumer; key = the owning event), so a Deployment changed or deleted
// behind our back, or one whose pods became ready, brings its event back to the reconciler.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../workloads/shared/log.js';
import { GROUP, PLURAL, VERSION, objectKey, type SeckillEvent } from '../api/types.js';
import type { OperatorConfig } from '../config.js';
import { queueHooks, type OperatorMetrics } from '../metrics.js';
import { CONSUMER_SELECTOR, ownerKey } from '../resources/consumer-deployment.js';
import { ResilientInformer } from './informer.js';
import { errMessage, type Reconciler } from './reconciler.js';
import { WorkQueue } from './workqueue.js';

export interface ControllerDeps {
  kc: k8s.KubeConfig;
  reconciler: Pick<Reconciler, 'reconcile'>;
  metrics: OperatorMetrics;
  log: Logger;
  config: Pick<OperatorConfig, 'watchNamespace' | 'maxConcurrentReconciles' | 'queue' | 'informer'>;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly events: ResilientInformer<SeckillEvent>;
  private readonly deployments: ResilientInformer<k8s.V1Deployment>;
  private workers: Promise<void>[] = [];
  private running = false;

  constructor(private readonly d: ControllerDeps) {
    const { kc, config, metrics, log } = d;
    this.queue = new WorkQueue({ ...config.queue, hooks: queueHooks(metrics) });
    const ns = config.watchNamespace;
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const eventsPath = ns
      ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`
      : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
    const listEvents = (): Promise<k8s.KubernetesListObject<SeckillEvent>> =>
      (ns
        ? custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })
        : custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as Promise<
        k8s.KubernetesListObject<SeckillEvent>
      >;
    const deploymentsPath = ns ? `/apis/apps/v1/namespaces/${ns}/deployments` : '/apis/apps/v1/deployments';
    const listDeployments = (): Promise<k8s.KubernetesListObject<k8s.V1Deployment>> =>
      ns
        ? apps.listNamespacedDeployment({ namespace: ns, labelSelector: CONSUMER_SELECTOR })
        : apps.listDeploymentForAllNamespaces({ labelSelector: CONSUMER_SELECTOR });
    // The watch path carries timeoutSeconds: the API server ends each watch, the informer reconnects,
    // and that reconnect is the heartbeat the staleness guard looks for.
    const withTimeout = (path: string, s: number): string => `${path}?timeoutSeconds=${s}`;

    this.events = new ResilientInformer<SeckillEvent>({
      resource: PLURAL,
      make: (s) => k8s.makeInformer<SeckillEvent>(kc, withTimeout(eventsPath, s), listEvents),
      onEvent: (_type, obj) => {
        const md = obj.metadata;
        if (md?.name) this.queue.add(objectKey(md.namespace ?? 'default', md.name));
      },
      log,
      watchTimeoutSeconds: config.informer.watchTimeoutSeconds,
      staleAfterMs: config.informer.staleAfterMs,
      onRestart: (reason) => metrics.informerRestarts.inc({ resource: PLURAL, reason }),
    });
    this.deployments = new ResilientInformer<k8s.V1Deployment>({
      resource: 'deployments',
      make: (s) =>
        k8s.makeInformer<k8s.V1Deployment>(
          kc,
          withTimeout(deploymentsPath, s),
          listDeployments,
          CONSUMER_SELECTOR,
        ),
      onEvent: (_type, dep) => {
        const key = ownerKey(dep);
        if (key) this.queue.add(key);
      },
      log,
      watchTimeoutSeconds: config.informer.watchTimeoutSeconds,
      staleAfterMs: config.informer.staleAfterMs,
      onRestart: (reason) => metrics.informerRestarts.inc({ resource: 'deployments', reason }),
    });
  }

  /** Starts the informers and the workers (call once, when leading). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await Promise.all([this.events.start(), this.deployments.start()]);
    for (let i = 0; i < this.d.config.maxConcurrentReconciles; i++) this.workers.push(this.work(i));
    this.d.log.info('controller started', {
      workers: this.d.config.maxConcurrentReconciles,
      namespace: this.d.config.watchNamespace || '(all)',
    });
  }

  /** Stops watching, lets in-flight reconciles finish, and drops queued work. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.all([this.events.stop(), this.deployments.stop()]);
    this.queue.shutDown();
    await Promise.all(this.workers);
    this.workers = [];
    this.d.log.info('controller stopped');
  }

  synced(): boolean {
    return this.events.hasSynced() && this.deployments.hasSynced();
  }

  private async work(worker: number): Promise<void> {
    const { reconciler, metrics, log } = this.d;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const stop = metrics.reconcileDuration.startTimer();
      let result = 'success';
      try {
        const res = await reconciler.reconcile(key);
        this.queue.forget(key);
        if (res.requeueAfterMs !== undefined) {
          result = 'requeue';
          this.queue.addAfter(key, res.requeueAfterMs);
        }
      } catch (err) {
        // A conflict means the object changed under us: routine with optimistic concurrency, so it is
        // retried like an error but counted apart (the SeckillReconcileErrors alert watches real errors).
        result = err instanceof k8s.ApiException && err.code === 409 ? 'conflict' : 'error';
        const delay = this.queue.addRateLimited(key);
        log[result === 'conflict' ? 'debug' : 'warn']('reconcile failed, retrying', {
          event: key,
          worker,
          retryInMs: delay,
          retries: this.queue.numRequeues(key),
          error: errMessage(err),
        });
      } finally {
        this.queue.done(key);
        stop({ result });
        metrics.reconcileTotal.inc({ result });
      }
    }
  }
}
