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

import { fnv1a32 } from '../shared/hash.js';

/** Why a bucket flushed. */
export type FlushReason = 'size' | 'interval' | 'close';

/** Why `add()` refused an entry without queueing it. */
export type RejectReason = 'full' | 'closed';

/** What the Batcher tells its observer about one finished flush. */
export interface FlushReport {
  readonly bucket: number;
  readonly reason: FlushReason;
  /** Number of entries in the flush (1..size). */
  readonly entries: number;
  /** Number of distinct keys in the flush. */
  readonly keys: number;
  /** Wall time the flush callback took, success or failure. */
  readonly durationMs: number;
  /** False when the flush callback threw or rejected. */
  readonly ok: boolean;
}

/**
 * Hooks for metrics or logs. Every hook is optional; the Batcher stays free of any metrics library.
 * A hook that throws does not disturb batching: the error becomes a process warning.
 */
export interface BatcherObserver {
  /** Called once, at construction, with a live reader of per-bucket depths (for gauges read at scrape). */
  attach?(depths: () => readonly number[]): void;
  /** Called once close() has drained everything, with the same reader: forget it. */
  detach?(depths: () => readonly number[]): void;
  /** Called after every flush settled (its waiters are already resolved or rejected). */
  flushed?(report: FlushReport): void;
  /** Called for every `add()` refused at once. */
  rejected?(reason: RejectReason): void;
}

/** Construction options. Only `flush` is required; see DEFAULTS for the rest. */
export interface BatcherOptions<T> {
  /**
   * Delivers one bucket's batch: entries grouped by key, keys in order of first appearance, each key's
   * entries in the order they were added. Resolve when the batch is durable (Kafka acknowledged); reject
   * to fail every entry of the batch. Never called concurrently for the same bucket.
   */
  readonly flush: (groups: Map<string, T[]>) => Promise<void>;
  /** A bucket holding this many entries flushes at once. */
  readonly size?: number;
  /**
   * Entries one flush may take (default: `size`). Larger lets a backlog that built up during a slow flush
   * leave in one message: per-product throughput then follows the Kafka round trip instead of being
   * capped at `size` per round trip (one flush per bucket at a time keeps per-key order).
   */
  readonly maxFlush?: number;
  /** Per-bucket capacity: entries accepted and not yet settled (queued or in the running flush). */
  readonly buffer?: number;
  /** Number of buckets, i.e. of flushes that may run in parallel. */
  readonly workers?: number;
  /** Longest time a partial bucket waits for its next tick, in whole milliseconds. */
  readonly intervalMs?: number;
  /** Maps a key to an integer; the bucket is shard(key) mod workers. Default: FNV-1a of the key. */
  readonly shard?: (key: string) => number;
  readonly observer?: BatcherObserver;
}

/**
 * The defaults, and why. The front door answers a buyer only after Kafka acknowledged the batch, so unlike
 * the seed (size 100, buffer 100, interval 1 s, buyers answered before Kafka) every millisecond of batching
 * is a millisecond of response time, and a full bucket is a 429, not a silent drop.
 */
export const DEFAULTS = {
  /**
   * 100 entries of ~100 bytes make a ~10 KB Kafka message (far below the 1 MB limit), and the consumer runs
   * one Redis Lua claim per product batch: 100 tickets keep that script well under a millisecond, which
   * matters because a Lua script blocks all of Redis while it runs.
   */
  size: 100,
  /**
   * A bucket drains about `size` entries per Kafka round trip (~5 ms): 20 000 entries/s. 10 000 queued
   * entries are then ~0.5 s of backlog, about the most a buyer should wait before a quick 429 serves them
   * better. Memory: 8 buckets x 10 000 entries x ~200 bytes = ~16 MB per pod at worst. The seed's 100
   * overflows on the first burst: one hot product with 100 concurrent buyers fills it in one round trip.
   */
  buffer: 10_000,
  /**
   * Up to 8 Kafka sends in flight per pod. A sale has few products and one product always lands in one
   * bucket (to keep its order), so more buckets would mostly sit idle; fewer would make distinct products
   * queue behind each other.
   */
  workers: 8,
  /**
   * The latency a partial batch adds. 5 ms is about one in-cluster Kafka round trip with acks=all, so
   * waiting longer buys little batching, while the seed's 1 s would dominate every response at low load.
   * Shorter gains nothing: Node timers resolve to 1 ms, and under load batches fill during the previous
   * flush anyway (one flush per bucket at a time makes the batch grow with Kafka latency, up to `size`).
   */
  intervalMs: 5,
} as const;

