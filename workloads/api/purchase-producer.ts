// From accepted purchases to Kafka. Two sinks with the same contract (submit resolves only once Kafka
// acknowledged the entry's message with acks=all, rejects otherwise):
//   - batched (the default): entries go through the Batcher; one flush = one message per product, key
//     messageKey(productId), value encodeBatch(...), to the event's topic, each sent on its own (createKafkaSend);
//   - per-request: one send per purchase, the seed's way, kept only as the benchmark's baseline.
import type { Message, Producer } from 'kafkajs';
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

/** One Kafka message: a product's purchases of one flush, for the event's topic. */
export interface ProductMessage {
  topic: string;
  message: Message;
}

/** Turns groups of purchases into Kafka messages: one per group (one product, so one partition). */
export function toProductMessages(groups: Map<string, PendingPurchase[]>): ProductMessage[] {
  const out: ProductMessage[] = [];
  for (const entries of groups.values()) {
    const first = entries[0];
    if (first === undefined) continue;
    const value = encodeBatch({
      event: first.event,
      productId: first.productId,
      entries: entries.map(({ ticket, userId, acceptedAt }) => ({ ticket, userId, acceptedAt })),
    });
    out.push({ topic: first.topic, message: { key: messageKey(first.productId), value } });
  }
  return out;
}

/**
 * The flush callback: each message its own acks=all send (one partition each), side by side, timed and
 * counted; not one sendBatch for them all. kafkajs 2.2.4 (src/producer/sendMessages.js) keeps a
 * multi-partition call's answers per broker; when one partition's leader dies and the retry finds its
 * new leader is a broker that already answered for another partition of the call, it never sends that
 * partition again and resolves as if it had: 202s for purchases Kafka never got. Seen in the HA chaos run
 * (127 of them) and pinned by test/ha/ha-kafka-failover.test.ts. A call with one partition has one broker
 * to answer it.
 */
export function createKafkaSend(producer: Producer, ackTimeoutMs: number, metrics: ApiMetrics): KafkaSend {
  return async (groups) => {
    const messages = toProductMessages(groups);
    if (messages.length === 0) return;
    const end = metrics.produceDuration.startTimer();
    try {
      const sends = messages.map(({ topic, message }) =>
        producer.send({ topic, messages: [message], acks: -1, timeout: ackTimeoutMs }),
      );
      // Every send settles before the flush does: its entries are answered once, after all of them.
      const failed = (await Promise.allSettled(sends)).find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      metrics.kafkaMessages.inc(messages.length);
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
