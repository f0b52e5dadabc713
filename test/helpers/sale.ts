// A throwaway sale on the real stack: an event preloaded in Redis and its Kafka topic, with unique names.
import type { Admin } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { preloadEvent, type EventSpec, type ProductSpec } from '../../workloads/shared/catalog.js';
import { purchaseTopic } from '../../workloads/shared/kafka/topics.js';
import { keys } from '../../workloads/shared/keys.js';
import { withScripts } from '../../workloads/shared/redis/scripts.js';
import { uniqueName } from './stack-env.js';

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

export interface ProductLedger {
  total: number;
  redisSold: number;
  mysqlSold: number;
  orders: number;
  duplicateTickets: number;
  buyersOverLimit: number;
}

/** Everything the invariants of DESIGN.md talk about, read straight from Redis and MySQL. */
export async function readLedger(
  redis: Redis,
  pool: Pool,
  event: string,
  product: ProductSpec,
): Promise<ProductLedger> {
  const [total, sold] = await redis.hmget(keys.stock(event, product.id), 'total', 'seckill');
  const [[row]] = await pool.query<RowDataPacket[]>(
    `SELECT
       (SELECT sold FROM product_stock WHERE event = ? AND product_id = ?) AS mysqlSold,
       (SELECT COUNT(*) FROM orders WHERE event = ? AND product_id = ?) AS orders,
       (SELECT COUNT(*) FROM (SELECT ticket FROM orders WHERE event = ? GROUP BY ticket HAVING COUNT(*) > 1) d) AS dups,
       (SELECT COUNT(*) FROM (SELECT user_id FROM orders WHERE event = ? AND product_id = ?
          GROUP BY user_id HAVING COUNT(*) > ?) o) AS overLimit`,
    [event, product.id, event, product.id, event, event, product.id, product.perUserLimit],
  );
  return {
    total: Number(total),
    redisSold: Number(sold),
    mysqlSold: Number(row?.mysqlSold ?? 0),
    orders: Number(row?.orders ?? 0),
    duplicateTickets: Number(row?.dups ?? 0),
    buyersOverLimit: Number(row?.overLimit ?? 0),
  };
}

export { waitFor } from './wait.js';
