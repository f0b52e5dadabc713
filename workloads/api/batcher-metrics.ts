// Prometheus metrics for one Batcher, as a BatcherObserver, so the Batcher itself imports no metrics library.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { BatcherObserver, FlushReason, FlushReport, RejectReason } from './batcher.js';

const FLUSH_REASONS: readonly FlushReason[] = ['size', 'interval', 'close'];
const REJECT_REASONS: readonly RejectReason[] = ['full', 'closed'];

/** Entries per flush run from 1 to `size` (100 by default); the top buckets catch a raised `size`. */
const ENTRY_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/** Flush time is a Kafka round trip with acks=all: milliseconds when healthy, seconds when not. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Registers the Batcher's metrics on `registry` and returns the observer to pass as the Batcher's
 * `observer` option. One observer may serve several Batchers (the front door runs one per event): counters
 * and histograms add up, and a bucket's depth is the sum over the Batchers attached (closed ones detach).
 *
 * - `<prefix>_flushes_total{reason}`: flushes started by size, interval or close (failed ones included);
 * - `<prefix>_flush_failures_total`: flushes whose callback failed (every waiter got the error);
 * - `<prefix>_entries_per_flush`: histogram of batch sizes;
 * - `<prefix>_flush_duration_seconds`: histogram of flush callback time;
 * - `<prefix>_bucket_depth{bucket}`: unsettled entries per bucket, read at scrape time;
 * - `<prefix>_rejections_total{reason}`: adds refused at once, "full" (429) or "closed".
 */
export function createBatcherMetrics(registry: Registry, prefix = 'seckill_batcher'): BatcherObserver {
  const registers = [registry];
  const flushes = new Counter({
    name: `${prefix}_flushes_total`,
    help: 'Batcher flushes, by what triggered them.',
    labelNames: ['reason'] as const,
    registers,
  });
  const failures = new Counter({
    name: `${prefix}_flush_failures_total`,
    help: 'Batcher flushes that failed; every entry of the flush was answered with the error.',
    registers,
  });
  const entries = new Histogram({
    name: `${prefix}_entries_per_flush`,
    help: 'Entries carried by one Batcher flush.',
    buckets: ENTRY_BUCKETS,
    registers,
  });
  const duration = new Histogram({
    name: `${prefix}_flush_duration_seconds`,
    help: 'Time one Batcher flush took, success or failure.',
    buckets: DURATION_BUCKETS,
    registers,
  });
  const rejections = new Counter({
    name: `${prefix}_rejections_total`,
    help: 'Entries the Batcher refused at once: "full" bucket (HTTP 429) or "closed" (shutting down).',
    labelNames: ['reason'] as const,
    registers,
  });

  const readers = new Set<() => readonly number[]>();
  let width = 0; // buckets ever reported: a closed Batcher's buckets read 0, they do not vanish
  new Gauge({
    name: `${prefix}_bucket_depth`,
    help: 'Entries accepted by a Batcher bucket and not yet settled (compare with its buffer option).',
    labelNames: ['bucket'] as const,
    registers,
    // Read at scrape time rather than updated on every add: free on the hot path.
    collect() {
      const sums: number[] = [];
      for (const read of readers)
        read().forEach((depth, bucket) => (sums[bucket] = (sums[bucket] ?? 0) + depth));
      width = Math.max(width, sums.length);
      for (let bucket = 0; bucket < width; bucket++) this.set({ bucket: String(bucket) }, sums[bucket] ?? 0);
    },
  });

  // Start every labelled series at 0, so rate() and alerts work before the first event of each kind.
  FLUSH_REASONS.forEach((reason) => flushes.inc({ reason }, 0));
  REJECT_REASONS.forEach((reason) => rejections.inc({ reason }, 0));

  return {
    attach(depths: () => readonly number[]): void {
      readers.add(depths);
    },
    detach(depths: () => readonly number[]): void {
      readers.delete(depths);
    },
    flushed(report: FlushReport): void {
      flushes.inc({ reason: report.reason });
      if (!report.ok) failures.inc();
      entries.observe(report.entries);
      duration.observe(report.durationMs / 1000);
    },
    rejected(reason: RejectReason): void {
      rejections.inc({ reason });
    },
  };
}
