// The front door's Batcher settings: one shape wherever they travel (the SeckillEvent's spec.batcher, the
// operator's parsed event, the catalog's `batcher` field, the front door's BATCH_* variables, the Batcher's
// options) and one set of defaults.
//
// The CRD (crds/seckillevent.yaml, spec.batcher) declares the same defaults, as `default:` on each field
// and as the fallbacks of its buffer >= size rule: BATCHER_DEFAULTS must match them, and
// test/unit/batcher-settings.test.ts reads the CRD to check that it does.

export interface BatcherSettings {
  /** A bucket holding this many entries flushes at once. */
  size: number;
  /** Longest time a partial bucket waits for its next tick, in whole milliseconds. */
  intervalMs: number;
  /** Number of buckets, i.e. of flushes that may run in parallel. */
  workers: number;
  /** Per-bucket capacity: entries accepted and not yet settled (queued or in the running flush). */
  buffer: number;
  /**
   * Entries one flush may take (default: `size`). Larger lets a backlog that built up during a slow flush
   * leave in one message: per-product throughput then follows the Kafka round trip instead of being
   * capped at `size` per round trip (one flush per bucket at a time keeps per-key order). Set by the front
   * door (BATCH_MAX_FLUSH) only: spec.batcher has no such field.
   */
  maxFlush?: number;
}

/**
 * The defaults, and why. The front door answers a buyer only after Kafka acknowledged the batch, so unlike
 * the seed (size 100, buffer 100, interval 1 s, buyers answered before Kafka) every millisecond of batching
 * is a millisecond of response time, and a full bucket is a 429, not a silent drop.
 */
export const BATCHER_DEFAULTS = {
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
} as const satisfies Required<Omit<BatcherSettings, 'maxFlush'>>;
