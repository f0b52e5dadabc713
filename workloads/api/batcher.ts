// The Batcher: groups many small entries into few flushes, per key (product id), in order.
//
// The front door adds one entry per accepted buy request; the Batcher shards entries by key onto a fixed
// set of buckets, and each bucket hands its oldest entries, grouped by key, to the `flush` callback (which
// sends one Kafka message per key). `add()` resolves only when the flush holding the entry succeeded, so
// the caller can answer 202 after Kafka acknowledged, and 503 (or 429) otherwise.
//
// How a bucket behaves, in one place:
//   - it flushes when it holds `size` entries ("size"), when its tick comes with entries pending
//     ("interval"), or when close() drains it ("close"); one flush takes at most `maxFlush` entries
//     (default `size`), oldest first;
//   - at most one flush per bucket runs at a time, so a key's entries (always in the same bucket) reach
//     `flush` in the order they were added, across flushes;
//   - a tick that comes while a flush runs is remembered and honoured right after it settles (like a Go
//     ticker's one buffered tick), and so is a full bucket;
//   - ticks sit on a per-bucket grid, start + (i / workers + k) * intervalMs, so buckets never tick together.
//
// Timers: a bucket holds a timer only while it has entries waiting for a tick. That is equal in behaviour to
// one periodic timer per bucket (ticks land on the same staggered grid) but an idle front door wakes up 0
// times a second instead of workers / intervalMs (1 600 at the defaults). The timers are deliberately NOT
// unref()'d: a timer exists only while accepted entries are waiting, and letting the process exit then
// would drop them silently. An idle or closed Batcher holds no timer, so it never keeps a process alive.

import { BATCHER_DEFAULTS } from '../shared/batcher-settings.js';
import { fnv1a32 } from '../shared/hash.js';
import {
  createBuckets,
  depthOf,
  groupByKey,
  modulo,
  msUntilTick,
  type Bucket,
  type Waiter,
} from './batcher-bucket.js';
import {
  describe,
  resolveOptions,
  type BatcherObserver,
  type BatcherOptions,
  type FlushReason,
  type ResolvedOptions,
} from './batcher-options.js';

export type {
  BatcherObserver,
  BatcherOptions,
  FlushReason,
  FlushReport,
  RejectReason,
} from './batcher-options.js';
/** The Batcher's defaults under their historical name: the shared BATCHER_DEFAULTS (batcher-settings.ts). */
export { BATCHER_DEFAULTS as DEFAULTS, fnv1a32 };

/** `add()` refused the entry because its bucket holds `buffer` unsettled entries. Maps to HTTP 429. */
export class BatcherFullError extends Error {
  override readonly name = 'BatcherFullError';
  constructor(
    readonly bucket: number,
    readonly capacity: number,
    /** A hint for Retry-After: about when the bucket should have room again. */
    readonly retryAfterMs: number,
  ) {
    super(`batcher bucket ${bucket} is full (${capacity} entries); retry in ~${retryAfterMs} ms`);
  }
}

/** `add()` refused the entry because close() was called. Maps to HTTP 503 (the pod is going away). */
export class BatcherClosedError extends Error {
  override readonly name = 'BatcherClosedError';
  constructor() {
    super('batcher is closed');
  }
}

export class Batcher<T> {
  /** The options, checked and with every default applied. */
  private readonly o: ResolvedOptions<T>;
  private readonly buckets: Bucket<T>[];
  /** Set by close(): from then on nothing is accepted and every bucket drains. */
  private closing = false;
  /** close()'s promise; resolves once every bucket is empty and idle. */
  private closed: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  /** The depth reader handed to the observer at construction and taken back when closed. */
  private readonly depthReader = (): readonly number[] => this.bucketDepths();

  constructor(options: BatcherOptions<T>) {
    this.o = resolveOptions(options);
    this.buckets = createBuckets(this.o.workers, this.o.intervalMs, Date.now());
    // Not guarded like the other hooks: a failing attach is a set-up error the caller must see.
    this.o.observer.attach?.(this.depthReader);
  }

  /**
   * Queues `entry` under `key`. Resolves when the flush holding it succeeded; rejects with that flush's
   * error if it failed. Rejects at once with BatcherFullError when the key's bucket is full, with
   * BatcherClosedError after close() was called, and with a RangeError if `shard` returned a non-integer.
   * The returned promise must be handled: a failed flush rejects it.
   */
  async add(key: string, entry: T): Promise<void> {
    if (this.closing) {
      this.observe((o) => o.rejected?.('closed'));
      throw new BatcherClosedError();
    }
    const bucket = this.bucketFor(key);
    if (depthOf(bucket) >= this.o.buffer) {
      this.observe((o) => o.rejected?.('full'));
      throw new BatcherFullError(bucket.index, this.o.buffer, this.retryAfterMs(bucket));
    }
    const flushed = new Promise<void>((resolve, reject) =>
      bucket.queue.push({ key, entry, resolve, reject }),
    );
    this.pump(bucket);
    await flushed;
  }