/** Node clamps a longer timer delay to 1 ms, which would turn a typo into a flush storm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

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

export { fnv1a32 };

/** One accepted entry and the callbacks of the promise `add()` returned for it. */
interface Waiter<T> {
  readonly key: string;
  readonly entry: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface Bucket<T> {
  readonly index: number;
  /** Where this bucket's tick grid starts: ticks at phase + k * intervalMs. */
  readonly phase: number;
  /** Accepted entries not yet handed to a flush, oldest first. */
  queue: Waiter<T>[];
  /** Entries in the running flush; 0 means no flush is running. */
  inFlight: number;
  /** A tick came while a flush was running; honour it when that flush settles. */
  tickDue: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Duration of the last flush, for the Retry-After hint. */
  lastFlushMs: number;
}

export class Batcher<T> {
  private readonly size: number;
  private readonly maxFlush: number;
  private readonly buffer: number;
  private readonly workers: number;
  private readonly intervalMs: number;
  private readonly shard: (key: string) => number;
  private readonly deliver: (groups: Map<string, T[]>) => Promise<void>;
  private readonly observer: BatcherObserver;
  private readonly buckets: Bucket<T>[];
  /** Set by close(): from then on nothing is accepted and every bucket drains. */
  private closing = false;
  /** close()'s promise; resolves once every bucket is empty and idle. */
  private closed: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  /** The depth reader handed to the observer at construction and taken back when closed. */
  private readonly depthReader = (): readonly number[] => this.bucketDepths();

  constructor(options: BatcherOptions<T>) {
    this.size = wholeNumber('size', options.size ?? DEFAULTS.size, 1);
    this.buffer = wholeNumber('buffer', options.buffer ?? DEFAULTS.buffer, 1);
    this.workers = wholeNumber('workers', options.workers ?? DEFAULTS.workers, 1);
    this.intervalMs = wholeNumber('intervalMs', options.intervalMs ?? DEFAULTS.intervalMs, 1, MAX_TIMER_MS);
    this.maxFlush = wholeNumber('maxFlush', options.maxFlush ?? this.size, this.size);
    if (this.buffer < this.size) {
      throw new RangeError(
        `Batcher option "buffer" (${this.buffer}) must be >= "size" (${this.size}): a bucket must hold a full flush`,
      );
    }
    this.deliver = aFunction('flush', options.flush);
    this.shard = aFunction('shard', options.shard ?? fnv1a32);
    this.observer = options.observer ?? {};

    const start = Date.now();
    this.buckets = Array.from({ length: this.workers }, (_, index) => ({
      index,
      phase: start + (index * this.intervalMs) / this.workers,
      queue: [],
      inFlight: 0,
      tickDue: false,
      timer: undefined,
      lastFlushMs: 0,
    }));
    // Not guarded like the other hooks: a failing attach is a set-up error the caller must see.
    this.observer.attach?.(this.depthReader);
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
    if (depthOf(bucket) >= this.buffer) {
      this.observe((o) => o.rejected?.('full'));
      throw new BatcherFullError(bucket.index, this.buffer, this.retryAfterMs(bucket));
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
    const n = this.shard(key);
    const bucket = Number.isSafeInteger(n) ? this.buckets[modulo(n, this.workers)] : undefined;
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
    if (bucket.queue.length >= this.size) return 'size';
    if (bucket.tickDue) return 'interval';
    return undefined;
  }

  /** A bucket needs a timer exactly while queued entries wait for a tick that has not come yet. */
  private syncTimer(bucket: Bucket<T>): void {
    const wanted = bucket.queue.length > 0 && !bucket.tickDue && !this.closing;
    if (wanted && bucket.timer === undefined) {
      bucket.timer = setTimeout(() => this.tick(bucket), this.msUntilTick(bucket));
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

  /** Time to the bucket's next grid point, in (0, intervalMs]; wall-clock jumps only shift the grid. */
  private msUntilTick(bucket: Bucket<T>): number {
    return this.intervalMs - modulo(Date.now() - bucket.phase, this.intervalMs);
  }

  private startFlush(bucket: Bucket<T>, reason: FlushReason): void {
    const batch = bucket.queue.splice(0, this.maxFlush);
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
      await this.deliver(groups);
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
      this.observer.detach?.(this.depthReader);
    }
  }

  /** Room appears when the running flush settles; its last duration, at least a tick, estimates when. */
  private retryAfterMs(bucket: Bucket<T>): number {
    return Math.max(this.intervalMs, Math.ceil(bucket.lastFlushMs));
  }

  private observe(call: (observer: BatcherObserver) => void): void {
    try {
      call(this.observer);
    } catch (error) {
      process.emitWarning(`Batcher observer threw: ${String(error)}`, 'BatcherObserverWarning');
    }
  }
}

function depthOf(bucket: Bucket<unknown>): number {
  return bucket.queue.length + bucket.inFlight;
}

/** Groups a batch by key, keeping the order of first appearance of keys and the order of entries per key. */
function groupByKey<T>(batch: readonly Waiter<T>[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const { key, entry } of batch) {
    const group = groups.get(key);
    if (group) group.push(entry);
    else groups.set(key, [entry]);
  }
  return groups;
}

/** Remainder in [0, divisor), also for negative numbers (JavaScript's % keeps the dividend's sign). */
function modulo(n: number, divisor: number): number {
  return ((n % divisor) + divisor) % divisor;
}

function wholeNumber(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Batcher option "${name}" must be an integer in [${min}, ${max}], got ${describe(value)}`,
    );
  }
  return value;
}

function aFunction<F>(name: string, value: F): F {
  if (typeof value !== 'function') {
    throw new TypeError(`Batcher option "${name}" must be a function, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
