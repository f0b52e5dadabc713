// A work queue in the manner of client-go's workqueue (what controller-runtime hands a Reconciler):
//
// - Dedup: a key is queued at most once however many events arrive ("dirty" set). A key being
//   processed that is added again is NOT handed to a second worker; it is queued again when the first
//   worker calls done(), so one key is never reconciled concurrently and no change is missed.
// - Delays: addAfter(key, ms) for clock-driven work (start/end of a sale, periodic status refresh).
//   Only the earliest pending deadline of a key is kept.
// - Rate limiting: addRateLimited(key) waits max(per-key exponential backoff, overall token bucket),
//   client-go's DefaultControllerRateLimiter (MaxOfRateLimiter of ItemExponentialFailureRateLimiter and
//   BucketRateLimiter). forget(key) resets the key's backoff after a success.
//
// Timers use the global setTimeout/Date.now, so node:test's mock timers drive it in unit tests.

export interface WorkQueueOptions {
  /** First retry delay of a failing key (ms). */
  baseDelayMs?: number;
  /** Cap of the per-key exponential backoff (ms). */
  maxDelayMs?: number;
  /** Overall rate limit of rate-limited adds: sustained per second... */
  qps?: number;
  /** ...and burst. */
  burst?: number;
  /** Observers for metrics. */
  hooks?: WorkQueueHooks;
}

export interface WorkQueueHooks {
  onAdd?(key: string): void;
  onDepth?(depth: number): void;
  onRetry?(key: string, delayMs: number): void;
}

/** Per-key exponential backoff: base * 2^failures, capped. */
export class ExponentialBackoff {
  private readonly failures = new Map<string, number>();
  constructor(
    readonly baseMs: number,
    readonly maxMs: number,
  ) {}

  /** Delay for this failure of `key` (counts the failure). */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n, 52));
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

/** A token bucket: `reserve()` takes a token now or tells how long until one is available. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Reserves one token; returns the delay (ms) after which the caller may proceed. */
  reserve(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private readonly backoff: ExponentialBackoff;
  private readonly bucket: TokenBucket;
  private readonly hooks: WorkQueueHooks;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.backoff = new ExponentialBackoff(options.baseDelayMs ?? 200, options.maxDelayMs ?? 60_000);
    this.bucket = new TokenBucket(options.qps ?? 10, options.burst ?? 100);
    this.hooks = options.hooks ?? {};
  }

  /** Queues `key` unless it is already queued; a key being processed is queued again on done(). */
  add(key: string): void {
    if (this.shuttingDown) return;
    this.hooks.onAdd?.(key);
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.dispatch(key);
  }

  /** Hands a dirty key to a waiting worker, or queues it. */
  private dispatch(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(key);
      this.processing.add(key);
      getter(key);
      return;
    }
    this.queue.push(key);
    this.hooks.onDepth?.(this.queue.length);
  }

  /** Queues `key` after `delayMs`; keeps only the earliest pending deadline of a key. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.waiting.set(key, { at, timer });
  }

  /** Queues `key` after its backoff (or the overall rate limit, whichever is longer). */
  addRateLimited(key: string): number {
    const delay = Math.max(this.backoff.when(key), this.bucket.reserve());
    this.hooks.onRetry?.(key, delay);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears `key`'s failure history (call after a successful reconcile). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** How many times `key` failed in a row. */
  numRequeues(key: string): number {
    return this.backoff.retries(key);
  }

  /** Next key to process, waiting for one; undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      this.hooks.onDepth?.(this.queue.length);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile, it goes back in the queue. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.dispatch(key);
  }

  len(): number {
    return this.queue.length;
  }

  /** Keys with a pending delayed add (for tests and debugging). */
  delayed(): string[] {
    return [...this.waiting.keys()];
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    for (const getter of this.getters.splice(0)) getter(undefined);
  }
}
