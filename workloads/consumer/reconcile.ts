// Reconciliation: per product, compare Redis `seckill`, MySQL product_stock.sold and count(orders).
// Orders are the truth (each has a unique ticket). Repair moves the counters to the order count:
//   - MySQL sold := count(orders), always safe (same table, one transaction);
//   - Redis seckill raised to count(orders), always safe (it can only stop a sale early, never oversell);
//   - Redis seckill lowered to count(orders) only with `force`: a claim whose order is still in Kafka
//     (consumer lag) would otherwise be sold twice. Use it when the lag is zero.
import type { RedisClient } from '../shared/redis/client.js';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { readEvent, readStock } from '../shared/catalog.js';
import { keys } from '../shared/keys.js';

export interface ProductDrift {
  productId: number;
  total: number;
  redisSold: number;
  mysqlSold: number;
  orders: number;
  /** True when the three agree and none passes the total. */
  consistent: boolean;
  repaired: string[];
}

export interface ReconcileReport {
  event: string;
  products: ProductDrift[];
  consistent: boolean;
}

export async function reconcile(
  redis: RedisClient,
  pool: Pool,
  event: string,
  opts: { repair?: boolean; force?: boolean } = {},
): Promise<ReconcileReport> {
  const spec = await readEvent(redis, event);
  if (!spec) throw new Error(`event ${event} is not in the catalog`);
  const products: ProductDrift[] = [];
  for (const { id } of spec.products) {
    const drift = await measure(redis, pool, event, id);
    if (opts.repair && !drift.consistent) await repair(redis, pool, event, drift, opts.force ?? false);
    products.push(drift);
  }
  return { event, products, consistent: products.every((p) => p.consistent) };
}

async function measure(
  redis: RedisClient,
  pool: Pool,
  event: string,
  productId: number,
): Promise<ProductDrift> {
  const stock = await readStock(redis, event, productId);
  const [[row]] = await pool.query<RowDataPacket[]>(
    'SELECT (SELECT sold FROM product_stock WHERE event = ? AND product_id = ?) AS sold, ' +
      '(SELECT COUNT(*) FROM orders WHERE event = ? AND product_id = ?) AS orders',
    [event, productId, event, productId],
  );
  const mysqlSold = Number(row?.sold ?? 0);
  const orders = Number(row?.orders ?? 0);
  const consistent = stock.sold === mysqlSold && mysqlSold === orders && orders <= stock.total;
  return {
    productId,
    total: stock.total,
    redisSold: stock.sold,
    mysqlSold,
    orders,
    consistent,
    repaired: [],
  };
}

async function repair(
  redis: RedisClient,
  pool: Pool,
  event: string,
  d: ProductDrift,
  force: boolean,
): Promise<void> {
  if (d.mysqlSold !== d.orders) {
    await pool.query(
      'UPDATE product_stock SET sold = (SELECT COUNT(*) FROM orders WHERE event = ? AND product_id = ?) ' +
        'WHERE event = ? AND product_id = ?',
      [event, d.productId, event, d.productId],
    );
    d.repaired.push(`mysql sold ${d.mysqlSold} -> ${d.orders}`);
  }
  if (d.redisSold < d.orders || (force && d.redisSold > d.orders)) {
    await redis.hset(keys.stock(event, d.productId), 'seckill', d.orders);
    d.repaired.push(`redis seckill ${d.redisSold} -> ${d.orders}`);
  } else if (d.redisSold > d.orders) {
    d.repaired.push(
      `redis seckill ${d.redisSold} > orders ${d.orders}: left alone (use --force once lag is 0)`,
    );
  }
}
