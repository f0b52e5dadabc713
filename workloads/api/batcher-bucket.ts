// One Batcher bucket's state and the pure helpers over it: its depth, its tick grid, how a flush groups
// its entries. What a bucket does next is decided in one place, Batcher.pump (batcher.ts).

/** One accepted entry and the callbacks of the promise `add()` returned for it. */
export interface Waiter<T> {
  readonly key: string;
  readonly entry: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface Bucket<T> {
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

/** `workers` idle buckets whose tick grids start at `start`, staggered by intervalMs / workers. */
export function createBuckets<T>(workers: number, intervalMs: number, start: number): Bucket<T>[] {
  return Array.from({ length: workers }, (_, index) => ({
    index,
    phase: start + (index * intervalMs) / workers,
    queue: [],
    inFlight: 0,
    tickDue: false,
    timer: undefined,
    lastFlushMs: 0,
  }));
}

/** Entries accepted and not yet settled: queued or in the running flush. */
export function depthOf(bucket: Bucket<unknown>): number {
  return bucket.queue.length + bucket.inFlight;
}

/** Time from `now` to the bucket's next grid point, in (0, intervalMs]; clock jumps only shift the grid. */
export function msUntilTick(bucket: Bucket<unknown>, intervalMs: number, now: number): number {
  return intervalMs - modulo(now - bucket.phase, intervalMs);
}

/** Groups a batch by key, keeping the order of first appearance of keys and the order of entries per key. */
export function groupByKey<T>(batch: readonly Waiter<T>[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const { key, entry } of batch) {
    const group = groups.get(key);
    if (group) group.push(entry);
    else groups.set(key, [entry]);
  }
  return groups;
}

/** Remainder in [0, divisor), also for negative numbers (JavaScript's % keeps the dividend's sign). */
export function modulo(n: number, divisor: number): number {
  return ((n % divisor) + divisor) % divisor;
}
