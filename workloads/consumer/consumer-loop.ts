// The Kafka side of the consumer: fetch batches, decode, hand product batches to the shard workers,
// and commit a partition's offsets only after every message up to them is durable.
import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import { decodeBatch, DecodeError, type PurchaseBatch } from '../shared/kafka/codec.js';
import type { Logger } from '../shared/log.js';
import { sendToDeadLetters } from './dead-letters.js';
import type { ConsumerMetrics } from './metrics.js';
import type { ShardPool } from './shard-pool.js';

export interface ConsumerLoopDeps {
  consumer: Consumer;
  dlqProducer: Producer;
  topic: string;
  dlqTopic: string;
  shards: ShardPool<PurchaseBatch>;
  /** Why a decoded batch cannot be processed (unknown event or product), or undefined when it can. */
  reject: (batch: PurchaseBatch) => Promise<string | undefined>;
  partitionsConsumedConcurrently: number;
  metrics: ConsumerMetrics;
  log: Logger;
}

const HEARTBEAT_MS = 3000;

export async function runConsumerLoop(deps: ConsumerLoopDeps): Promise<void> {
  await deps.consumer.subscribe({ topic: deps.topic, fromBeginning: true });
  await deps.consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: deps.partitionsConsumedConcurrently,
    eachBatch: (payload) => handleBatch(deps, payload),
  });
}

async function handleBatch(deps: ConsumerLoopDeps, payload: EachBatchPayload): Promise<void> {
  const { batch } = payload;
  const { shards, metrics } = deps;
  const pending: Promise<void>[] = [];
  let lastOffset: string | undefined;
  let resume: (() => void) | undefined;
  let inflight = 0;
  const beat = setInterval(() => void payload.heartbeat().catch(() => undefined), HEARTBEAT_MS);
  try {
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      const decoded = await decodeOrDeadLetter(deps, batch.partition, message);
      if (decoded) {
        const shard = shards.shardOf(decoded);
        if (shards.isFull(shard)) {
          // Stop fetching this partition until the shard drains; the batch in hand still completes.
          if (!resume) {
            resume = payload.pause();
            metrics.pausedPartitions.inc();
            metrics.partitionPauses.inc();
          }
          await shards.room(shard);
        }
        pending.push(shards.submit(decoded));
        inflight += decoded.entries.length;
        metrics.inflight.inc(decoded.entries.length);
        metrics.entriesConsumed.inc(decoded.entries.length);
      }
      lastOffset = message.offset;
    }
    await Promise.all(pending);
    if (lastOffset !== undefined) await commit(payload, deps.topic, lastOffset);
    observeCommitLag(deps, batch.messages);
  } finally {
    clearInterval(beat);
    metrics.inflight.dec(inflight);
    if (resume) {
      resume();
      metrics.pausedPartitions.dec();
    }
    shards.depths().forEach((d, i) => metrics.shardDepth.set({ shard: String(i) }, d));
  }
}

/** Decodes a message; a poison one goes to the dead-letter topic and yields undefined. */
async function decodeOrDeadLetter(
  deps: ConsumerLoopDeps,
  partition: number,
  message: KafkaMessage,
): Promise<PurchaseBatch | undefined> {
  let reason: string | undefined;
  let kind = 'undecodable';
  let decoded: PurchaseBatch | undefined;
  try {
    decoded = decodeBatch(message.key, message.value);
    kind = 'unknown_product';
    reason = await deps.reject(decoded);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    reason = err.message;
  }
  if (reason === undefined) return decoded;
  await sendToDeadLetters(deps.dlqProducer, deps.dlqTopic, { topic: deps.topic, partition, message }, reason);
  deps.metrics.deadLetters.inc({ reason: kind });
  deps.log.warn('message dead-lettered', { partition, offset: message.offset, reason });
  return undefined;
}

async function commit(payload: EachBatchPayload, topic: string, lastOffset: string): Promise<void> {
  payload.resolveOffset(lastOffset);
  const next = (BigInt(lastOffset) + 1n).toString();
  await payload.commitOffsetsIfNecessary({
    topics: [{ topic, partitions: [{ partition: payload.batch.partition, offset: next }] }],
  });
}

function observeCommitLag(deps: ConsumerLoopDeps, messages: KafkaMessage[]): void {
  const now = Date.now();
  for (const m of messages) deps.metrics.commitLag.observe((now - Number(m.timestamp)) / 1000);
}
