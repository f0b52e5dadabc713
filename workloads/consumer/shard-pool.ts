// Ordered shard workers: the seed's parallel channels, bounded.
// Items of one shard are handled one run at a time, in arrival order; consecutive items with the same
// run key (the same product) are handed over together, so one stock claim covers them all.
// A full shard queue is reported to the caller, who pauses the Kafka partitions feeding it.
import { fnv1a32 } from '../shared/hash.js';

interface Queued<T> {
  item: T;
  size: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface ShardPoolOptions<T> {
  shards: number;
  /** Entries a shard may hold before it counts as full. */
  capacity: number;
  /** Largest number of entries handed to one handler call. */
  maxRun: number;
  runKey: (item: T) => string;
  size: (item: T) => number;
  handle: (shard: number, items: T[]) => Promise<void>;
}

class Shard<T> {
  readonly queue: Queued<T>[] = [];
  depth = 0;
  private busy = false;
  private waiters: (() => void)[] = [];

  constructor(
    readonly index: number,
    private readonly opts: ShardPoolOptions<T>,
  ) {}

  push(q: Queued<T>): void {
    this.queue.push(q);
    this.depth += q.size;
    if (!this.busy) void this.drain();
  }

  /** Resolves when the shard has room again. */
  room(): Promise<void> {
    if (this.depth < this.opts.capacity) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async drain(): Promise<void> {
    this.busy = true;
    while (this.queue.length > 0) {
      const run = this.takeRun();
      try {
        await this.opts.handle(
          this.index,
          run.map((q) => q.item),
        );
        run.forEach((q) => q.resolve());
      } catch (err) {
        run.forEach((q) => q.reject(err));
      }
      for (const q of run) this.depth -= q.size;
      if (this.depth < this.opts.capacity) this.waiters.splice(0).forEach((wake) => wake());
    }
    this.busy = false;
  }

  /** The head item plus the consecutive items of the same run key, up to maxRun entries. */
  private takeRun(): Queued<T>[] {
    const first = this.queue.shift()!;
    const run = [first];
    const key = this.opts.runKey(first.item);
    let entries = first.size;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (this.opts.runKey(next.item) !== key || entries + next.size > this.opts.maxRun) break;
      run.push(this.queue.shift()!);
      entries += next.size;
    }
    return run;
  }
}

export class ShardPool<T> {
  private readonly shards: Shard<T>[];

  constructor(private readonly opts: ShardPoolOptions<T>) {
    if (!Number.isInteger(opts.shards) || opts.shards < 1)
      throw new RangeError(`shards must be >= 1, got ${opts.shards}`);
    this.shards = Array.from({ length: opts.shards }, (_, i) => new Shard(i, opts));
  }

  shardOf(item: T): number {
    return stableHash(this.opts.runKey(item)) % this.shards.length;
  }

  isFull(shard: number): boolean {
    return this.shards[shard]!.depth >= this.opts.capacity;
  }

  room(shard: number): Promise<void> {
    return this.shards[shard]!.room();
  }

  /** Queues the item on its shard; resolves when it has been handled, rejects with the handler's error. */
  submit(item: T): Promise<void> {
    const shard = this.shards[this.shardOf(item)]!;
    return new Promise((resolve, reject) =>
      shard.push({ item, size: this.opts.size(item), resolve, reject }),
    );
  }

  depths(): number[] {
    return this.shards.map((s) => s.depth);
  }
}

/** FNV-1a: stable across processes, so a product always lands on the same shard (the Batcher's hash). */
export const stableHash = fnv1a32;
