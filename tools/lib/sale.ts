// A throwaway sale on the real stack, for tests and benchmarks: an event preloaded in Redis and its Kafka
// topic, with unique names.
import type { Admin } from 'kafkajs';
import type { RedisClient } from '../../workloads/shared/redis/client.js';
import { preloadEvent, type EventSpec, type ProductSpec } from '../../workloads/shared/catalog.js';
import { purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { withScripts } from '../../workloads/shared/redis/scripts.js';
import { uniqueName } from './stack-env.js';

/**
 * A fresh event (window open from a second ago for an hour unless given), its topic first when `admin` is
 * given, so no reader of the catalog sees the event before its topic exists.
 */
export async function createSale(
  redis: RedisClient,
  admin: Admin | undefined,
  products: ProductSpec[],
  opts: { partitions?: number; startMs?: number; endMs?: number; prefix?: string } = {},
): Promise<EventSpec> {
  const name = uniqueName(opts.prefix ?? 'sale');
  const spec: EventSpec = {
    name,
    topic: purchaseTopic(name),
    startMs: opts.startMs ?? Date.now() - 1000,
    endMs: opts.endMs ?? Date.now() + 3600_000,
    products,
  };
  if (admin) {
    await admin.createTopics({
      topics: [{ topic: spec.topic, numPartitions: opts.partitions ?? 1 }],
      waitForLeaders: true,
    });
  }
  await preloadEvent(withScripts(redis), spec);
  return spec;
}
