// What a Batcher is built from (its options: the shared BatcherSettings plus the callbacks) and what it tells
// an observer, with the validation that turns options into the values a Batcher runs on. The Batcher
// itself is in batcher.ts, which re-exports everything here.
import { BATCHER_DEFAULTS, type BatcherSettings } from '../shared/batcher-settings.js';
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

/**
 * Construction options. Only `flush` is required; the settings (BatcherSettings: size, maxFlush, buffer,
 * workers, intervalMs) default to BATCHER_DEFAULTS, and maxFlush to `size`.
 */
export interface BatcherOptions<T> extends Readonly<Partial<BatcherSettings>> {
  /**
   * Delivers one bucket's batch: entries grouped by key, keys in order of first appearance, each key's
   * entries in the order they were added. Resolve when the batch is durable (Kafka acknowledged); reject
   * to fail every entry of the batch. Never called concurrently for the same bucket.
   */
  readonly flush: (groups: Map<string, T[]>) => Promise<void>;
  /** Maps a key to an integer; the bucket is shard(key) mod workers. Default: FNV-1a of the key. */
  readonly shard?: (key: string) => number;
  readonly observer?: BatcherObserver;
}

/** The options a Batcher runs on: every setting present and checked. */
export interface ResolvedOptions<T> extends Readonly<Required<BatcherSettings>> {
  readonly flush: (groups: Map<string, T[]>) => Promise<void>;
  readonly shard: (key: string) => number;
  readonly observer: BatcherObserver;
}

/** Node clamps a longer timer delay to 1 ms, which would turn a typo into a flush storm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Applies the defaults and checks every option; throws RangeError or TypeError naming the bad one. */
export function resolveOptions<T>(options: BatcherOptions<T>): ResolvedOptions<T> {
  const size = wholeNumber('size', options.size ?? BATCHER_DEFAULTS.size, 1);
  const buffer = wholeNumber('buffer', options.buffer ?? BATCHER_DEFAULTS.buffer, 1);
  const workers = wholeNumber('workers', options.workers ?? BATCHER_DEFAULTS.workers, 1);
  const intervalMs = wholeNumber(
    'intervalMs',
    options.intervalMs ?? BATCHER_DEFAULTS.intervalMs,
    1,
    MAX_TIMER_MS,
  );
  const maxFlush = wholeNumber('maxFlush', options.maxFlush ?? size, size);
  if (buffer < size) {
    throw new RangeError(
      `Batcher option "buffer" (${buffer}) must be >= "size" (${size}): a bucket must hold a full flush`,
    );
  }
  return {
    size,
    maxFlush,
    buffer,
    workers,
    intervalMs,
    flush: aFunction('flush', options.flush),
    shard: aFunction('shard', options.shard ?? fnv1a32),
    observer: options.observer ?? {},
  };
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

/** A value as an error message shows it: strings quoted, everything else as String() writes it. */
export function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
