import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { OUTCOMES } from '../shared/outcomes.js';

export function createConsumerMetrics(registry: Registry) {
  const metrics = defineMetrics(registry);
  // Labelled series start at 0, so rate() and the alerts work before the first occurrence.
  for (const outcome of OUTCOMES) {
    for (const replay of ['true', 'false']) metrics.claimOutcomes.inc({ outcome, replay }, 0);
  }
  for (const reason of ['undecodable', 'unknown_product']) metrics.deadLetters.inc({ reason }, 0);
  for (const step of ['claim', 'orders', 'results', 'announce']) metrics.retries.inc({ step }, 0);
  return metrics;
}

function defineMetrics(registry: Registry) {
  const registers = [registry];
  return {
    entriesConsumed: new Counter({
      name: 'seckill_consumer_entries_total',
      help: 'Purchase entries consumed from Kafka',
      registers,
    }),
    claimOutcomes: new Counter({
      name: 'seckill_consumer_claims_total',
      help: 'Stock claim outcomes per entry (won, sold_out, limit) and whether it was a replay',
      labelNames: ['outcome', 'replay'] as const,
      registers,
    }),
    entriesPerClaim: new Histogram({
      name: 'seckill_consumer_entries_per_claim',
      help: 'Entries covered by one stock claim call',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers,
    }),
    claimDuration: new Histogram({
      name: 'seckill_consumer_claim_duration_seconds',
      help: 'Duration of one stock claim call',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    claimWaitDuration: new Histogram({
      name: 'seckill_consumer_claim_wait_seconds',
      help: 'Time from a claim until enough Redis replicas confirmed it (WAIT; CLAIM_WAIT_REPLICAS > 0)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
    claimWaitShortfalls: new Counter({
      name: 'seckill_consumer_claim_wait_shortfalls_total',
      help: 'Claims fewer replicas confirmed in time than CLAIM_WAIT_REPLICAS (the claim step was retried)',
      registers,
    }),
    orderInsertDuration: new Histogram({
      name: 'seckill_consumer_order_insert_duration_seconds',
      help: 'Duration of one MySQL order transaction',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
    ordersCreated: new Counter({
      name: 'seckill_consumer_orders_total',
      help: 'Orders created in MySQL',
      registers,
    }),
    retries: new Counter({
      name: 'seckill_consumer_retries_total',
      help: 'Retried steps after a Redis, MySQL or Kafka failure',
      labelNames: ['step'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'seckill_consumer_dead_letters_total',
      help: 'Messages sent to the dead-letter topic',
      labelNames: ['reason'] as const,
      registers,
    }),
    shardDepth: new Gauge({
      name: 'seckill_consumer_shard_queue_depth',
      help: 'Entries queued per shard worker',
      labelNames: ['shard'] as const,
      registers,
    }),
    inflight: new Gauge({
      name: 'seckill_consumer_inflight_entries',
      help: 'Entries consumed but not yet committed',
      registers,
    }),
    partitionPauses: new Counter({
      name: 'seckill_consumer_partition_pauses_total',
      help: 'Times a partition was paused because the shard queue it feeds was full',
      registers,
    }),
    pausedPartitions: new Gauge({
      name: 'seckill_consumer_paused_partitions',
      help: 'Partitions paused because their shard queues are full',
      registers,
    }),
    commitLag: new Histogram({
      name: 'seckill_consumer_commit_lag_seconds',
      help: 'From the front door accepting an entry to its offset being committed',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    soldOut: new Counter({
      name: 'seckill_consumer_sold_out_announcements_total',
      help: 'Sold-out announcements published',
      registers,
    }),
  };
}

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>;