  /**
   * Stops intake, flushes every queued entry (reason "close"), waits for every flush to settle and leaves
   * no timer behind. Idempotent: every call returns the same promise. It resolves even if some flushes
   * failed (their waiters got the error); it waits as long as the flush callback does.
   */
  close(): Promise<void> {
    if (this.closed === undefined) {
      this.closing = true;
      this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
      for (const bucket of this.buckets) {
        this.pump(bucket);
      }
      this.resolveIfDrained();
    }
    return this.closed;
  }

  /** Entries accepted and not yet settled, over all buckets (what `buffer` limits, per bucket). */
  depth(): number {
    return this.buckets.reduce((sum, bucket) => sum + depthOf(bucket), 0);
  }

  /** Entries accepted and not yet settled, per bucket index. */
  bucketDepths(): number[] {
    return this.buckets.map(depthOf);
  }

  private bucketFor(key: string): Bucket<T> {
    const n = this.o.shard(key);
    const bucket = Number.isSafeInteger(n) ? this.buckets[modulo(n, this.o.workers)] : undefined;
    if (bucket === undefined) {
      throw new RangeError(
        `Batcher "shard" returned ${describe(n)} for key ${JSON.stringify(key)}; want an integer`,
      );
    }
    return bucket;
  }

  /**
   * The one place that decides what a bucket does next; called whenever its state changed (entry added,
   * tick, flush settled, close). Starts a flush if one is due and none is running, then fixes the timer.
   */
  private pump(bucket: Bucket<T>): void {
    if (bucket.inFlight === 0 && bucket.queue.length > 0) {
      const reason = this.dueReason(bucket);
      if (reason !== undefined) {
        this.startFlush(bucket, reason);
      }
    }
    this.syncTimer(bucket);
  }

  private dueReason(bucket: Bucket<T>): FlushReason | undefined {
    if (this.closing) return 'close';
    if (bucket.queue.length >= this.o.size) return 'size';
    if (bucket.tickDue) return 'interval';
    return undefined;
  }

  /** A bucket needs a timer exactly while queued entries wait for a tick that has not come yet. */
  private syncTimer(bucket: Bucket<T>): void {
    const wanted = bucket.queue.length > 0 && !bucket.tickDue && !this.closing;
    if (wanted && bucket.timer === undefined) {
      bucket.timer = setTimeout(() => this.tick(bucket), msUntilTick(bucket, this.o.intervalMs, Date.now()));
    } else if (!wanted && bucket.timer !== undefined) {
      clearTimeout(bucket.timer);
      bucket.timer = undefined;
    }
  }

  private tick(bucket: Bucket<T>): void {
    bucket.timer = undefined;
    bucket.tickDue = true;
    this.pump(bucket);
  }

  private startFlush(bucket: Bucket<T>, reason: FlushReason): void {
    const batch = bucket.queue.splice(0, this.o.maxFlush);
    bucket.inFlight = batch.length;
    bucket.tickDue = false;
    void this.runFlush(bucket, reason, batch);
  }

  /** Runs one flush and settles its waiters. Never rejects: errors go to the waiters. */
  private async runFlush(bucket: Bucket<T>, reason: FlushReason, batch: Waiter<T>[]): Promise<void> {
    const groups = groupByKey(batch);
    const started = performance.now();
    let ok = true;
    let failure: unknown;
    try {
      await this.o.flush(groups);
    } catch (error) {
      ok = false;
      failure = error;
    }
    const durationMs = performance.now() - started;
    bucket.lastFlushMs = durationMs;
    bucket.inFlight = 0;
    for (const waiter of batch) {
      if (ok) waiter.resolve();
      else waiter.reject(failure);
    }
    this.observe((o) =>
      o.flushed?.({ bucket: bucket.index, reason, entries: batch.length, keys: groups.size, durationMs, ok }),
    );
    this.pump(bucket);
    this.resolveIfDrained();
  }

  private resolveIfDrained(): void {
    if (this.resolveClosed !== undefined && this.depth() === 0) {
      this.resolveClosed();
      this.resolveClosed = undefined;
      this.o.observer.detach?.(this.depthReader);
    }
  }

  /** Room appears when the running flush settles; its last duration, at least a tick, estimates when. */
  private retryAfterMs(bucket: Bucket<T>): number {
    return Math.max(this.o.intervalMs, Math.ceil(bucket.lastFlushMs));
  }

  private observe(call: (observer: BatcherObserver) => void): void {
    try {
      call(this.o.observer);
    } catch (error) {
      process.emitWarning(`Batcher observer threw: ${String(error)}`, 'BatcherObserverWarning');
    }
  }
}
