// A controller, controller-runtime style and free of domain code: watches map objects to keys and feed
// the work queue; a bounded pool of workers hands each key to the reconciler. A key is never reconciled
// by two workers at once (the queue's rule); a failed reconcile is retried with backoff, a requested
// requeue is honoured, a success resets the key's backoff.
import type { Logger } from '../../workloads/shared/log.js';
import { errMessage, isConflict } from './kube.js';
import { WorkQueue, type WorkQueueHooks, type WorkQueueOptions } from './workqueue.js';

export interface ReconcileResult {
  /** Reconcile again after this long (clock-driven work), even if nothing changes. */
  requeueAfterMs?: number;
}

/** The whole contract between the machinery and the domain: one key in, maybe a requeue out. */
export interface Reconcile {
  reconcile(key: string): Promise<ReconcileResult>;
}

/** A source of keys (an informer), started and stopped with the controller. */
export interface Watch {
  start(): Promise<void>;
  stop(): Promise<void>;
  hasSynced(): boolean;
}

export type ReconcileOutcome = 'success' | 'requeue' | 'conflict' | 'error';

export interface ControllerMetrics {
  queue: WorkQueueHooks;
  reconciled(outcome: ReconcileOutcome, seconds: number): void;
}

export interface ControllerOptions {
  reconciler: Reconcile;
  /** Builds the watches; each calls `enqueue` with the key an object change concerns. */
  watches: (enqueue: (key: string) => void) => Watch[];
  workers: number;
  queue: WorkQueueOptions;
  metrics: ControllerMetrics;
  log: Logger;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly watches: Watch[];
  private workers: Promise<void>[] = [];
  private running = false;

  constructor(private readonly o: ControllerOptions) {
    this.queue = new WorkQueue({ ...o.queue, hooks: o.metrics.queue });
    this.watches = o.watches((key) => this.queue.add(key));
  }

  /** Starts the watches and the workers (call once, when leading). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await Promise.all(this.watches.map((w) => w.start()));
    for (let i = 0; i < this.o.workers; i++) this.workers.push(this.work(i));
    this.o.log.info('controller started', { workers: this.o.workers });
  }

  /** Stops watching, lets in-flight reconciles finish, and drops queued work. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.all(this.watches.map((w) => w.stop()));
    this.queue.shutDown();
    await Promise.all(this.workers);
    this.workers = [];
    this.o.log.info('controller stopped');
  }

  synced(): boolean {
    return this.watches.every((w) => w.hasSynced());
  }

  private async work(worker: number): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const started = performance.now();
      const outcome = await this.reconcileOnce(key, worker);
      this.queue.done(key);
      this.o.metrics.reconciled(outcome, (performance.now() - started) / 1000);
    }
  }

  private async reconcileOnce(key: string, worker: number): Promise<ReconcileOutcome> {
    try {
      const res = await this.o.reconciler.reconcile(key);
      this.queue.forget(key);
      if (res.requeueAfterMs === undefined) return 'success';
      this.queue.addAfter(key, res.requeueAfterMs);
      return 'requeue';
    } catch (err) {
      // A conflict means the object changed under us: routine with optimistic concurrency, so it is
      // retried like an error but counted apart (the SeckillReconcileErrors alert watches real errors).
      const outcome = isConflict(err) ? 'conflict' : 'error';
      const delay = this.queue.addRateLimited(key);
      this.o.log[outcome === 'conflict' ? 'debug' : 'warn']('reconcile failed, retrying', {
        event: key,
        worker,
        retryInMs: delay,
        retries: this.queue.numRequeues(key),
        error: errMessage(err),
      });
      return outcome;
    }
  }
}
