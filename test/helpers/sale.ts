// A throwaway sale on the real stack: an event preloaded in Redis and its Kafka topic, with unique names.
import type { Admin } from 'kafkajs';
import type { Redis } from 'ioredis';
import { preloadEvent, type EventSpec, type ProductSpec } from '../../workloads/shared/catalog.js';
import { purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { withScripts } from '../../workloads/shared/redis/scripts.js';
import { uniqueName } from '../../tools/lib/stack-env.js';

export async function createSale(
  redis: Redis,
  admin: Admin | undefined,
  products: ProductSpec[],
  opts: { partitions?: number; startMs?: number; endMs?: number } = {},
): Promise<EventSpec> {
  const name = uniqueName('sale');
  const spec: EventSpec = {
    name,
    topic: purchaseTopic(name),
    startMs: opts.startMs ?? Date.now() - 1000,
    endMs: opts.endMs ?? Date.now() + 3600_000,
    products,
  };
  await preloadEvent(withScripts(redis), spec);
  if (admin) {
    await admin.createTopics({
      topics: [{ topic: spec.topic, numPartitions: opts.partitions ?? 1 }],
      waitForLeaders: true,
    });
  }
  return spec;
}
