// An informer that stays alive. client-node's ListWatch stops for good on most errors (only 410 Gone
// relists by itself) and has no resync, so a watch that errors, or hangs without a word, would leave the
// controller deaf. This wrapper:
//   - asks the API server to end each watch after watchTimeoutSeconds (the watch path's timeoutSeconds),
//     so a healthy informer reconnects ("connect") at least that often;
//   - restarts with a fresh list (a relist: every object is delivered again as "add", objects that
//     vanished meanwhile as "delete") when the informer reports an error (with backoff), or when nothing at
//     all (no event, no reconnect) happened for staleAfterMs (the staleness guard);
//   - counts restarts by reason for the metrics.
import type { Informer, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../../workloads/shared/log.js';

export type InformerEventType = 'add' | 'update' | 'delete';

export interface ResilientInformerOptions<T extends KubernetesObject> {
  /** A name for logs and metrics (e.g. "seckillevents"). */
  resource: string;
  /** Builds a fresh client-node informer for the given watch timeout. */
  make: (watchTimeoutSeconds: number) => Informer<T> & ObjectCache<T>;
  onEvent: (type: InformerEventType, obj: T) => void;
  log: Logger;
  watchTimeoutSeconds?: number;
  staleAfterMs?: number;
  onRestart?: (reason: 'error' | 'stale') => void;
}

const key = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class ResilientInformer<T extends KubernetesObject> {
  private informer: (Informer<T> & ObjectCache<T>) | undefined;
  private generation = 0;
  private lastActivity = Date.now();
  private errorsInRow = 0;
  private staleTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private synced = false;
  private restarting = false;
  private readonly watchTimeoutSeconds: number;
  private readonly staleAfterMs: number;

  constructor(private readonly o: ResilientInformerOptions<T>) {
    this.watchTimeoutSeconds = o.watchTimeoutSeconds ?? 60;
    this.staleAfterMs = o.staleAfterMs ?? Math.max(3 * this.watchTimeoutSeconds * 1000, 10_000);
  }

  /** Starts watching; resolves once the first list has been delivered (or failed: it then retries). */
  async start(): Promise<void> {
    this.stopped = false;
    this.staleTimer = setInterval(() => this.checkStale(), Math.max(1000, Math.floor(this.staleAfterMs / 4)));
    this.staleTimer.unref?.();
    await this.run([]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.synced = false;
    clearInterval(this.staleTimer);
    clearTimeout(this.restartTimer);
    const informer = this.informer;
    this.informer = undefined;
    this.generation += 1;
    await informer?.stop();
  }

  /** True once a list succeeded on the current informer. */
  hasSynced(): boolean {
    return this.synced;
  }

  list(): readonly T[] {
    return this.informer?.list() ?? [];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer?.get(name, namespace);
  }

  private async run(previous: readonly T[]): Promise<void> {
    const gen = ++this.generation;
    this.restarting = false;
    const informer = this.o.make(this.watchTimeoutSeconds);
    this.informer = informer;
    this.synced = false;
    const live = (): boolean => gen === this.generation && !this.stopped;
    const touch = (): void => {
      if (live()) this.lastActivity = Date.now();
    };
    const deliver =
      (type: InformerEventType) =>
      (obj: T): void => {
        if (!live()) return;
        touch();
        this.o.onEvent(type, obj);
      };
    informer.on('add', deliver('add'));
    informer.on('update', deliver('update'));
    informer.on('delete', deliver('delete'));
    informer.on('connect', () => {
      touch();
    });
    let failed = false;
    informer.on('error', (err?: unknown) => {
      failed = true;
      if (!live()) return;
      this.synced = false;
      this.errorsInRow += 1;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(this.errorsInRow - 1, 6));
      this.o.log.warn('informer failed, relisting', { resource: this.o.resource, err, retryInMs: delay });
      this.scheduleRestart('error', delay);
    });
    this.lastActivity = Date.now();
    await informer.start();
    if (!live() || failed) return;
    this.synced = true;
    this.errorsInRow = 0;
    // Objects that vanished while we were not watching: tell the handler, as a relist does in client-go.
    if (previous.length > 0) {
      const now = new Set(informer.list().map(key));
      for (const obj of previous) if (!now.has(key(obj))) this.o.onEvent('delete', obj);
    }
  }

  private scheduleRestart(reason: 'error' | 'stale', delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.restartTimer);
    this.restarting = true;
    const old = this.informer;
    const previous = old?.list() ?? [];
    this.generation += 1; // silence the old informer's callbacks at once
    void old?.stop();
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.o.onRestart?.(reason);
      this.run(previous).catch((err: unknown) => {
        this.o.log.error('informer restart failed', { resource: this.o.resource, err });
        this.scheduleRestart('error', 5000);
      });
    }, delayMs);
    this.restartTimer.unref?.();
  }

  private checkStale(): void {
    if (this.stopped || this.restarting) return;
    if (Date.now() - this.lastActivity > this.staleAfterMs) {
      this.o.log.warn('informer went quiet, relisting', {
        resource: this.o.resource,
        quietMs: Date.now() - this.lastActivity,
      });
      this.lastActivity = Date.now();
      this.scheduleRestart('stale', 0);
    }
  }
}
