// From accepted purchases to Kafka. Two sinks with the same contract (submit resolves only once Kafka
// acknowledged the entry's message with acks=all, rejects otherwise):
//   - batched (the default): entries go through the Batcher; one flush = one sendBatch with one message
//     per product, key messageKey(productId), value encodeBatch(...), to the event's topic;
//   - per-request: one send per purchase, the seed's way, kept only as the benchmark's baseline.
import type { Producer, TopicMessages } from 'kafkajs';
import type { BatcherSettings } from '../shared/batcher-settings.js';
import { encodeBatch, messageKey, type PurchaseEntry } from '../shared/kafka/codec.js';
import { runKey } from '../shared/names.js';
import { Batcher, BatcherClosedError, BatcherFullError, type BatcherObserver } from './batcher.js';
import type { ApiMetrics } from './metrics.js';

/** One accepted purchase on its way to Kafka. */
export interface PendingPurchase extends PurchaseEntry {
  event: string;
  /** The event's topic, from the catalog when the request was accepted. */
  topic: string;
  productId: number;
}

export interface PurchaseSink {
  /** Resolves once Kafka acknowledged the purchase; rejects with BatcherFullError, BatcherClosedError or the send's error. */
  submit(purchase: PendingPurchase): Promise<void>;
  /** Stops intake and settles everything submitted (sends what is queued). */
  close(): Promise<void>;
  /** Purchases submitted and not yet settled. */
  depth(): number;
}

export type KafkaSend = (groups: Map<string, PendingPurchase[]>) => Promise<void>;

/** Turns groups of purchases into one sendBatch: a message per group, grouped by topic. */
export function toTopicMessages(groups: Map<string, PendingPurchase[]>): {
  topicMessages: TopicMessages[];
  count: number;
} {
  const byTopic = new Map<string, TopicMessages>();
  let count = 0;
  for (const entries of groups.values()) {
    const first = entries[0];
    if (first === undefined) continue;
    const value = encodeBatch({
      event: first.event,
      productId: first.productId,
      entries: entries.map(({ ticket, userId, acceptedAt }) => ({ ticket, userId, acceptedAt })),
    });
    const message = { key: messageKey(first.productId), value };
    const topic = byTopic.get(first.topic);
    if (topic) topic.messages.push(message);
    else byTopic.set(first.topic, { topic: first.topic, messages: [message] });
    count++;
  }
  return { topicMessages: [...byTopic.values()], count };
}

/** The flush callback: one acks=all sendBatch, timed and counted. */
export function createKafkaSend(producer: Producer, ackTimeoutMs: number, metrics: ApiMetrics): KafkaSend {
  return async (groups) => {
    const { topicMessages, count } = toTopicMessages(groups);
    if (count === 0) return;
    const end = metrics.produceDuration.startTimer();
    try {
      await producer.sendBatch({ topicMessages, acks: -1, timeout: ackTimeoutMs });
      metrics.kafkaMessages.inc(count);
    } catch (err) {
      metrics.produceErrors.inc();
      throw err;
    } finally {
      end();
    }
  };
}

export function createBatchedSink(
  send: KafkaSend,
  batch: BatcherSettings,
  observer?: BatcherObserver,
): PurchaseSink {
  const batcher = new Batcher<PendingPurchase>({ ...batch, flush: send, observer });
  return {
    // One group per (event, product): the run key.
    submit: (p) => batcher.add(runKey(p.event, p.productId), p),
    close: () => batcher.close(),
    depth: () => batcher.depth(),
  };
}

/**
 * One Batcher per event, with the event's own settings (the SeckillEvent's spec.batcher, from the
 * catalog; `defaults` where it has none). When an event's settings change, purchases go to a new Batcher
 * and the old one drains (close): each purchase still gets its answer; only the order between a product's
 * last entries in the old Batcher and its first in the new one is not guaranteed.
 */
export function createPerEventBatchedSink(
  send: KafkaSend,
  defaults: BatcherSettings,
  settingsFor: (event: string) => Partial<BatcherSettings> | undefined,
  observer?: BatcherObserver,
): PurchaseSink {
  // `wanted` is the catalog's settings object: the same reference until a catalog refresh replaces it, so
  // the hot path compares one reference and only a refresh pays for comparing the values.
  const sinks = new Map<
    string,
    { wanted: Partial<BatcherSettings> | undefined; key: string; sink: PurchaseSink }
  >();
  const draining = new Set<Promise<void>>();
  let closed = false;
  const sinkFor = (event: string): PurchaseSink => {
    const wanted = settingsFor(event);
    const current = sinks.get(event);
    if (current && current.wanted === wanted) return current.sink;
    const merged = { ...defaults, ...wanted };
    const settings: BatcherSettings = {
      ...merged,
      maxFlush: Math.max(merged.size, merged.maxFlush ?? merged.size),
    };
    const key = JSON.stringify(settings);
    if (current?.key === key) {
      current.wanted = wanted; // a refresh with the same values: keep the Batcher
      return current.sink;
    }
    if (current) {
      const done = current.sink.close().finally(() => draining.delete(done));
      draining.add(done);
    }
    const sink = createBatchedSink(send, settings, observer);
    sinks.set(event, { wanted, key, sink });
    return sink;
  };
  return {
    submit: (p) => (closed ? Promise.reject(new BatcherClosedError()) : sinkFor(p.event).submit(p)),
    async close() {
      closed = true;
      await Promise.all([...[...sinks.values()].map((s) => s.sink.close()), ...draining]);
    },
    depth: () => [...sinks.values()].reduce((sum, s) => sum + s.sink.depth(), 0),
  };
}

/** One Kafka send per purchase, at most `maxInFlight` at a time (beyond: BatcherFullError, i.e. 429). */
export function createPerRequestSink(send: KafkaSend, maxInFlight: number): PurchaseSink {
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;
  return {
    async submit(p) {
      if (closing) throw new BatcherClosedError();
      if (inFlight >= maxInFlight) throw new BatcherFullError(0, maxInFlight, 10);
      inFlight++;
      try {
        await send(new Map([[runKey(p.event, p.productId), [p]]]));
      } finally {
        inFlight--;
        if (inFlight === 0) drained?.();
      }
    },
    close() {
      closing = true;
      if (inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => (drained = resolve));
    },
    depth: () => inFlight,
  };
}
